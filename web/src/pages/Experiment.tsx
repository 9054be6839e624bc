import { useState } from 'react';
import { ErrorBox, KeyValues, KindBadge, Loading, NodeLink, Props, Recorded } from '../components';
import { formatNumber, formatTime } from '../format';
import { useQuery } from '../hooks';
import { compareHref } from '../router';

const EXPERIMENT = `query ExperimentPage($id: ID!) {
  node(id: $id) {
    id kind name recordedAt recordedBy
    ... on Experiment {
      experimentId description artifactLocation lifecycle tags { key value }
      runs(first: 100) { edges { node { id name runId status startTime metrics { key last } } } pageInfo { hasNextPage } }
    }
  }
}`;

interface Experiment {
  id: string;
  kind: string;
  name: string;
  recordedAt: string;
  recordedBy: string;
  experimentId: string;
  description?: string | null;
  artifactLocation?: string | null;
  lifecycle: string;
  tags: { key: string; value: string }[];
  runs: {
    edges: { node: { id: string; name: string; runId: string; status: string; startTime: string; metrics: { key: string; last: number | string }[] } }[];
    pageInfo: { hasNextPage: boolean };
  };
}

/** An experiment and its newest runs; pick runs to compare. The MLflow client's experiment links open here. */
export function ExperimentPage({ id }: { id: string }) {
  const r = useQuery<{ node: Experiment | null }>(EXPERIMENT, { id });
  const [picked, setPicked] = useState<string[]>([]);
  if (r.state === 'loading') return <main className="page"><Loading /></main>;
  if (r.state === 'error') return <main className="page"><ErrorBox error={r.error} /></main>;
  const e = r.data.node;
  if (!e || e.kind !== 'EXPERIMENT') {
    return (
      <main className="page">
        <h1>Not found</h1>
        <p>
          No experiment has the ID <code>{id}</code>.
        </p>
      </main>
    );
  }
  const runs = e.runs.edges.map((x) => x.node);
  const keys = [...new Set(runs.flatMap((x) => x.metrics.map((m) => m.key)))].slice(0, 6);
  return (
    <main className="page experiment">
      <header className="pagehead">
        <KindBadge kind="EXPERIMENT" />
        <h1>{e.name}</h1>
        <Recorded at={e.recordedAt} by={e.recordedBy} />
      </header>
      <Props
        rows={[
          ['ID', <code>{e.id}</code>],
          ['Description', e.description],
          ['Artifact location', e.artifactLocation],
          ['Lifecycle', e.lifecycle],
        ]}
      />
      <h2>Tags</h2>
      <KeyValues items={e.tags} />
      <h2>
        Runs {e.runs.pageInfo.hasNextPage && <span className="muted small">(the newest 100)</span>}
      </h2>
      <p>
        <a className={picked.length < 2 ? 'button disabled' : 'button'} href={picked.length < 2 ? undefined : compareHref(picked)}>
          Compare selected ({picked.length})
        </a>
      </p>
      <table className="data">
        <thead>
          <tr>
            <th>Pick</th>
            <th>Run</th>
            <th>Status</th>
            <th>Started</th>
            {keys.map((k) => (
              <th key={k}>{k}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {runs.map((run) => (
            <tr key={run.id}>
              <td>
                <input
                  type="checkbox"
                  aria-label={`Pick ${run.name || run.runId}`}
                  checked={picked.includes(run.id)}
                  onChange={(ev) => setPicked((p) => (ev.target.checked ? [...p, run.id] : p.filter((x) => x !== run.id)))}
                />
              </td>
              <td>
                <NodeLink node={{ id: run.id, name: run.name || run.runId }} />
              </td>
              <td>{run.status}</td>
              <td>{formatTime(run.startTime)}</td>
              {keys.map((k) => (
                <td key={k}>{formatNumber(run.metrics.find((m) => m.key === k)?.last)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </main>
  );
}
