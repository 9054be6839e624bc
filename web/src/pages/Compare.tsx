import { ErrorBox, Loading, NodeLink } from '../components';
import { formatNumber } from '../format';
import { useQuery } from '../hooks';
import { Charts } from './Run';

const COMPARE = `query Compare($ids: [ID!]!) {
  compareRuns(ids: $ids) {
    runs { id name runId }
    params { key values differs }
    metrics { key goal goalGuessed bestRun { id } summaries { last min max } }
  }
}`;

interface Comparison {
  compareRuns: {
    runs: { id: string; name: string; runId: string }[];
    params: { key: string; values: (string | null)[]; differs: boolean }[];
    metrics: {
      key: string;
      goal: string | null;
      goalGuessed: boolean;
      bestRun: { id: string } | null;
      summaries: ({ last: number | string; min?: number | null; max?: number | null } | null)[];
    }[];
  };
}

/** Runs side by side: the parameter diff, metric summaries with the best run, curves overlaid. */
export function ComparePage({ ids }: { ids: string[] }) {
  const r = useQuery<Comparison>(COMPARE, { ids }, ids.length === 0);
  if (ids.length === 0) {
    return (
      <main className="page">
        <h1>Compare runs</h1>
        <p className="muted">Pick runs with "Add to comparison" on their pages, or on an experiment's page.</p>
      </main>
    );
  }
  if (r.state === 'loading') return <main className="page"><Loading /></main>;
  if (r.state === 'error') return <main className="page"><ErrorBox error={r.error} /></main>;
  const c = r.data.compareRuns;
  const differing = c.params.filter((p) => p.differs);
  return (
    <main className="page compare">
      <h1>Compare {c.runs.length} runs</h1>
      <h2>
        Parameters <span className="muted small">({differing.length} differ, highlighted)</span>
      </h2>
      <table className="data">
        <thead>
          <tr>
            <th>Parameter</th>
            {c.runs.map((run) => (
              <th key={run.id}>
                <NodeLink node={run} />
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {c.params.map((p) => (
            <tr key={p.key} className={p.differs ? 'differs' : undefined}>
              <th scope="row">{p.key}</th>
              {p.values.map((v, i) => (
                <td key={c.runs[i].id}>{v ?? <span className="muted">—</span>}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Metrics</h2>
      <table className="data">
        <thead>
          <tr>
            <th>Metric (last value)</th>
            {c.runs.map((run) => (
              <th key={run.id}>{run.name || run.runId}</th>
            ))}
            <th>Best</th>
          </tr>
        </thead>
        <tbody>
          {c.metrics.map((m) => (
            <tr key={m.key}>
              <th scope="row">
                {m.key}{' '}
                <span className="muted small">
                  {m.goal ? `(${m.goal.toLowerCase()}${m.goalGuessed ? ', guessed' : ''})` : ''}
                </span>
              </th>
              {m.summaries.map((s, i) => (
                <td key={c.runs[i].id} className={m.bestRun?.id === c.runs[i].id ? 'best' : undefined}>
                  {s ? formatNumber(s.last) : '—'}
                </td>
              ))}
              <td>{m.bestRun ? c.runs.find((x) => x.id === m.bestRun!.id)?.name : '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <Charts runs={c.runs} keys={c.metrics.slice(0, 8).map((m) => m.key)} />
    </main>
  );
}
