import { Component, StrictMode, useEffect, useState, type ReactNode } from 'react';
import { createRoot } from 'react-dom/client';
import './style.css';
import { SIGNED_OUT, currentToken, signOut, takeTokenFromFragment } from './session';
import { pageKey, useRoute, type Route } from './router';
import { oidcConfig, takeSignInAnswer } from './oidc';
import { SignIn } from './pages/SignIn';
import { SearchPage } from './pages/Search';
import { NodePage } from './pages/Node';
import { AuditPage } from './pages/Audit';
import { RunPage } from './pages/Run';
import { ComparePage } from './pages/Compare';
import { ExperimentPage } from './pages/Experiment';

takeTokenFromFragment();

// The console's OIDC sign-in, when the server configures one, and the issuer's answer
// to a sign-in this tab started (`/?code=…&state=…`), taken out of the address at once.
const oidc = oidcConfig();
const oidcAnswer = oidc ? takeSignInAnswer(oidc) : null;
// A code from the issuer is a new sign-in, even in a tab that holds a token; a tab that
// holds one stays signed in past an answer that was refused (a foreign link's).
const signedInAtStart = currentToken() !== null && !(oidcAnswer && 'code' in oidcAnswer);

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'search':
      return <SearchPage initial={route.q} />;
    case 'node':
      return route.id.startsWith('run:') ? <RunPage id={route.id} /> : <NodePage id={route.id} view={route.view} />;
    case 'audit':
      return <AuditPage id={route.id} at={route.at} />;
    case 'run':
      return <RunPage id={route.id} />;
    case 'experiment':
      return <ExperimentPage id={route.id} />;
    case 'compare':
      return <ComparePage ids={route.ids} />;
    case 'notfound':
      return (
        <main className="page">
          <h1>Not found</h1>
          <p>
            No console page at <code>{route.path}</code>. <a href="#/">Search</a> instead.
          </p>
        </main>
      );
  }
}

/** Shows a page's failure as a message instead of a blank console. */
class Failsafe extends Component<{ children: ReactNode }, { error: Error | null }> {
  state = { error: null as Error | null };
  static getDerivedStateFromError(error: Error) {
    return { error };
  }
  render() {
    if (this.state.error) {
      return (
        <main className="page">
          <h1>This page failed</h1>
          <p className="error" role="alert">
            {this.state.error.message}
          </p>
          <p>
            <a href="#/">Search</a> instead.
          </p>
        </main>
      );
    }
    return this.props.children;
  }
}

function App() {
  const [signedIn, setSignedIn] = useState(signedInAtStart);
  const [answer, setAnswer] = useState(signedInAtStart ? null : oidcAnswer);
  const route = useRoute();
  useEffect(() => {
    const out = () => setSignedIn(false);
    window.addEventListener(SIGNED_OUT, out);
    return () => window.removeEventListener(SIGNED_OUT, out);
  }, []);
  if (!signedIn) {
    return <SignIn oidc={oidc} answer={answer} onAnswered={() => setAnswer(null)} onSignedIn={() => setSignedIn(true)} />;
  }
  return (
    <>
      <header className="topbar">
        <a className="brand" href="#/">
          provgraph
        </a>
        <nav>
          <a href="#/">Search</a>
          <a href="/graphiql">GraphiQL</a>
          <button type="button" className="link" onClick={signOut}>
            Sign out
          </button>
        </nav>
      </header>
      <Failsafe key={pageKey(route)}>
        <Page route={route} />
      </Failsafe>
    </>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
