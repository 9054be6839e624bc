import { useState, type FormEvent } from 'react';
import { ApiError, gql } from '../api';
import { signIn, signOut } from '../session';

/**
 * The sign-in screen: a provgraph API token (or an OIDC access token), checked against
 * the API and kept for the tab. `make run` prints a link that signs in with the local
 * admin token in one click (`/#token=…`).
 */
export function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function submit(e: FormEvent) {
    e.preventDefault();
    if (token.trim() === '') {
      setError('Enter a token.');
      return;
    }
    setBusy(true);
    setError(null);
    signIn(token);
    try {
      await gql<{ viewer: { actor: string } }>('query SignIn { viewer { actor role } }');
      onSignedIn();
    } catch (err) {
      signOut();
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }
  return (
    <main className="signin">
      <form onSubmit={submit} aria-label="Sign in">
        <h1>provgraph</h1>
        <p>Experiment tracking and model lineage. Sign in with an API token.</p>
        <label>
          Token
          <input
            type="password"
            name="token"
            autoComplete="off"
            autoFocus
            placeholder="pgt_…"
            value={token}
            onChange={(e) => setToken(e.target.value)}
          />
        </label>
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
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
