// Hash routes, so that every page is served by the one index.html and the links the
// stock MLflow client prints (`<tracking URI>/#/experiments/<id>/runs/<id>`) open here.

import { useEffect, useState } from 'react';

export type Route =
  | { page: 'search'; q: string }
  | { page: 'node'; id: string; view: LineageView }
  | { page: 'audit'; id: string; at: string | null }
  | { page: 'run'; id: string }
  | { page: 'experiment'; id: string }
  | { page: 'compare'; ids: string[] }
  | { page: 'notfound'; path: string };

/** A lineage picture's settings, kept in the node page's address so a view can be shared. */
export interface LineageView {
  direction?: 'UPSTREAM' | 'DOWNSTREAM' | 'BOTH';
  depth?: number;
  asOf?: string;
}

function lineageView(params: URLSearchParams): LineageView {
  const v: LineageView = {};
  const d = params.get('direction');
  if (d === 'UPSTREAM' || d === 'DOWNSTREAM' || d === 'BOTH') v.direction = d;
  const depth = Number(params.get('depth'));
  if (params.has('depth') && Number.isInteger(depth) && depth >= 0 && depth <= 50) v.depth = depth;
  const asOf = params.get('asOf');
  if (asOf && !Number.isNaN(Date.parse(asOf))) v.asOf = new Date(asOf).toISOString();
  return v;
}

/** The node page's address with a lineage view. */
export function nodeViewHref(id: string, v: LineageView): string {
  const p = new URLSearchParams();
  if (v.direction && v.direction !== 'UPSTREAM') p.set('direction', v.direction);
  if (v.depth !== undefined && v.depth !== 10) p.set('depth', String(v.depth));
  if (v.asOf) p.set('asOf', v.asOf);
  const q = p.toString();
  return nodeHref(id) + (q ? `?${q}` : '');
}

export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#/, '') || '/';
  const [path, query = ''] = raw.split('?', 2);
  const params = new URLSearchParams(query);
  let parts: string[];
  try {
    parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    return { page: 'notfound', path }; // a stray '%'
  }
  switch (parts[0]) {
    case undefined:
      return { page: 'search', q: params.get('q') ?? '' };
    case 'node':
      if (parts.length === 2) return { page: 'node', id: parts[1], view: lineageView(params) };
      break;
    case 'audit':
      if (parts.length === 2) {
        const at = params.get('at');
        return { page: 'audit', id: parts[1], at: at && !Number.isNaN(Date.parse(at)) ? new Date(at).toISOString() : null };
      }
      break;
    case 'compare':
      return { page: 'compare', ids: (params.get('runs') ?? '').split(',').filter(Boolean) };
    case 'experiments':
      // MLflow's links: #/experiments/<experiment id>[/runs/<run id>]
      if (parts.length === 4 && parts[2] === 'runs') return { page: 'run', id: `run:${parts[3]}` };
      if (parts.length === 2) return { page: 'experiment', id: `experiment:${parts[1]}` };
      break;
  }
  return { page: 'notfound', path };
}

/**
 * What identifies a page for remounting: a node's or an audit view's page stays
 * mounted while only its view or instant changes in the address.
 */
export function pageKey(r: Route): string {
  if (r.page === 'node' || r.page === 'audit') return `${r.page}:${r.id}`;
  return JSON.stringify(r);
}

/** The href of a node's page (a run's is its run page). */
export function nodeHref(id: string): string {
  return `#/node/${encodeURIComponent(id)}`;
}

export function auditHref(id: string, at?: string | null): string {
  return `#/audit/${encodeURIComponent(id)}` + (at ? `?at=${encodeURIComponent(at)}` : '');
}

export function compareHref(ids: string[]): string {
  return `#/compare?runs=${ids.map(encodeURIComponent).join(',')}`;
}

export function navigate(href: string): void {
  window.location.hash = href.replace(/^#/, '');
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}
