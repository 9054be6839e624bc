// GraphiQL, served from the binary, with the token the console signed in with: no
// headers to paste, and the schema is introspected at once.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import 'graphiql/style.css';
import './graphiql.css';
import { currentToken, takeTokenFromFragment } from './session';

takeTokenFromFragment();

const token = currentToken();
if (!token) {
  // Sign in on the console first; its header links back here.
  window.location.replace('/#/');
}

async function fetcher(params: unknown, opts?: { headers?: Record<string, string> }) {
  const res = await fetch('/graphql', {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Accept: 'application/json',
      Authorization: `Bearer ${currentToken() ?? ''}`,
      ...(opts?.headers ?? {}),
    },
    body: JSON.stringify(params),
  });
  return res.json();
}

const DEFAULT_QUERY = `# provgraph's GraphQL API. Ctrl-Enter runs the query; the Docs pane describes every field.
query TraceEndpoint {
  lineage(start: ["endpoint:quickstart-fraud-prod"], direction: UPSTREAM) {
    nodes { id kind name }
    edges { from to type }
    truncated
  }
}
`;

if (token) {
  createRoot(document.getElementById('graphiql')!).render(
    <StrictMode>
      <GraphiQL fetcher={fetcher} defaultQuery={DEFAULT_QUERY}>
        <GraphiQL.Logo>
          <a href="/#/">provgraph</a>
        </GraphiQL.Logo>
      </GraphiQL>
    </StrictMode>,
  );
}
