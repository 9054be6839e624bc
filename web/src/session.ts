// The signed-in token, kept for the tab (sessionStorage): the console and GraphiQL read
// it from here, so one sign-in serves both and a reload does not sign out.

const KEY = 'provgraph.token';

/** The token of this tab, or null before sign-in. */
export function currentToken(): string | null {
  return sessionStorage.getItem(KEY);
}

export function signIn(token: string): void {
  sessionStorage.setItem(KEY, token.trim());
}

export function signOut(): void {
  sessionStorage.removeItem(KEY);
  window.dispatchEvent(new Event(SIGNED_OUT));
}

/** Fired when the token is dropped: by the user, or because the API refused it. */
export const SIGNED_OUT = 'provgraph:signed-out';

/**
 * Takes a token handed over in the URL fragment (`#token=pgt_…`, the link `make run`
 * prints), keeps it, and removes it from the address bar and the tab's history at once.
 * The fragment never reaches the server, so the token is in no request line or log.
 *
 * SECURITY: a tab that is signed in keeps its token; a link cannot switch it to another
 * identity (sign out first). It returns true when the tab holds the link's token.
 */
export function takeTokenFromFragment(): boolean {
  const hash = window.location.hash;
  if (!hash.startsWith('#token=')) return false;
  history.replaceState(null, '', window.location.pathname + '#/');
  let token: string;
  try {
    token = decodeURIComponent(hash.slice('#token='.length)).trim();
  } catch {
    return false; // a malformed link: ignore it
  }
  if (token === '') return false;
  const held = currentToken();
  if (held !== null) return held === token;
  signIn(token);
  return true;
}
