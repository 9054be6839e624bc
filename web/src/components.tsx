import type { ReactNode } from 'react';
import type { ApiError } from './api';
import { formatTime } from './format';
import { kindColor, kindLabel } from './kinds';
import { nodeHref } from './router';

export function ErrorBox({ error }: { error: ApiError }) {
  return (
    <p className="error" role="alert">
      <strong>{error.code}</strong> {error.message}
    </p>
  );
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return <p className="muted">{what}…</p>;
}

export function KindBadge({ kind }: { kind: string }) {
  const c = kindColor(kind);
  return (
    <span className="kind" data-kind={kind}>
      <svg width="10" height="10" aria-hidden="true">
        <rect width="10" height="10" rx="2" fill={c.fill} stroke={c.stroke} />
      </svg>
      {kindLabel(kind)}
    </span>
  );
}

/** A link to a node's page, showing its name and ID. */
export function NodeLink({ node }: { node: { id: string; name?: string | null } }) {
  return (
    <a href={nodeHref(node.id)} className="nodelink" title={node.id}>
      {node.name || node.id}
    </a>
  );
}

/** A two-column table of properties; empty values are left out. */
export function Props({ rows }: { rows: [string, ReactNode][] }) {
  return (
    <table className="props">
      <tbody>
        {rows
          .filter(([, v]) => v !== null && v !== undefined && v !== '')
          .map(([k, v]) => (
            <tr key={k}>
              <th scope="row">{k}</th>
              <td>{v}</td>
            </tr>
          ))}
      </tbody>
    </table>
  );
}

export function Recorded({ at, by }: { at: string; by: string }) {
  return (
    <span className="muted">
      recorded {formatTime(at)} by <span className="actor">{by}</span>
    </span>
  );
}

export function KeyValues({ items, empty = 'none' }: { items: { key: string; value: string }[]; empty?: string }) {
  if (items.length === 0) return <span className="muted">{empty}</span>;
  return (
    <table className="kv">
      <tbody>
        {items.map((p) => (
          <tr key={p.key}>
            <th scope="row">{p.key}</th>
            <td>{p.value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
