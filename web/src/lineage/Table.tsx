import { useMemo, useState } from 'react';
import { kindLabel } from '../kinds';
import { nodeHref } from '../router';
import type { GraphEdge, GraphNode } from './layout';

const PAGE = 200;

/** The nodes and edges of a lineage answer as tables, for cones too large to draw. */
export function LineageTable({ nodes, edges }: { nodes: GraphNode[]; edges: GraphEdge[] }) {
  const [filter, setFilter] = useState('');
  const [page, setPage] = useState(0);
  const [tab, setTab] = useState<'nodes' | 'edges'>('nodes');
  const f = filter.trim().toLowerCase();
  const rows = useMemo(
    () =>
      tab === 'nodes'
        ? nodes.filter((n) => !f || n.id.toLowerCase().includes(f) || n.name.toLowerCase().includes(f))
        : edges.filter((e) => !f || e.from.toLowerCase().includes(f) || e.to.toLowerCase().includes(f)),
    [tab, nodes, edges, f],
  );
  const pages = Math.max(1, Math.ceil(rows.length / PAGE));
  const shown = rows.slice(page * PAGE, page * PAGE + PAGE);
  return (
    <div className="lineagetable">
      <div className="toolbar">
        <button type="button" aria-pressed={tab === 'nodes'} onClick={() => (setTab('nodes'), setPage(0))}>
          Nodes ({nodes.length})
        </button>
        <button type="button" aria-pressed={tab === 'edges'} onClick={() => (setTab('edges'), setPage(0))}>
          Edges ({edges.length})
        </button>
        <input
          type="search"
          aria-label="Filter"
          placeholder="Filter by ID or name"
          value={filter}
          onChange={(e) => (setFilter(e.target.value), setPage(0))}
        />
        <span className="muted small">
          {rows.length} rows · page {page + 1} of {pages}
        </span>
        <button type="button" disabled={page === 0} onClick={() => setPage(page - 1)}>
          Previous
        </button>
        <button type="button" disabled={page + 1 >= pages} onClick={() => setPage(page + 1)}>
          Next
        </button>
      </div>
      <table className="data">
        {tab === 'nodes' ? (
          <>
            <thead>
              <tr>
                <th>Kind</th>
                <th>Name</th>
                <th>ID</th>
              </tr>
            </thead>
            <tbody>
              {(shown as GraphNode[]).map((n) => (
                <tr key={n.id}>
                  <td>{kindLabel(n.kind)}</td>
                  <td>{n.name}</td>
                  <td>
                    <a href={nodeHref(n.id)}>{n.id}</a>
                  </td>
                </tr>
              ))}
            </tbody>
          </>
        ) : (
          <>
            <thead>
              <tr>
                <th>From</th>
                <th>Type</th>
                <th>To</th>
              </tr>
            </thead>
            <tbody>
              {(shown as GraphEdge[]).map((e) => (
                <tr key={`${e.from}\u0000${e.to}\u0000${e.type}`}>
                  <td>
                    <a href={nodeHref(e.from)}>{e.from}</a>
                  </td>
                  <td>{e.type}</td>
                  <td>
                    <a href={nodeHref(e.to)}>{e.to}</a>
                  </td>
                </tr>
              ))}
            </tbody>
          </>
        )}
      </table>
    </div>
  );
}
