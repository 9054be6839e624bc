import { useMemo, useState } from 'react';
import { MetricChart } from '../Chart';
import { ErrorBox, KeyValues, KindBadge, Loading, NodeLink, Props, Recorded } from '../components';
import { formatNumber, formatTime } from '../format';
import { useQuery } from '../hooks';
import { LineageExplorer } from '../lineage/Explorer';
import { compareHref } from '../router';

const RUN = `query RunPage($id: ID!) {
  node(id: $id) {
    id kind
    ... on Run {
      name runId recordedAt recordedBy status startTime endTime lifecycle user codeVersion entryPoint artifactUri
      experiment { id name experimentId } group { id name } parent { id name }
      tags { key value } params { key value }
      metrics { key last lastStep min max avg stddev count }
      inputs { id kind name } outputs { id kind name }
    }
  }
}`;

/** At most this many metric charts on a run page. */
const MAX_CHARTS = 12;

export interface Summary {
  key: string;
  last: number | string;
  lastStep?: number;
  min?: number | null;
  max?: number | null;
  avg?: number | null;
  stddev?: number | null;
  count: number;
}

interface Run {
  id: string;
  kind: string;
  name: string;
  runId: string;
  recordedAt: string;
  recordedBy: string;
  status: string;
  startTime: string;
  endTime?: string | null;
  lifecycle: string;
  user?: string | null;
  codeVersion?: string | null;
  entryPoint?: string | null;
  artifactUri?: string | null;
  experiment: { id: string; name: string; experimentId: string };
  group?: { id: string; name: string } | null;
  parent?: { id: string; name: string } | null;
  tags: { key: string; value: string }[];
  params: { key: string; value: string }[];
  metrics: Summary[];
  inputs: { id: string; kind: string; name: string }[];
  outputs: { id: string; kind: string; name: string }[];
}

/** One query for the down-sampled curves of some runs' metrics (metricChart). */
export function chartsQuery(runs: number, keys: number): string {
  const vars = [...Array(runs).keys()].map((r) => `$r${r}: ID!`).concat([...Array(keys).keys()].map((k) => `$k${k}: String!`));
  const fields = [...Array(runs).keys()].map(
    (r) =>
      `r${r}: node(id: $r${r}) { ... on Run { ${[...Array(keys).keys()]
        .map((k) => `k${k}: metricChart(key: $k${k}, maxPoints: 500) { step value }`)
        .join(' ')} } }`,
  );
  return `query Charts(${vars.join(', ')}) { ${fields.join(' ')} }`;
}

export type ChartsAnswer = Record<string, Record<string, { step: number; value: number | string }[]> | null>;

export function chartsVariables(runs: string[], keys: string[]): Record<string, string> {
  const v: Record<string, string> = {};
  runs.forEach((r, i) => (v[`r${i}`] = r));
  keys.forEach((k, i) => (v[`k${i}`] = k));
  return v;
}

export function MetricSummaries({ metrics }: { metrics: Summary[] }) {
  if (metrics.length === 0) return <p className="muted">No metrics logged.</p>;
  return (
    <table className="data">
      <thead>
        <tr>
          <th>Metric</th>
          <th>Last</th>
          <th>Step</th>
          <th>Min</th>
          <th>Max</th>
          <th>Mean</th>
          <th>Std dev</th>
          <th>Points</th>
        </tr>
      </thead>
      <tbody>
        {metrics.map((m) => (
          <tr key={m.key}>
            <th scope="row">{m.key}</th>
            <td>{formatNumber(m.last)}</td>
            <td>{m.lastStep}</td>
            <td>{formatNumber(m.min)}</td>
            <td>{formatNumber(m.max)}</td>
            <td>{formatNumber(m.avg)}</td>
            <td>{formatNumber(m.stddev)}</td>
            <td>{m.count}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Keeps the runs picked for comparison, for the tab. */
export function comparison(): string[] {
  return JSON.parse(sessionStorage.getItem('provgraph.compare') ?? '[]') as string[];
}

function setComparison(ids: string[]) {
  sessionStorage.setItem('provgraph.compare', JSON.stringify(ids));
}

/** A run's page: the one an ML engineer opens instead of MLflow's. */
export function RunPage({ id }: { id: string }) {
  const r = useQuery<{ node: Run | null }>(RUN, { id });
  const [picked, setPicked] = useState(comparison);
  if (r.state === 'loading') return <main className="page"><Loading /></main>;
  if (r.state === 'error') return <main className="page"><ErrorBox error={r.error} /></main>;
  const run = r.data.node;
  if (!run || run.kind !== 'RUN') {
    return (
      <main className="page">
        <h1>Not found</h1>
        <p>
          No run has the ID <code>{id}</code>.
        </p>
      </main>
    );
  }
  const inComparison = picked.includes(run.id);
  const toggle = () => {
    const next = inComparison ? picked.filter((x) => x !== run.id) : [...picked, run.id];
    setComparison(next);
    setPicked(next);
  };
  return (
    <main className="page run">
      <header className="pagehead">
        <KindBadge kind="RUN" />
        <h1>{run.name || run.runId}</h1>
        <Recorded at={run.recordedAt} by={run.recordedBy} />
        <p className="actions">
          <button type="button" onClick={toggle}>
            {inComparison ? 'Remove from comparison' : 'Add to comparison'}
          </button>
          {picked.length > 0 && <a href={compareHref(picked)}>Compare {picked.length} run{picked.length === 1 ? '' : 's'}</a>}
        </p>
      </header>
      <div className="columns">
        <section>
          <h2>Run</h2>
          <Props
            rows={[
              ['ID', <code>{run.id}</code>],
              ['Experiment', <NodeLink node={run.experiment} />],
              ['Run group', run.group && <NodeLink node={run.group} />],
              ['Parent run', run.parent && <NodeLink node={run.parent} />],
              ['Status', run.status],
              ['Lifecycle', run.lifecycle],
              ['Started', formatTime(run.startTime)],
              ['Ended', run.endTime && formatTime(run.endTime)],
              ['User', run.user],
              ['Code version', run.codeVersion && <code>{run.codeVersion}</code>],
              ['Entry point', run.entryPoint],
              ['Artifact URI', run.artifactUri && <code>{run.artifactUri}</code>],
            ]}
          />
          <h2>Parameters</h2>
          <KeyValues items={run.params} />
          <h2>Tags</h2>
          <KeyValues items={run.tags} />
        </section>
        <section>
          <h2>Metrics</h2>
          <MetricSummaries metrics={run.metrics} />
          <Charts runs={[run]} keys={run.metrics.slice(0, MAX_CHARTS).map((m) => m.key)} />
        </section>
      </div>
      <h2>Lineage</h2>
      <LineageExplorer start={run.id} auditable={false} />
    </main>
  );
}

/** Down-sampled curves of some metrics, the runs overlaid on one chart per metric. */
export function Charts({ runs, keys }: { runs: { id: string; name: string; runId?: string }[]; keys: string[] }) {
  const r = useQuery<ChartsAnswer>(chartsQuery(runs.length, keys.length), chartsVariables(runs.map((x) => x.id), keys), keys.length === 0);
  // One series list per chart, made once per answer, so a chart is drawn again only
  // when its data changes.
  const labels = runs.map((run) => run.name || run.runId || run.id).join('\u0000');
  const series = useMemo(
    () =>
      r.state !== 'done'
        ? []
        : keys.map((_, j) => labels.split('\u0000').map((label, i) => ({ label, points: r.data[`r${i}`]?.[`k${j}`] ?? [] }))),
    // keys and runs are new arrays on each render of the page; the answer and the labels say all.
    [r, labels],
  );
  if (keys.length === 0) return null;
  if (r.state === 'loading') return <Loading what="Loading charts" />;
  if (r.state === 'error') return <ErrorBox error={r.error} />;
  return (
    <div className="charts">
      {keys.map((k, j) => (
        <MetricChart key={k} title={k} series={series[j] ?? []} />
      ))}
    </div>
  );
}
