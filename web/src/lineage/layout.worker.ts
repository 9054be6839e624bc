// Lays out lineage pictures off the page's thread, so a large cone never freezes the tab.
import { layout, type GraphEdge, type GraphNode, type LayoutOptions } from './layout';

export interface LayoutRequest {
  seq: number;
  nodes: GraphNode[];
  edges: GraphEdge[];
  opts: LayoutOptions;
}

const ctx = self as unknown as {
  onmessage: ((e: MessageEvent<LayoutRequest>) => void) | null;
  postMessage: (m: unknown) => void;
};

ctx.onmessage = (e) => {
  const { seq, nodes, edges, opts } = e.data;
  ctx.postMessage({ seq, layout: layout(nodes, edges, opts) });
};
