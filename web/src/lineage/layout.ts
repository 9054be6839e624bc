// The lineage picture's layout: a layered drawing in data-flow order (left to right),
// computed off the page's thread (layout.worker.ts). Pure: the same graph gives the
// same picture.
//
// Layers are longest paths from the sources; a few barycenter sweeps order each layer
// to cut crossings. It costs O(sweeps · edges), so a 10,000-node cone is laid out in
// milliseconds, where a general layered layout (network-simplex ranking, as dagre's)
// takes seconds. Cones too large to read are drawn with collapsed groups: in a crowded
// layer, the nodes of one kind become one box that says how many it holds.

export interface GraphNode {
  id: string;
  kind: string;
  name: string;
}

export interface GraphEdge {
  from: string;
  to: string;
  type: string;
}

export interface PlacedNode extends GraphNode {
  x: number;
  y: number;
  layer: number;
  /** The IDs a collapsed group stands for; absent on ordinary nodes. */
  members?: string[];
}

export interface Layout {
  nodes: PlacedNode[];
  edges: GraphEdge[];
  width: number;
  height: number;
  /** True when some nodes are drawn as collapsed groups. */
  collapsed: boolean;
}

export interface LayoutOptions {
  /** Above this many nodes, crowded layers are collapsed. */
  drawLimit: number;
  /** A layer with more nodes than this is crowded. */
  layerLimit: number;
  /** Nodes never collapsed (start nodes, the selection). */
  keep: string[];
}

export const NODE_W = 210;
export const NODE_H = 42;
const GAP_X = 70;
const GAP_Y = 16;
const SWEEPS = 8;

export function layout(nodes: GraphNode[], edges: GraphEdge[], opts: LayoutOptions): Layout {
  const layerOf = layers(nodes, edges);
  let drawn = nodes.map((n, i) => ({ ...n, layer: layerOf[i] }) as PlacedNode);
  let drawnEdges = edges;
  let collapsed = false;
  if (nodes.length > opts.drawLimit) {
    ({ nodes: drawn, edges: drawnEdges, collapsed } = collapse(drawn, edges, opts));
  }
  const byLayer: PlacedNode[][] = [];
  for (const n of drawn) (byLayer[n.layer] ??= []).push(n);
  for (let l = 0; l < byLayer.length; l++) byLayer[l] ??= [];
  order(byLayer, drawnEdges);
  const tallest = Math.max(1, ...byLayer.map((l) => l.length));
  for (let l = 0; l < byLayer.length; l++) {
    const offset = ((tallest - byLayer[l].length) * (NODE_H + GAP_Y)) / 2;
    byLayer[l].forEach((n, i) => {
      n.x = l * (NODE_W + GAP_X);
      n.y = offset + i * (NODE_H + GAP_Y);
    });
  }
  return {
    nodes: drawn,
    edges: drawnEdges,
    width: Math.max(1, byLayer.length) * (NODE_W + GAP_X) - GAP_X,
    height: tallest * (NODE_H + GAP_Y) - GAP_Y,
    collapsed,
  };
}

/**
 * The layer of each node: the longest path reaching it from a node without inputs.
 * Edges closing a cycle (recorded data can hold one) are left out of the count.
 */
function layers(nodes: GraphNode[], edges: GraphEdge[]): Int32Array {
  const n = nodes.length;
  const index = new Map(nodes.map((v, i) => [v.id, i]));
  const out: number[][] = Array.from({ length: n }, () => []);
  for (const e of edges) {
    const a = index.get(e.from);
    const b = index.get(e.to);
    if (a !== undefined && b !== undefined && a !== b) out[a].push(b);
  }
  // Depth-first search without recursion; its reverse post-order is a topological
  // order of the graph without its back edges.
  const state = new Uint8Array(n); // 0 new, 1 on the stack, 2 done
  const post: number[] = [];
  const back = new Set<number>(); // a * n + b for a back edge a→b
  for (let root = 0; root < n; root++) {
    if (state[root]) continue;
    const stack: [number, number][] = [[root, 0]];
    state[root] = 1;
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [v, i] = top;
      if (i < out[v].length) {
        top[1]++;
        const w = out[v][i];
        if (state[w] === 0) {
          state[w] = 1;
          stack.push([w, 0]);
        } else if (state[w] === 1) {
          back.add(v * n + w);
        }
      } else {
        state[v] = 2;
        post.push(v);
        stack.pop();
      }
    }
  }
  const layer = new Int32Array(n);
  for (let k = post.length - 1; k >= 0; k--) {
    const v = post[k];
    for (const w of out[v]) if (!back.has(v * n + w) && layer[w] < layer[v] + 1) layer[w] = layer[v] + 1;
  }
  return layer;
}

/** Replaces the nodes of each kind in a crowded layer by one group node. */
function collapse(
  nodes: PlacedNode[],
  edges: GraphEdge[],
  opts: LayoutOptions,
): { nodes: PlacedNode[]; edges: GraphEdge[]; collapsed: boolean } {
  const keep = new Set(opts.keep);
  const size = new Map<number, number>();
  for (const n of nodes) size.set(n.layer, (size.get(n.layer) ?? 0) + 1);
  const rep = new Map<string, string>();
  const groups = new Map<string, PlacedNode>();
  const out: PlacedNode[] = [];
  for (const n of nodes) {
    if ((size.get(n.layer) ?? 0) <= opts.layerLimit || keep.has(n.id)) {
      out.push(n);
      rep.set(n.id, n.id);
      continue;
    }
    const gid = `group:${n.layer}:${n.kind}`;
    let g = groups.get(gid);
    if (!g) {
      g = { id: gid, kind: n.kind, name: '', x: 0, y: 0, layer: n.layer, members: [] };
      groups.set(gid, g);
      out.push(g);
    }
    g.members!.push(n.id);
    rep.set(n.id, gid);
  }
  for (const g of groups.values()) g.name = `${g.members!.length} nodes`;
  const seen = new Set<string>();
  const outEdges: GraphEdge[] = [];
  for (const e of edges) {
    const from = rep.get(e.from);
    const to = rep.get(e.to);
    if (!from || !to || from === to) continue;
    const key = `${from}\u0000${to}\u0000${e.type}`;
    if (seen.has(key)) continue;
    seen.add(key);
    outEdges.push({ from, to, type: e.type });
  }
  return { nodes: out, edges: outEdges, collapsed: groups.size > 0 };
}

/** Orders each layer by the mean position of its neighbours, sweeping both ways. */
function order(byLayer: PlacedNode[][], edges: GraphEdge[]): void {
  const pos = new Map<string, number>();
  const preds = new Map<string, string[]>();
  const succs = new Map<string, string[]>();
  for (const e of edges) {
    (preds.get(e.to) ?? preds.set(e.to, []).get(e.to)!).push(e.from);
    (succs.get(e.from) ?? succs.set(e.from, []).get(e.from)!).push(e.to);
  }
  const place = (layer: PlacedNode[]) => layer.forEach((n, i) => pos.set(n.id, i - (layer.length - 1) / 2));
  for (const l of byLayer) {
    l.sort((a, b) => (a.kind === b.kind ? (a.id < b.id ? -1 : 1) : a.kind < b.kind ? -1 : 1));
    place(l);
  }
  const sweep = (layer: PlacedNode[], nbrs: Map<string, string[]>) => {
    const bc = new Map<string, number>();
    for (const n of layer) {
      const ns = nbrs.get(n.id);
      if (!ns || ns.length === 0) {
        bc.set(n.id, pos.get(n.id)!);
        continue;
      }
      let sum = 0;
      for (const m of ns) sum += pos.get(m) ?? 0;
      bc.set(n.id, sum / ns.length);
    }
    layer.sort((a, b) => bc.get(a.id)! - bc.get(b.id)! || (a.id < b.id ? -1 : 1));
    place(layer);
  };
  for (let s = 0; s < SWEEPS; s++) {
    if (s % 2 === 0) for (let l = 1; l < byLayer.length; l++) sweep(byLayer[l], preds);
    else for (let l = byLayer.length - 2; l >= 0; l--) sweep(byLayer[l], succs);
  }
}
