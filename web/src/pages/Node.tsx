import type { ReactNode } from 'react';
import { ErrorBox, KeyValues, KindBadge, Loading, NodeLink, Props, Recorded } from '../components';
import { formatNumber, formatShare, formatTime } from '../format';
import { useQuery } from '../hooks';
import { LineageExplorer, type TimeMark } from '../lineage/Explorer';
import { auditHref, type LineageView } from '../router';

const NODE = `query NodePage($id: ID!) {
  node(id: $id) {
    __typename id kind name recordedAt recordedBy
    ... on Dataset { namespace uri }
    ... on DatasetVersion { namespace uri version digest versionId description dataset { id name } }
    ... on TrainingJob { namespace status startedAt endedAt instanceType codeVersion
      hyperParameters { key value } inputs { id kind name } outputs { id kind name } }
    ... on ProcessingJob { namespace status startedAt endedAt instanceType codeVersion
      parameters { key value } inputs { id kind name } outputs { id kind name } }
    ... on Artifact { uri digest mediaType }
    ... on RegisteredModel { latestVersion description tags { key value } aliases { alias modelVersion { id name } } }
    ... on ModelVersion { versionNumber: version source description framework tags { key value } metrics { key value }
      producedBy { id kind name } approvalStatus approvals { status comment at actor } versionAliases: aliases model { id name } }
    ... on Endpoint {
      activeDeployments { id variant trafficShare from modelVersion { id name } }
      deploymentHistory(first: 100) { totalCount edges { node { id variant trafficShare from to recordedBy modelVersion { id name } } } }
    }
    ... on Experiment { experimentId description artifactLocation lifecycle tags { key value } }
    ... on RunGroup { description experiment { id name } }
  }
}`;

interface Ref {
  id: string;
  kind?: string;
  name: string;
}

interface Deployment {
  id: string;
  variant: string;
  trafficShare: number;
  from: string;
  to?: string | null;
  recordedBy?: string;
  modelVersion: Ref;
}

// The node as the page reads it: the fields of every kind, present on those that have them.
interface AnyNode {
  __typename: string;
  id: string;
  kind: string;
  name: string;
  recordedAt: string;
  recordedBy: string;
  namespace?: string;
  uri?: string;
  version?: string;
  versionNumber?: number;
  versionAliases?: string[];
  digest?: string | null;
  versionId?: string | null;
  description?: string | null;
  dataset?: Ref;
  status?: string;
  startedAt?: string | null;
  endedAt?: string | null;
  instanceType?: string | null;
  codeVersion?: string | null;
  hyperParameters?: { key: string; value: string }[];
  parameters?: { key: string; value: string }[];
  inputs?: Ref[];
  outputs?: Ref[];
  mediaType?: string | null;
  latestVersion?: number;
  tags?: { key: string; value: string }[];
  aliases?: { alias: string; modelVersion: Ref }[];
  source?: string;
  framework?: string | null;
  metrics?: { key: string; value: number }[];
  producedBy?: Ref | null;
  approvalStatus?: string;
  approvals?: { status: string; comment?: string | null; at: string; actor: string }[];
  model?: Ref;
  activeDeployments?: Deployment[];
  deploymentHistory?: { totalCount: number; edges: { node: Deployment }[] };
  experimentId?: string;
  artifactLocation?: string | null;
  lifecycle?: string;
  experiment?: Ref;
}

function Refs({ list }: { list?: Ref[] }) {
  if (!list || list.length === 0) return <span className="muted">none</span>;
  return (
    <ul className="refs">
      {list.map((r) => (
        <li key={r.id}>
          {r.kind && <KindBadge kind={r.kind} />} <NodeLink node={r} />
        </li>
      ))}
    </ul>
  );
}

function properties(n: AnyNode): [string, ReactNode][] {
  return [
    ['ID', <code>{n.id}</code>],
    ['Namespace', n.namespace],
    ['URI', n.uri && <code>{n.uri}</code>],
    ['Dataset', n.dataset && <NodeLink node={n.dataset} />],
    ['Registered model', n.model && <NodeLink node={n.model} />],
    ['Version', n.version ?? (n.versionNumber !== undefined ? String(n.versionNumber) : null)],
    ['Aliases', n.versionAliases?.join(', ') || n.aliases?.map((a) => `${a.alias} → ${a.modelVersion.name}`).join(', ')],
    ['Digest', n.digest && <code>{n.digest}</code>],
    ['Version id', n.versionId],
    ['Latest version', n.latestVersion !== undefined ? String(n.latestVersion) : null],
    ['Experiment', n.experiment && <NodeLink node={n.experiment} />],
    ['Experiment id', n.experimentId],
    ['Description', n.description],
    ['Status', n.status],
    ['Started', n.startedAt && formatTime(n.startedAt)],
    ['Ended', n.endedAt && formatTime(n.endedAt)],
    ['Instance type', n.instanceType],
    ['Code version', n.codeVersion && <code>{n.codeVersion}</code>],
    ['Source', n.source && <code>{n.source}</code>],
    ['Framework', n.framework],
    ['Media type', n.mediaType],
    ['Artifact location', n.artifactLocation],
    ['Lifecycle', n.lifecycle],
    ['Approval status', n.approvalStatus],
    ['Produced by', n.producedBy && <NodeLink node={n.producedBy} />],
    ['Recorded', formatTime(n.recordedAt)],
    ['Recorded by', <span className="actor">{n.recordedBy}</span>],
  ];
}

/** Deployment changes of an endpoint, as marks on the time slider. */
function deploymentMarks(n: AnyNode): TimeMark[] {
  const marks: TimeMark[] = [];
  for (const { node: d } of n.deploymentHistory?.edges ?? []) {
    marks.push({ at: d.from, label: `${formatTime(d.from).slice(0, 16)} ${d.modelVersion.name} deployed` });
  }
  return marks.sort((a, b) => a.at.localeCompare(b.at));
}

/** A node's page: its properties, who recorded it and when, and its lineage picture. */
export function NodePage({ id, view }: { id: string; view: LineageView }) {
  const r = useQuery<{ node: AnyNode | null }>(NODE, { id });
  if (r.state === 'loading') return <main className="page"><Loading /></main>;
  if (r.state === 'error') return <main className="page"><ErrorBox error={r.error} /></main>;
  const n = r.data.node;
  if (!n) {
    return (
      <main className="page">
        <h1>Not found</h1>
        <p>
          No node has the ID <code>{id}</code>. <a href="#/">Search</a> for it.
        </p>
      </main>
    );
  }
  const auditable = n.kind === 'ENDPOINT' || n.kind === 'MODEL_VERSION';
  const params = n.hyperParameters ?? n.parameters;
  return (
    <main className="page node">
      <header className="pagehead">
        <KindBadge kind={n.kind} />
        <h1>{n.name || n.id}</h1>
        <Recorded at={n.recordedAt} by={n.recordedBy} />
        {auditable && (
          <p>
            <a className="button" href={auditHref(n.id)}>
              Audit view
            </a>
          </p>
        )}
      </header>
      <div className="columns">
        <section>
          <h2>Properties</h2>
          <Props rows={properties(n)} />
        </section>
        <section>
          {params && (
            <>
              <h2>{n.hyperParameters ? 'Hyper-parameters' : 'Parameters'}</h2>
              <KeyValues items={params} />
            </>
          )}
          {n.tags && (
            <>
              <h2>Tags</h2>
              <KeyValues items={n.tags} />
            </>
          )}
          {n.metrics && (
            <>
              <h2>Metrics</h2>
              <KeyValues items={n.metrics.map((m) => ({ key: m.key, value: formatNumber(m.value) }))} />
            </>
          )}
          {n.inputs && (
            <>
              <h2>Inputs</h2>
              <Refs list={n.inputs} />
              <h2>Outputs</h2>
              <Refs list={n.outputs} />
            </>
          )}
          {n.approvals && <Approvals list={n.approvals} />}
          {n.activeDeployments && <Deployments n={n} />}
        </section>
      </div>
      <h2>Lineage</h2>
      <LineageExplorer start={n.id} marks={deploymentMarks(n)} auditable={auditable} initial={view} />
    </main>
  );
}

export function Approvals({ list }: { list: { status: string; comment?: string | null; at: string; actor: string }[] }) {
  return (
    <>
      <h2>Approval history</h2>
      {list.length === 0 ? (
        <p className="muted">No approval recorded.</p>
      ) : (
        <table className="data">
          <thead>
            <tr>
              <th>When</th>
              <th>Status</th>
              <th>Who</th>
              <th>Comment</th>
            </tr>
          </thead>
          <tbody>
            {list.map((a) => (
              <tr key={a.at + a.status}>
                <td>{formatTime(a.at)}</td>
                <td>{a.status}</td>
                <td className="actor">{a.actor}</td>
                <td>{a.comment}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function Deployments({ n }: { n: AnyNode }) {
  const history = n.deploymentHistory?.edges.map((e) => e.node) ?? [];
  return (
    <>
      <h2>Serving now</h2>
      {n.activeDeployments!.length === 0 ? (
        <p className="muted">Nothing is deployed.</p>
      ) : (
        <Refs list={n.activeDeployments!.map((d) => ({ ...d.modelVersion, kind: 'MODEL_VERSION', name: `${d.modelVersion.name} · ${d.variant} · ${formatShare(d.trafficShare)}` }))} />
      )}
      <h2>Deployment history ({n.deploymentHistory?.totalCount ?? 0})</h2>
      <table className="data">
        <thead>
          <tr>
            <th>From</th>
            <th>To</th>
            <th>Variant</th>
            <th>Share</th>
            <th>Model version</th>
            <th>By</th>
          </tr>
        </thead>
        <tbody>
          {history.map((d) => (
            <tr key={d.id}>
              <td>{formatTime(d.from)}</td>
              <td>{d.to ? formatTime(d.to) : 'serving'}</td>
              <td>{d.variant}</td>
              <td>{formatShare(d.trafficShare)}</td>
              <td>
                <NodeLink node={d.modelVersion} />
              </td>
              <td className="actor">{d.recordedBy}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
