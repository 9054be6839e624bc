import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { ApiError, gql } from '../api';
import { ErrorBox } from '../components';
import { formatTime } from '../format';
import { KINDS, kindLabel } from '../kinds';
import { auditHref, nodeViewHref, type LineageView } from '../router';
import type { GraphEdge, GraphNode } from './layout';
import { Picture } from './Picture';

type Direction = 'UPSTREAM' | 'DOWNSTREAM' | 'BOTH';

/** How many nodes one page of the cone holds; "Load more" asks for the next. */
export const PAGE_BUDGET = 2000;

const LINEAGE = `query Lineage($start: [ID!]!, $direction: LineageDirection!, $maxDepth: Int, $kinds: [NodeKind!],
  $asOf: Time, $budget: Int, $after: String) {
  lineage(start: $start, direction: $direction, maxDepth: $maxDepth, kinds: $kinds, asOf: $asOf, budget: $budget, after: $after) {
    nodes { id kind name recordedAt }
    edges { from to type }
    truncated
    pageInfo { endCursor }
  }
}`;

interface LineageAnswer {
  lineage: {
    nodes: (GraphNode & { recordedAt: string })[];
    edges: GraphEdge[];
    truncated: boolean;
    pageInfo: { endCursor: string | null };
  };
}

/** A moment worth jumping to on the time slider, such as a redeployment. */
export interface TimeMark {
  at: string;
  label: string;
}

interface Graph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

const edgeKey = (e: GraphEdge) => `${e.from}\u0000${e.to}\u0000${e.type}`;

function merge(g: Graph, more: Graph): Graph {
  const ids = new Set(g.nodes.map((n) => n.id));
  const keys = new Set(g.edges.map(edgeKey));
  return {
    nodes: [...g.nodes, ...more.nodes.filter((n) => !ids.has(n.id))],
    edges: [...g.edges, ...more.edges.filter((e) => !keys.has(edgeKey(e)))],
  };
}

/**
 * The lineage picture of a node with its controls: direction, depth, kinds, and an
 * as-of time slider that redraws the cone as the graph stood at that instant (what was
 * deployed then, which facts existed). Large cones come page by page ("Load more").
 */
export function LineageExplorer({
  start,
  marks = [],
  auditable,
  initial = {},
}: {
  start: string;
  marks?: TimeMark[];
  auditable: boolean;
  /** The view to start with (from the page's address); changes are written back to it. */
  initial?: LineageView;
}) {
  const [direction, setDirection] = useState<Direction>(initial.direction ?? 'UPSTREAM');
  const [depth, setDepth] = useState(initial.depth ?? 10);
  const [kinds, setKinds] = useState<string[]>([]);
  const [asOf, setAsOf] = useState<string | null>(initial.asOf ?? null);
  const [graph, setGraph] = useState<Graph>({ nodes: [], edges: [] });
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<ApiError | null>(null);
  // When the start node was recorded: the slider goes back no further.
  const [since, setSince] = useState<number | null>(null);
  const now = useRef(Date.now()).current;

  const variables = useMemo(
    () => ({ start: [start], direction, maxDepth: depth, kinds: kinds.length ? kinds : null, asOf, budget: PAGE_BUDGET }),
    [start, direction, depth, kinds, asOf],
  );

  // The address names the view, so it can be bookmarked and shared (node pages only).
  useEffect(() => {
    if (!window.location.hash.startsWith('#/node/')) return;
    history.replaceState(null, '', nodeViewHref(start, { direction, depth, asOf: asOf ?? undefined }));
  }, [start, direction, depth, asOf]);

  // The view the picture shows now: answers to requests made for another view (a page
  // or an expansion asked for before the slider moved) are dropped.
  const shown = useRef(variables);
  const fail = useCallback(
    (e: unknown) => {
      const err = e instanceof ApiError ? e : new ApiError(String(e), 'INTERNAL');
      setError(
        err.code === 'NOT_FOUND' && asOf
          ? new ApiError(`${start} was not recorded yet at ${formatTime(asOf)}: move the slider later.`, err.code)
          : err,
      );
      setGraph({ nodes: [], edges: [] });
      setCursor(null);
      setLoading(false);
    },
    [start, asOf],
  );

  useEffect(() => {
    shown.current = variables;
    const ctl = new AbortController();
    setLoading(true);
    // A moment's pause, so dragging the slider or typing a depth asks once.
    const timer = setTimeout(() => {
      gql<LineageAnswer>(LINEAGE, variables, ctl.signal).then(
        (d) => {
          setGraph({ nodes: d.lineage.nodes, edges: d.lineage.edges });
          setCursor(d.lineage.truncated ? d.lineage.pageInfo.endCursor : null);
          setError(null);
          setLoading(false);
          const self = d.lineage.nodes.find((n) => n.id === start);
          if (self && variables.asOf === null) setSince(Date.parse(self.recordedAt));
        },
        (e: unknown) => {
          if (!ctl.signal.aborted) fail(e);
        },
      );
    }, 150);
    return () => {
      clearTimeout(timer);
      ctl.abort();
    };
  }, [variables, start, fail]);

  const loadMore = useCallback(async () => {
    if (!cursor) return;
    const asked = variables;
    setLoading(true);
    try {
      const d = await gql<LineageAnswer>(LINEAGE, { ...asked, after: cursor });
      if (shown.current !== asked) return;
      setGraph((g) => merge(g, d.lineage));
      setCursor(d.lineage.truncated ? d.lineage.pageInfo.endCursor : null);
      setLoading(false);
    } catch (e) {
      if (shown.current === asked) fail(e);
    }
  }, [cursor, variables, fail]);

  const expand = useCallback(
    async (id: string) => {
      const asked = variables;
      try {
        const d = await gql<LineageAnswer>(LINEAGE, { ...asked, start: [id], maxDepth: 2, budget: 500 });
        if (shown.current === asked) setGraph((g) => merge(g, d.lineage));
      } catch (e) {
        if (shown.current === asked) fail(e);
      }
    },
    [variables, fail],
  );

  const startList = useMemo(() => [start], [start]);
  const min = Math.min(since ?? now - 3600_000, now - 60_000);
  const value = asOf ? Date.parse(asOf) : now;

  return (
    <section className="explorer" aria-label="Lineage">
      <form className="controls" onSubmit={(e) => e.preventDefault()}>
        <label>
          Direction
          <select value={direction} onChange={(e) => setDirection(e.target.value as Direction)}>
            <option value="UPSTREAM">Upstream (where it came from)</option>
            <option value="DOWNSTREAM">Downstream (what came of it)</option>
            <option value="BOTH">Both</option>
          </select>
        </label>
        <label>
          Depth
          <input
            type="number"
            min={0}
            max={50}
            value={depth}
            onChange={(e) => setDepth(Math.max(0, Math.min(50, Number(e.target.value) || 0)))}
          />
        </label>
        <details className="kinds">
          <summary>Kinds: {kinds.length ? kinds.map((k) => kindLabel(k)).join(', ') : 'all'}</summary>
          {KINDS.map((k) => (
            <label key={k}>
              <input
                type="checkbox"
                checked={kinds.includes(k)}
                onChange={(e) => setKinds((ks) => (e.target.checked ? [...ks, k] : ks.filter((x) => x !== k)))}
              />
              {kindLabel(k, true)}
            </label>
          ))}
        </details>
      </form>
      <div className="timetravel">
        <label className="slider">
          As of <strong data-testid="as-of">{asOf ? formatTime(asOf) : 'all history'}</strong>
          <input
            type="range"
            aria-label="As of"
            min={min}
            max={now}
            step={1000}
            value={value}
            onChange={(e) => {
              const t = Number(e.target.value);
              setAsOf(new Date(t >= now ? Date.now() : t).toISOString());
            }}
          />
        </label>
        <button type="button" onClick={() => setAsOf(new Date().toISOString())}>
          Now
        </button>
        <button type="button" onClick={() => setAsOf(null)} disabled={asOf === null} title="Every fact recorded, ended deployments included">
          All history
        </button>
        {marks.length > 0 && (
          <span className="marks">
            {marks.map((m) => (
              <button type="button" key={m.at + m.label} className="mark" onClick={() => setAsOf(m.at)} title={formatTime(m.at)}>
                {m.label}
              </button>
            ))}
          </span>
        )}
        {auditable && (
          <a className="button" href={auditHref(start, asOf ?? new Date().toISOString())}>
            Audit view at this instant
          </a>
        )}
      </div>
      {error && <ErrorBox error={error} />}
      <p className="status" aria-live="polite">
        {loading
          ? 'Loading lineage…'
          : `${graph.nodes.length} nodes, ${graph.edges.length} edges${asOf ? ` as of ${formatTime(asOf)}` : ''}.`}
        {cursor && !loading && (
          <>
            {' '}
            <strong>The cone holds more nodes than shown.</strong>{' '}
            <button type="button" onClick={loadMore}>
              Load more
            </button>
          </>
        )}
      </p>
      {graph.nodes.length > 0 && (
        <Picture nodes={graph.nodes} edges={graph.edges} start={startList} onExpand={expand} fileName={`lineage-${safeName(start)}`} />
      )}
    </section>
  );
}

/** A file-name-safe form of an ID. */
export function safeName(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80);
}
