import { useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { ApiError, gql } from '../api';
import { ErrorBox, KindBadge } from '../components';
import { KINDS, kindLabel } from '../kinds';
import { navigate, nodeHref } from '../router';
import { useQuery } from '../hooks';

interface Hit {
  id: string;
  kind: string;
  name: string;
}

interface SearchAnswer {
  search: {
    totalCount: number;
    edges: { cursor: string; node: Hit }[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
}

const SEARCH = `query Search($text: String!, $first: Int, $after: String) {
  search(text: $text, first: $first, after: $after) {
    totalCount
    edges { cursor node { id kind name } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const OVERVIEW = `query Overview {
  endpoints(first: 10) { totalCount edges { node { id kind name } } }
  registeredModels(first: 10) { totalCount edges { node { id kind name } } }
}`;

interface OverviewAnswer {
  endpoints: { totalCount: number; edges: { node: Hit }[] };
  registeredModels: { totalCount: number; edges: { node: Hit }[] };
}

/** The home page: one box that finds anything by ID, name, URI, tag or description. */
export function SearchPage({ initial }: { initial: string }) {
  const [text, setText] = useState(initial);
  const [hits, setHits] = useState<Hit[]>([]);
  // The text the hits answer: Enter opens a hit only once they answer what is typed.
  const [answered, setAnswered] = useState('');
  const [total, setTotal] = useState(0);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [active, setActive] = useState(0);
  const input = useRef<HTMLInputElement>(null);

  useEffect(() => {
    const q = text.trim();
    history.replaceState(null, '', q ? `#/?q=${encodeURIComponent(q)}` : '#/');
    if (q === '') {
      setHits([]);
      setError(null);
      return;
    }
    const ctl = new AbortController();
    const timer = setTimeout(() => {
      setBusy(true);
      gql<SearchAnswer>(SEARCH, { text: q, first: 50 }, ctl.signal).then(
        (d) => {
          setHits(d.search.edges.map((e) => e.node));
          setAnswered(q);
          setTotal(d.search.totalCount);
          setNext(d.search.pageInfo.hasNextPage ? d.search.pageInfo.endCursor : null);
          setError(null);
          setActive(0);
          setBusy(false);
        },
        (e: unknown) => {
          if (ctl.signal.aborted) return;
          setError(e instanceof ApiError ? e : new ApiError(String(e), 'INTERNAL'));
          setBusy(false);
        },
      );
    }, 150);
    return () => {
      clearTimeout(timer);
      ctl.abort();
    };
  }, [text]);

  async function more() {
    if (!next) return;
    const q = answered;
    try {
      const d = await gql<SearchAnswer>(SEARCH, { text: q, first: 50, after: next });
      if (q !== text.trim()) return;
      setHits((h) => {
        const seen = new Set(h.map((x) => x.id));
        return [...h, ...d.search.edges.map((e) => e.node).filter((x) => !seen.has(x.id))];
      });
      setNext(d.search.pageInfo.hasNextPage ? d.search.pageInfo.endCursor : null);
    } catch (e) {
      setError(e instanceof ApiError ? e : new ApiError(String(e), 'INTERNAL'));
    }
  }

  // Results grouped by kind; the keyboard walks them in the order shown.
  const groups = useMemo(() => {
    const by = new Map<string, Hit[]>();
    for (const h of hits) by.set(h.kind, [...(by.get(h.kind) ?? []), h]);
    return KINDS.filter((k) => by.has(k)).map((k) => ({ kind: k, hits: by.get(k)! }));
  }, [hits]);
  const ordered = useMemo(() => groups.flatMap((g) => g.hits), [groups]);

  function onKey(e: KeyboardEvent) {
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      setActive((a) => Math.min(a + 1, ordered.length - 1));
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      setActive((a) => Math.max(a - 1, 0));
    } else if (e.key === 'Enter' && answered === text.trim() && ordered[active]) {
      e.preventDefault();
      navigate(nodeHref(ordered[active].id));
    } else if (e.key === 'Escape') {
      setText('');
    }
  }

  return (
    <main className="page search">
      <div className="searchbox">
        <input
          ref={input}
          type="search"
          aria-label="Search"
          placeholder="Search endpoints, models, datasets, jobs, runs — by name, ID, URI or tag"
          autoFocus
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={onKey}
        />
        <p className="muted small">↑ ↓ to choose, Enter to open, Esc to clear</p>
      </div>
      {error && <ErrorBox error={error} />}
      {text.trim() === '' ? (
        <Overview />
      ) : (
        <section aria-live="polite" className="results">
          <p className="muted">{busy ? 'Searching…' : `${total} result${total === 1 ? '' : 's'}`}</p>
          {groups.map((g) => (
            <section key={g.kind} className="group">
              <h2>{kindLabel(g.kind, true)}</h2>
              <ul>
                {g.hits.map((h) => {
                  const i = ordered.indexOf(h);
                  return (
                    <li key={h.id} className={i === active ? 'active' : undefined} onMouseEnter={() => setActive(i)}>
                      <a href={nodeHref(h.id)}>
                        <span className="name">{h.name || h.id}</span>
                        <span className="id">{h.id}</span>
                      </a>
                    </li>
                  );
                })}
              </ul>
            </section>
          ))}
          {next && (
            <button type="button" onClick={more}>
              More results
            </button>
          )}
        </section>
      )}
    </main>
  );
}

function Overview() {
  const r = useQuery<OverviewAnswer>(OVERVIEW, {});
  if (r.state !== 'done') return r.state === 'error' ? <ErrorBox error={r.error} /> : null;
  const list = (title: string, c: { totalCount: number; edges: { node: Hit }[] }) => (
    <section className="group">
      <h2>
        {title} <span className="muted">({c.totalCount})</span>
      </h2>
      {c.edges.length === 0 ? (
        <p className="muted">None recorded yet.</p>
      ) : (
        <ul>
          {c.edges.map(({ node }) => (
            <li key={node.id}>
              <a href={nodeHref(node.id)}>
                <KindBadge kind={node.kind} /> <span className="name">{node.name}</span>
                <span className="id">{node.id}</span>
              </a>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
  return (
    <div className="overview">
      {list('Endpoints', r.data.endpoints)}
      {list('Registered models', r.data.registeredModels)}
    </div>
  );
}
