import { useMemo, useState } from 'react';
import { ApiError, downloadEvidence } from '../api';
import { ErrorBox, KeyValues, KindBadge, Loading, NodeLink, Props } from '../components';
import { formatShare, formatTime, fromLocalInput, toLocalInput } from '../format';
import { useQuery } from '../hooks';
import { safeName } from '../lineage/Explorer';
import { Picture } from '../lineage/Picture';
import type { GraphEdge, GraphNode } from '../lineage/layout';
import { auditHref, navigate } from '../router';
import { Approvals } from './Node';
import { MetricSummaries, type Summary } from './Run';

const AUDIT = `query Audit($endpoint: ID, $modelVersion: ID, $at: Time) {
  auditTrail(endpoint: $endpoint, modelVersion: $modelVersion, at: $at) {
    at
    endpoint { id name }
    entries {
      deployment { id variant trafficShare from to recordedBy }
      modelVersion { id name version source }
      approvalStatus
      approvals { status comment at actor }
      producedBy {
        __typename id kind name recordedAt recordedBy
        ... on TrainingJob { instanceType codeVersion hyperParameters { key value } }
        ... on ProcessingJob { instanceType codeVersion parameters { key value } }
        ... on Run { codeVersion params { key value } metrics { key last lastStep min max avg stddev count } }
      }
      trainingData { id kind name ... on DatasetVersion { uri digest versionId } ... on Artifact { uri digest } }
      upstream { nodes { id kind name } edges { from to type } truncated }
    }
  }
}`;

const AUDIT_LOG = `query AuditLog($about: [ID!]!) {
  auditLogEntries(about: $about, first: 100) {
    edges { node { seq hash action actor at hashValid changes { target field old new } } }
    pageInfo { hasNextPage }
    verification { verified checked from to firstBreak { seq reason } }
  }
}`;

interface Param {
  key: string;
  value: string;
}

interface Producer {
  __typename: string;
  id: string;
  kind: string;
  name: string;
  recordedAt: string;
  recordedBy: string;
  instanceType?: string | null;
  codeVersion?: string | null;
  hyperParameters?: Param[];
  parameters?: Param[];
  params?: Param[];
  metrics?: Summary[];
}

interface Entry {
  deployment: { id: string; variant: string; trafficShare: number; from: string; to?: string | null; recordedBy: string } | null;
  modelVersion: { id: string; name: string; version: number; source: string };
  approvalStatus: string;
  approvals: { status: string; comment?: string | null; at: string; actor: string }[];
  producedBy: Producer[];
  trainingData: { id: string; kind: string; name: string; uri?: string; digest?: string | null; versionId?: string | null }[];
  upstream: { nodes: GraphNode[]; edges: GraphEdge[]; truncated: boolean };
}

interface AuditAnswer {
  auditTrail: { at: string; endpoint: { id: string; name: string } | null; entries: Entry[] };
}

/** A field an audited write changed, with the value it replaced (null: absent). */
interface AuditChange {
  target: string;
  field: string;
  old: string | null;
  new: string | null;
}

interface AuditLogEntry {
  seq: number;
  hash: string;
  action: string;
  actor: string;
  at: string;
  hashValid: boolean;
  changes: AuditChange[];
}

interface AuditLogAnswer {
  auditLogEntries: {
    edges: { node: AuditLogEntry }[];
    pageInfo: { hasNextPage: boolean };
    verification: { verified: boolean; checked: number; from: number; to: number; firstBreak: { seq: number; reason: string } | null };
  };
}

/**
 * The auditor's page: what an endpoint served (or what a model version was) at an
 * instant — versions and traffic shares, approvals, the producing job or run, the
 * training data with digests, the upstream chain, and whether the audit log verifies
 * over the entries involved — and the evidence package to file.
 */
export function AuditPage({ id, at }: { id: string; at: string | null }) {
  const isEndpoint = id.startsWith('endpoint:');
  const r = useQuery<AuditAnswer>(AUDIT, isEndpoint ? { endpoint: id, at } : { modelVersion: id, at });
  const [busy, setBusy] = useState(false);
  const [dlError, setDlError] = useState<ApiError | null>(null);
  const instant = r.state === 'done' ? r.data.auditTrail.at : (at ?? new Date().toISOString());

  async function download() {
    setBusy(true);
    setDlError(null);
    try {
      await downloadEvidence(id, instant);
    } catch (e) {
      setDlError(e instanceof ApiError ? e : new ApiError(String(e), 'INTERNAL'));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="page audit">
      <header className="pagehead">
        <p className="muted">Audit view</p>
        <h1>
          <NodeLink node={{ id, name: id }} />
        </h1>
        <form className="controls" onSubmit={(e) => e.preventDefault()}>
          <label>
            At (UTC)
            <input
              type="datetime-local"
              step={1}
              aria-label="At"
              value={toLocalInput(instant)}
              onChange={(e) => {
                const t = fromLocalInput(e.target.value);
                if (t) navigate(auditHref(id, t));
              }}
            />
          </label>
          <button type="button" onClick={() => navigate(auditHref(id))}>
            Now
          </button>
          <button type="button" className="primary" onClick={download} disabled={busy || r.state !== 'done'}>
            {busy ? 'Preparing evidence…' : 'Download evidence'}
          </button>
        </form>
        {dlError && <ErrorBox error={dlError} />}
      </header>
      {r.state === 'loading' && <Loading />}
      {r.state === 'error' && <ErrorBox error={r.error} />}
      {r.state === 'done' && <Trail trail={r.data.auditTrail} subject={id} />}
    </main>
  );
}

function Trail({ trail, subject }: { trail: AuditAnswer['auditTrail']; subject: string }) {
  if (trail.entries.length === 0) {
    return (
      <p className="notice">
        {trail.endpoint ? 'Nothing was deployed on this endpoint' : 'Nothing is recorded about this model version'} at{' '}
        {formatTime(trail.at)}.
      </p>
    );
  }
  const involved = new Set<string>([subject]);
  for (const e of trail.entries) {
    involved.add(e.modelVersion.id);
    e.producedBy.forEach((p) => involved.add(p.id));
    e.trainingData.forEach((d) => involved.add(d.id));
  }
  return (
    <>
      <p>
        As the graph stood at <strong>{formatTime(trail.at)}</strong>:
      </p>
      {trail.endpoint && (
        <section>
          <h2>Versions served</h2>
          <table className="data served">
            <thead>
              <tr>
                <th>Variant</th>
                <th>Traffic share</th>
                <th>Model version</th>
                <th>Deployed</th>
                <th>By</th>
              </tr>
            </thead>
            <tbody>
              {trail.entries.map((e) => (
                <tr key={e.modelVersion.id + (e.deployment?.variant ?? '')}>
                  <td>{e.deployment?.variant}</td>
                  <td>{e.deployment && formatShare(e.deployment.trafficShare)}</td>
                  <td>
                    <NodeLink node={e.modelVersion} />
                  </td>
                  <td>{e.deployment && formatTime(e.deployment.from)}</td>
                  <td className="actor">{e.deployment?.recordedBy}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
      {trail.entries.map((e) => (
        <EntryView key={e.modelVersion.id + (e.deployment?.variant ?? '')} e={e} />
      ))}
      <AuditLog ids={[...involved]} />
    </>
  );
}

function EntryView({ e }: { e: Entry }) {
  const start = useMemo(() => [e.modelVersion.id], [e.modelVersion.id]);
  return (
    <section className="entry">
      <h2>
        Model version <NodeLink node={e.modelVersion} />
      </h2>
      <Props
        rows={[
          ['Source', <code>{e.modelVersion.source}</code>],
          ['Approval status then', <strong>{e.approvalStatus}</strong>],
        ]}
      />
      <Approvals list={e.approvals} />
      <h3>Produced by</h3>
      {e.producedBy.length === 0 && <p className="muted">No producing job or run recorded.</p>}
      {e.producedBy.map((p) => (
        <div key={p.id} className="producer">
          <p>
            <KindBadge kind={p.kind} /> <NodeLink node={p} />
          </p>
          <Props
            rows={[
              ['Code version', p.codeVersion && <code>{p.codeVersion}</code>],
              ['Instance type', p.instanceType],
              ['Recorded', `${formatTime(p.recordedAt)} by ${p.recordedBy}`],
            ]}
          />
          <KeyValues items={p.hyperParameters ?? p.parameters ?? p.params ?? []} empty="no parameters recorded" />
          {p.metrics && p.metrics.length > 0 && <MetricSummaries metrics={p.metrics} />}
        </div>
      ))}
      <h3>Training data</h3>
      {e.trainingData.length === 0 ? (
        <p className="muted">No training data recorded.</p>
      ) : (
        <table className="data">
          <thead>
            <tr>
              <th>Data</th>
              <th>URI</th>
              <th>Digest</th>
            </tr>
          </thead>
          <tbody>
            {e.trainingData.map((d) => (
              <tr key={d.id}>
                <td>
                  <NodeLink node={d} />
                </td>
                <td>
                  <code>{d.uri}</code>
                </td>
                <td>
                  <code>{d.digest ?? d.versionId ?? '—'}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h3>Upstream chain</h3>
      {e.upstream.truncated && <p className="notice">The upstream cone is larger than shown here; open the model version for all of it.</p>}
      <Picture
        nodes={e.upstream.nodes}
        edges={e.upstream.edges}
        start={start}
        fileName={`upstream-${safeName(e.modelVersion.id)}`}
      />
    </section>
  );
}

function AuditLog({ ids }: { ids: string[] }) {
  const r = useQuery<AuditLogAnswer>(AUDIT_LOG, { about: ids.slice(0, 100) });
  return (
    <section className="auditlog">
      <h2>Audit log</h2>
      {r.state === 'loading' && <Loading what="Verifying the audit log" />}
      {r.state === 'error' && <ErrorBox error={r.error} />}
      {r.state === 'done' && (
        <>
          {r.data.auditLogEntries.verification.verified ? (
            <p className="verified" data-testid="audit-verified">
              ✔ The audit log verifies over entries {r.data.auditLogEntries.verification.from}–
              {r.data.auditLogEntries.verification.to} ({r.data.auditLogEntries.verification.checked} checked).
            </p>
          ) : (
            <p className="error" data-testid="audit-verified">
              ✘ The audit log does not verify: entry {r.data.auditLogEntries.verification.firstBreak?.seq} (
              {r.data.auditLogEntries.verification.firstBreak?.reason}).
            </p>
          )}
          {r.data.auditLogEntries.pageInfo.hasNextPage && (
            <p className="muted small">The first 100 entries; the evidence package lists them all.</p>
          )}
          <table className="data" data-testid="audit-log">
            <thead>
              <tr>
                <th>#</th>
                <th>When</th>
                <th>Action</th>
                <th>Actor</th>
                <th>Changed</th>
                <th>Hash</th>
              </tr>
            </thead>
            <tbody>
              {r.data.auditLogEntries.edges.map(({ node: a }) => (
                <tr key={a.seq}>
                  <td>{a.seq}</td>
                  <td>{formatTime(a.at)}</td>
                  <td>{a.action}</td>
                  <td className="actor">{a.actor}</td>
                  <td className="changes">
                    {a.changes.map((c, i) => (
                      <div key={i}>
                        <span className="muted small">{c.target}</span> <code>{c.field}</code>: {c.old ?? '—'} → {c.new ?? '—'}
                      </div>
                    ))}
                  </td>
                  <td>
                    <code title={a.hash}>{a.hash.slice(0, 16)}…</code> {a.hashValid ? '✔' : '✘'}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
