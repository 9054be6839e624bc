// Signing in with the OIDC issuer: the Authorization Code flow with PKCE (S256), run in
// the browser as a public client (no secret). The server names the issuer, the client
// and the endpoints in a <meta name="provgraph-oidc"> of the page (when
// --oidc-console-client-id is set); nothing here is a private endpoint of provgraph.
//
// Start: a random code verifier and state are kept in the tab's sessionStorage, and the
// tab goes to the authorization endpoint with the verifier's SHA-256 (the challenge).
// Return (`/?code=…&state=…`): the code and state leave the address bar at once; the
// state must be the one this tab kept; the code and the verifier are exchanged at the
// token endpoint. Tokens are never logged and never put into an address.

/** The console's sign-in with the issuer, as the server describes it. */
export interface OidcConfig {
  issuer: string;
  clientId: string;
  scope: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
}

const META = 'provgraph-oidc';
/** The sign-in this tab started: state, verifier and the console page to return to. */
const PENDING = 'provgraph.oidc.pending';

interface Pending {
  state: string;
  verifier: string;
  returnTo: string;
}

/** The issuer's answer, taken from the address: a code to exchange, or why not. */
export type SignInAnswer = { code: string; verifier: string } | { error: string };

/** The configuration in the page, or null when the console signs in with tokens only. */
export function oidcConfig(): OidcConfig | null {
  const content = document.querySelector<HTMLMetaElement>(`meta[name="${META}"]`)?.content;
  if (!content) return null;
  try {
    const c = JSON.parse(content) as Partial<OidcConfig>;
    const fields = [c.issuer, c.clientId, c.scope, c.authorizationEndpoint, c.tokenEndpoint];
    if (!fields.every((f) => typeof f === 'string')) return null;
    if (!isHttpUrl(c.authorizationEndpoint!) || !isHttpUrl(c.tokenEndpoint!)) return null;
    return c as OidcConfig;
  } catch {
    return null;
  }
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
}

/** How the sign-in screen names the issuer: its host. */
export function issuerName(cfg: OidcConfig): string {
  try {
    return new URL(cfg.issuer).host || cfg.issuer;
  } catch {
    return cfg.issuer;
  }
}

/** The redirect URI registered for the console: this server's root. */
function redirectUri(): string {
  return `${window.location.origin}/`;
}

function base64url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** 32 random bytes, base64url: a code verifier (43 characters, RFC 7636) or a state. */
function randomValue(): string {
  const b = new Uint8Array(32);
  crypto.getRandomValues(b);
  return base64url(b);
}

/** Sends the tab to the issuer to sign in; it comes back to `/?code=…&state=…`. */
export async function startSignIn(cfg: OidcConfig): Promise<void> {
  if (!window.isSecureContext || !crypto.subtle) {
    throw new Error(
      `Signing in with ${issuerName(cfg)} needs the console served over HTTPS (or from localhost): the browser offers the cryptography it needs only there.`,
    );
  }
  const verifier = randomValue();
  const state = randomValue();
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  const challenge = base64url(new Uint8Array(digest));
  const hash = window.location.hash;
  const pending: Pending = { state, verifier, returnTo: hash.startsWith('#/') ? hash : '#/' };
  sessionStorage.setItem(PENDING, JSON.stringify(pending));
  // The endpoint may carry parameters of its own (a tenant, a policy): keep them.
  const url = new URL(cfg.authorizationEndpoint);
  const params: Record<string, string> = {
    response_type: 'code',
    client_id: cfg.clientId,
    redirect_uri: redirectUri(),
    scope: cfg.scope,
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  };
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  window.location.assign(url.toString());
}

/**
 * Takes the issuer's answer out of the address (`/?code=…&state=…` or `/?error=…`) and
 * the tab's history, and returns it with the kept verifier; null when the address holds
 * none. The tab returns to the console page it was on when the sign-in started (or, for
 * an answer it did not ask for, stays on the page the address names).
 */
export function takeSignInAnswer(cfg: OidcConfig): SignInAnswer | null {
  const q = new URLSearchParams(window.location.search);
  if (!q.has('code') && !q.has('error')) return null;
  const pending = readPending();
  sessionStorage.removeItem(PENDING);
  const here = window.location.hash.startsWith('#/') ? window.location.hash : '#/';
  history.replaceState(null, '', window.location.pathname + (pending?.returnTo ?? here));
  // SECURITY: only the answer to the sign-in this tab started is used. An answer with
  // another state (a link someone else made, to sign this tab in as them) is refused
  // before anything in it — its code, or its error text — is used or shown.
  if (!pending || q.get('state') !== pending.state) {
    return {
      error:
        'This sign-in answer does not belong to a sign-in started in this tab (its state does not match), so it was not used. Sign in again.',
    };
  }
  const error = q.get('error');
  if (error !== null) {
    const description = q.get('error_description');
    return { error: `${issuerName(cfg)} did not sign you in: ${error}${description ? ` (${description})` : ''}.` };
  }
  const code = q.get('code');
  if (!code) return { error: `${issuerName(cfg)} sent no authorization code. Sign in again.` };
  return { code, verifier: pending.verifier };
}

function readPending(): Pending | null {
  try {
    const p = JSON.parse(sessionStorage.getItem(PENDING) ?? 'null') as Partial<Pending> | null;
    if (p && typeof p.state === 'string' && typeof p.verifier === 'string' && typeof p.returnTo === 'string' && p.returnTo.startsWith('#/')) {
      return p as Pending;
    }
  } catch {
    /* not ours: no pending sign-in */
  }
  return null;
}

/**
 * Exchanges the code for tokens at the token endpoint and returns the ones that could
 * be provgraph's bearer token, in the order to try them: the access token (the token
 * meant for an API), then the ID token (for issuers whose access tokens are not JWTs or
 * not made for provgraph's audience; see docs/security.md).
 */
export async function exchangeCode(cfg: OidcConfig, code: string, verifier: string): Promise<string[]> {
  const name = issuerName(cfg);
  let res: Response;
  try {
    res = await fetch(cfg.tokenEndpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: redirectUri(),
        client_id: cfg.clientId,
        code_verifier: verifier,
      }),
      credentials: 'omit',
      cache: 'no-store',
      referrerPolicy: 'no-referrer',
    });
  } catch {
    throw new Error(
      `${name}'s token endpoint does not answer, or does not let this page call it: it must allow requests from ${window.location.origin} (CORS).`,
    );
  }
  let body: { access_token?: unknown; id_token?: unknown; error?: unknown; error_description?: unknown } = {};
  try {
    body = await res.json();
  } catch {
    /* not JSON: reported below by status */
  }
  if (!res.ok) {
    const error = typeof body.error === 'string' ? body.error : `HTTP ${res.status}`;
    const description = typeof body.error_description === 'string' ? ` (${body.error_description})` : '';
    throw new Error(`${name} refused to hand out a token: ${error}${description}.`);
  }
  const tokens = [body.access_token, body.id_token].filter((t): t is string => typeof t === 'string' && t !== '');
  if (tokens.length === 0) throw new Error(`${name} answered without a token.`);
  return [...new Set(tokens)];
}
