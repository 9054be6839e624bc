import { useEffect, useMemo, useRef, useState, type MouseEvent as ReactMouseEvent } from 'react';
import { saveBlob } from '../api';
import { KindBadge } from '../components';
import { kindColor, kindLabel } from '../kinds';
import { auditHref, navigate, nodeHref } from '../router';
import { NODE_H, NODE_W, type GraphEdge, type GraphNode, type Layout, type PlacedNode } from './layout';
import type { LayoutRequest } from './layout.worker';
import { LineageTable } from './Table';

/** Cones with more nodes than this are drawn with collapsed groups. */
const DRAW_LIMIT = 1500;
/** In such a cone, a layer with more nodes than this is collapsed by kind. */
const LAYER_LIMIT = 40;
const PAD = 24;

let worker: Worker | null = null;
let seq = 0;
const waiting = new Map<number, (l: Layout) => void>();

function layoutOffThread(req: Omit<LayoutRequest, 'seq'>): Promise<Layout> {
  if (!worker) {
    worker = new Worker(new URL('./layout.worker.ts', import.meta.url), { type: 'module', name: 'lineage-layout' });
    worker.onmessage = (e: MessageEvent<{ seq: number; layout: Layout }>) => {
      waiting.get(e.data.seq)?.(e.data.layout);
      waiting.delete(e.data.seq);
    };
  }
  const id = ++seq;
  return new Promise((resolve) => {
    waiting.set(id, resolve);
    worker!.postMessage({ ...req, seq: id });
  });
}

/**
 * The edges as a few path elements — one per style (provenance or VERSION_OF, on a
 * highlighted path or not) — each curve with its arrowhead drawn as a chevron. One
 * element per edge, with a marker each, made a 1,000-node picture take a second to
 * paint.
 */
function edgePaths(
  layout: Layout | null,
  placed: Map<string, PlacedNode>,
  hiEdges: Set<string> | null,
): { key: string; d: string; hi: boolean; dashed: boolean; count: number }[] {
  const groups = new Map<string, { key: string; d: string[]; hi: boolean; dashed: boolean }>();
  for (const e of layout?.edges ?? []) {
    const a = placed.get(e.from);
    const b = placed.get(e.to);
    if (!a || !b) continue;
    const x1 = a.x + NODE_W;
    const y1 = a.y + NODE_H / 2;
    const x2 = b.x;
    const y2 = b.y + NODE_H / 2;
    const dx = Math.max(30, Math.abs(x2 - x1) / 2);
    const hi = hiEdges?.has(`${e.from}\u0000${e.to}`) ?? false;
    const dashed = e.type === 'VERSION_OF';
    const key = `${hi ? 'hi' : 'lo'}-${dashed ? 'dash' : 'line'}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { key, d: [], hi, dashed }));
    g.d.push(`M${x1} ${y1}C${x1 + dx} ${y1},${x2 - dx} ${y2},${x2} ${y2}M${x2 - 7} ${y2 - 4}L${x2} ${y2}L${x2 - 7} ${y2 + 4}`);
  }
  // Highlighted paths last, so they are drawn over the others.
  return [...groups.values()]
    .sort((p, q) => Number(p.hi) - Number(q.hi))
    .map((g) => ({ key: g.key, d: g.d.join(''), hi: g.hi, dashed: g.dashed, count: g.d.length }));
}

/** The picture's frame: the drawing's height up to 600 px, at least 160. */
function frameHeight(l: Layout | null): number {
  return Math.round(Math.min(600, Math.max(160, (l?.height ?? 0) + 2 * PAD)));
}

function truncate(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

/** The nodes and edges on some path between a and b (either way round). */
function between(a: string, b: string, edges: GraphEdge[]): { nodes: Set<string>; edges: Set<string> } {
  const succ = new Map<string, string[]>();
  const pred = new Map<string, string[]>();
  for (const e of edges) {
    (succ.get(e.from) ?? succ.set(e.from, []).get(e.from)!).push(e.to);
    (pred.get(e.to) ?? pred.set(e.to, []).get(e.to)!).push(e.from);
  }
  const reach = (start: string, next: Map<string, string[]>) => {
    const seen = new Set([start]);
    const todo = [start];
    while (todo.length) for (const w of next.get(todo.pop()!) ?? []) if (!seen.has(w)) (seen.add(w), todo.push(w));
    return seen;
  };
  const on = new Set<string>();
  for (const [x, y] of [
    [a, b],
    [b, a],
  ]) {
    const down = reach(x, succ);
    if (!down.has(y)) continue;
    for (const v of reach(y, pred)) if (down.has(v)) on.add(v);
  }
  const onEdges = new Set<string>();
  for (const e of edges) if (on.has(e.from) && on.has(e.to)) onEdges.add(`${e.from}\u0000${e.to}`);
  return { nodes: on, edges: onEdges };
}

interface PictureProps {
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** Start nodes: drawn with a heavier border, never collapsed. */
  start: string[];
  /** Loads more of the cone around a node, when the picture may grow. */
  onExpand?: (id: string) => void;
  /** A name for exported files. */
  fileName: string;
}

/**
 * A lineage picture: a layered drawing in data-flow order, panned by dragging and
 * zoomed with the wheel. Click a node to select it, shift-click a second to highlight
 * the paths between them, double-click to open it. Exports as SVG and PNG; the table
 * view lists the same nodes and edges.
 */
export function Picture({ nodes, edges, start, onExpand, fileName }: PictureProps) {
  const [layout, setLayout] = useState<Layout | null>(null);
  const [view, setView] = useState({ x: PAD, y: PAD, k: 1 });
  const [sel, setSel] = useState<string[]>([]);
  const [mode, setMode] = useState<'picture' | 'table'>(nodes.length > 5000 ? 'table' : 'picture');
  const [fits, setFits] = useState(0);
  const svg = useRef<SVGSVGElement>(null);
  const drag = useRef<{ x: number; y: number } | null>(null);

  useEffect(() => {
    let live = true;
    layoutOffThread({ nodes, edges, opts: { drawLimit: DRAW_LIMIT, layerLimit: LAYER_LIMIT, keep: start } }).then((l) => {
      if (live) setLayout(l);
    });
    return () => {
      live = false;
    };
  }, [nodes, edges, start]);

  // Fit the picture into the frame when a new layout arrives.
  useEffect(() => {
    if (!layout || !svg.current) return;
    const { width, height } = svg.current.getBoundingClientRect();
    const k = Math.min(1, (width - 2 * PAD) / Math.max(layout.width, 1), (height - 2 * PAD) / Math.max(layout.height, 1));
    const kk = Math.max(k, 0.05);
    setView({ k: kk, x: (width - layout.width * kk) / 2, y: Math.max(PAD, (height - layout.height * kk) / 2) });
  }, [layout, fits, mode]);

  // Wheel zoom around the pointer (a non-passive listener, so the page does not scroll).
  useEffect(() => {
    const el = svg.current;
    if (!el) return;
    const onWheel = (e: WheelEvent) => {
      e.preventDefault();
      const r = el.getBoundingClientRect();
      const px = e.clientX - r.left;
      const py = e.clientY - r.top;
      setView((v) => {
        const k = Math.min(4, Math.max(0.02, v.k * Math.exp(-e.deltaY * 0.0015)));
        return { k, x: px - ((px - v.x) * k) / v.k, y: py - ((py - v.y) * k) / v.k };
      });
    };
    el.addEventListener('wheel', onWheel, { passive: false });
    return () => el.removeEventListener('wheel', onWheel);
  }, [mode]);

  const placed = useMemo(() => new Map((layout?.nodes ?? []).map((n) => [n.id, n])), [layout]);
  const path = useMemo(
    () => (sel.length === 2 && layout ? between(sel[0], sel[1], layout.edges) : null),
    [sel, layout],
  );
  const startSet = useMemo(() => new Set(start), [start]);

  function select(e: ReactMouseEvent, id: string) {
    e.stopPropagation();
    setSel((s) => (e.shiftKey && s.length > 0 && s[0] !== id ? [s[0], id] : [id]));
  }

  function exportSVG(): string {
    const clone = svg.current!.cloneNode(true) as SVGSVGElement;
    const w = (layout?.width ?? 0) + 2 * PAD;
    const h = (layout?.height ?? 0) + 2 * PAD;
    clone.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
    clone.setAttribute('width', String(w));
    clone.setAttribute('height', String(h));
    clone.setAttribute('viewBox', `0 0 ${w} ${h}`);
    clone.removeAttribute('class');
    clone.querySelector('g.viewport')!.setAttribute('transform', `translate(${PAD},${PAD})`);
    const bg = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
    bg.setAttribute('width', '100%');
    bg.setAttribute('height', '100%');
    bg.setAttribute('fill', '#ffffff');
    clone.insertBefore(bg, clone.firstChild);
    return new XMLSerializer().serializeToString(clone);
  }

  function downloadSVG() {
    saveBlob(new Blob([exportSVG()], { type: 'image/svg+xml' }), `${fileName}.svg`);
  }

  function downloadPNG() {
    const text = exportSVG();
    const w = (layout?.width ?? 0) + 2 * PAD;
    const h = (layout?.height ?? 0) + 2 * PAD;
    const scale = Math.min(2, 16000 / Math.max(w, h));
    const url = URL.createObjectURL(new Blob([text], { type: 'image/svg+xml' }));
    const img = new Image();
    img.onload = () => {
      const canvas = document.createElement('canvas');
      canvas.width = Math.ceil(w * scale);
      canvas.height = Math.ceil(h * scale);
      const ctx = canvas.getContext('2d')!;
      ctx.scale(scale, scale);
      ctx.drawImage(img, 0, 0);
      URL.revokeObjectURL(url);
      canvas.toBlob((b) => b && saveBlob(b, `${fileName}.png`), 'image/png');
    };
    img.src = url;
  }

  const selected = sel.map((id) => placed.get(id)).filter((n): n is PlacedNode => !!n);

  return (
    <div className="picture">
      <div className="toolbar" role="toolbar" aria-label="Picture">
        <button type="button" aria-pressed={mode === 'picture'} onClick={() => setMode('picture')}>
          Picture
        </button>
        <button type="button" aria-pressed={mode === 'table'} onClick={() => setMode('table')}>
          Table
        </button>
        {mode === 'picture' && (
          <>
            <button type="button" onClick={() => setFits((f) => f + 1)}>
              Fit
            </button>
            <button type="button" onClick={downloadSVG} disabled={!layout}>
              Export SVG
            </button>
            <button type="button" onClick={downloadPNG} disabled={!layout}>
              Export PNG
            </button>
            <span className="muted small">
              Click selects · shift-click a second node highlights the paths between them · double-click opens · drag
              pans · wheel zooms
            </span>
          </>
        )}
      </div>
      {layout?.collapsed && mode === 'picture' && (
        <p className="notice">
          {nodes.length} nodes are too many to draw one by one: crowded layers are drawn as groups (click one to list
          it), and the table view lists every node.
        </p>
      )}
      {mode === 'table' ? (
        <LineageTable nodes={nodes} edges={edges} />
      ) : (
        <div className="frame">
          <svg
            ref={svg}
            className="lineage"
            role="img"
            aria-label={`Lineage picture of ${nodes.length} nodes`}
            height={frameHeight(layout)}
            data-state={layout ? 'drawn' : 'layout'}
            data-nodes={layout?.nodes.length ?? 0}
            onMouseDown={(e) => (drag.current = { x: e.clientX - view.x, y: e.clientY - view.y })}
            onMouseMove={(e) => drag.current && setView((v) => ({ ...v, x: e.clientX - drag.current!.x, y: e.clientY - drag.current!.y }))}
            onMouseUp={() => (drag.current = null)}
            onMouseLeave={() => (drag.current = null)}
            onClick={() => setSel([])}
          >
            <g className="viewport" transform={`translate(${view.x},${view.y}) scale(${view.k})`}>
              {edgePaths(layout, placed, path?.edges ?? null).map((p) => (
                <path
                  key={p.key}
                  d={p.d}
                  fill="none"
                  stroke={p.hi ? '#d81b60' : '#90a4ae'}
                  strokeWidth={p.hi ? 2.5 : 1.2}
                  strokeDasharray={p.dashed ? '4 3' : undefined}
                  opacity={path && !p.hi ? 0.25 : 1}
                  data-edges={p.count}
                />
              ))}
              {layout?.nodes.map((n) => {
                const c = kindColor(n.kind);
                const isSel = sel.includes(n.id);
                const dim = path && !path.nodes.has(n.id);
                return (
                  <g
                    key={n.id}
                    className="node"
                    data-id={n.id}
                    data-kind={n.kind}
                    transform={`translate(${n.x},${n.y})`}
                    opacity={dim ? 0.3 : 1}
                    onClick={(e) => select(e, n.id)}
                    onDoubleClick={() => !n.members && navigate(nodeHref(n.id))}
                    onMouseDown={(e) => e.stopPropagation()}
                  >
                    <title>{n.members ? `${n.members.length} ${kindLabel(n.kind, true)}` : n.id}</title>
                    <rect
                      width={NODE_W}
                      height={NODE_H}
                      rx={n.members ? 10 : 4}
                      fill={c.fill}
                      stroke={isSel ? '#d81b60' : c.stroke}
                      strokeWidth={isSel ? 3 : startSet.has(n.id) ? 2.5 : 1}
                      strokeDasharray={n.members ? '5 3' : undefined}
                    />
                    <text x={8} y={15} fontSize={10} fill={c.stroke} fontFamily="sans-serif">
                      {n.members ? `${kindLabel(n.kind, true)} (group)` : kindLabel(n.kind)}
                    </text>
                    <text x={8} y={32} fontSize={12.5} fill="#212121" fontFamily="sans-serif">
                      {truncate(n.members ? `${n.members.length} ${kindLabel(n.kind, true).toLowerCase()}` : n.name || n.id, 30)}
                    </text>
                  </g>
                );
              })}
            </g>
          </svg>
          {selected.length > 0 && (
            <aside className="selection" aria-label="Selection">
              {selected.map((n) => (
                <SelectedNode key={n.id} node={n} onExpand={onExpand} />
              ))}
              {selected.length === 2 && (
                <p className="small">
                  {path && path.nodes.size > 0
                    ? `${path.nodes.size} nodes lie on paths between the two.`
                    : 'No path between the two in this picture.'}
                </p>
              )}
              {selected.length === 1 && <p className="muted small">Shift-click a second node to see the paths between them.</p>}
            </aside>
          )}
        </div>
      )}
    </div>
  );
}

function SelectedNode({ node, onExpand }: { node: PlacedNode; onExpand?: (id: string) => void }) {
  if (node.members) {
    return (
      <section>
        <h3>
          {node.members.length} {kindLabel(node.kind, true).toLowerCase()}
        </h3>
        <ul className="members">
          {node.members.slice(0, 200).map((id) => (
            <li key={id}>
              <a href={nodeHref(id)}>{id}</a>
            </li>
          ))}
        </ul>
        {node.members.length > 200 && <p className="muted small">and {node.members.length - 200} more (table view)</p>}
      </section>
    );
  }
  return (
    <section>
      <KindBadge kind={node.kind} />
      <h3>{node.name || node.id}</h3>
      <p className="id">{node.id}</p>
      <p className="actions">
        <a href={nodeHref(node.id)}>Open</a>
        {onExpand && (
          <button type="button" onClick={() => onExpand(node.id)}>
            Expand
          </button>
        )}
        {(node.kind === 'ENDPOINT' || node.kind === 'MODEL_VERSION') && <a href={auditHref(node.id)}>Audit view</a>}
      </p>
    </section>
  );
}
