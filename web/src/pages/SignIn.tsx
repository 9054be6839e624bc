import { useEffect, useRef, useState, type FormEvent } from 'react';
import { ApiError, gql } from '../api';
import { signIn, signOut } from '../session';
import { exchangeCode, issuerName, startSignIn, type OidcConfig, type SignInAnswer } from '../oidc';

const CHECK = 'query SignIn { viewer { actor role } }';

/**
 * Keeps the first of tokens the API accepts for the tab. When it accepts none, the
 * refusal that says most is thrown: a valid token without a role (FORBIDDEN) over one
 * that is not valid.
 */
async function keepAccepted(tokens: string[]): Promise<void> {
  const refusals: ApiError[] = [];
  for (const token of tokens) {
    signIn(token);
    try {
      await gql<{ viewer: { actor: string } }>(CHECK);
      return;
    } catch (err) {
      signOut();
      if (!(err instanceof ApiError) || (err.code !== 'UNAUTHENTICATED' && err.code !== 'FORBIDDEN')) throw err;
      refusals.push(err);
    }
  }
  throw refusals.find((e) => e.code === 'FORBIDDEN') ?? refusals[0] ?? new Error('no token to sign in with');
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The sign-in screen: a provgraph API token (or an OIDC access token), checked against
 * the API and kept for the tab. `make run` prints a link that signs in with the local
 * admin token in one click (`/#token=…`). When the server configures the console's OIDC
 * sign-in, "Sign in with <issuer>" starts it, and the issuer's answer (`answer`, taken
 * from the address on return) is completed here.
 */
export function SignIn({
  onSignedIn,
  oidc,
  answer,
  onAnswered,
}: {
  onSignedIn: () => void;
  oidc: OidcConfig | null;
  answer: SignInAnswer | null;
  onAnswered: () => void;
}) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<'token' | 'redirect' | 'answer' | null>(answer && 'code' in answer ? 'answer' : null);
  const handled = useRef(false);

  useEffect(() => {
    if (!answer || !oidc || handled.current) return;
    handled.current = true;
    if ('error' in answer) {
      setError(answer.error);
      onAnswered();
      return;
    }
    (async () => {
      try {
        await keepAccepted(await exchangeCode(oidc, answer.code, answer.verifier));
        onSignedIn();
      } catch (err) {
        setError(message(err));
      } finally {
        setBusy(null);
        onAnswered();
      }
    })();
  }, [answer, oidc, onAnswered, onSignedIn]);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (token.trim() === '') {
      setError('Enter a token.');
      return;
    }
    setBusy('token');
    setError(null);
    try {
      await keepAccepted([token.trim()]);
      onSignedIn();
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(null);
    }
  }

  async function withIssuer() {
    if (!oidc) return;
    setBusy('redirect');
    setError(null);
    try {
      await startSignIn(oidc);
    } catch (err) {
      setError(message(err));
      setBusy(null);
    }
  }

  const issuer = oidc ? issuerName(oidc) : null;
  return (
    <main className="signin">
      <form onSubmit={submit} aria-label="Sign in">
        <h1>provgraph</h1>
        <p>
          Experiment tracking and model lineage.{' '}
          {issuer ? `Sign in with ${issuer}, or with an API token.` : 'Sign in with an API token.'}
        </p>
        {issuer && (
          <>
            <button type="button" className="oidc" onClick={withIssuer} disabled={busy !== null}>
              {busy === 'redirect' ? `Going to ${issuer}…` : busy === 'answer' ? 'Signing in…' : `Sign in with ${issuer}`}
            </button>
            <p className="or">or with an API token</p>
          </>
        )}
        <label>
          Token
          <input
            type="password"
            name="token"
            autoComplete="off"
            autoFocus={!issuer}
            placeholder="pgt_…"
            value={token}
            onChange={(e) => setToken(e.target.value)}
          />
        </label>
        <button type="submit" disabled={busy !== null}>
          {busy === 'token' ? 'Signing in…' : issuer ? 'Sign in with token' : 'Sign in'}
        </button>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <p className="hint">
          <code>make run</code> prints a link that signs in with the local admin token. Create tokens with{' '}
          <code>provgraph token create --name &lt;name&gt; --role reader</code>. The token is kept for this tab only.
        </p>
      </form>
    </main>
  );
}
