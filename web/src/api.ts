// The one way the console talks to provgraph: the public GraphQL API (and the evidence
// download), with the tab's token. No private endpoints.

import { currentToken, signOut } from './session';

/** An error answer of the API, with its `extensions.code` (UNAUTHENTICATED, NOT_FOUND, …). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

interface GraphQLResponse<T> {
  data?: T;
  errors?: { message: string; extensions?: { code?: string } }[];
}

function authHeaders(): Record<string, string> {
  const token = currentToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** Runs a GraphQL operation; any error in the answer is thrown as an ApiError. */
export async function gql<T>(query: string, variables: Record<string, unknown> = {}, signal?: AbortSignal): Promise<T> {
  let res: Response;
  try {
    res = await fetch('/graphql', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...authHeaders() },
      body: JSON.stringify({ query, variables }),
      signal,
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError('provgraph does not answer: is the service running?', 'UNAVAILABLE');
  }
  let body: GraphQLResponse<T>;
  try {
    body = (await res.json()) as GraphQLResponse<T>;
  } catch {
    throw new ApiError(`unexpected answer from the server (HTTP ${res.status})`, 'INTERNAL');
  }
  const first = body.errors?.[0];
  if (first) {
    const code = first.extensions?.code ?? 'INTERNAL';
    if (code === 'UNAUTHENTICATED') signOut();
    throw new ApiError(first.message, code);
  }
  if (!body.data) throw new ApiError(`empty answer from the server (HTTP ${res.status})`, 'INTERNAL');
  return body.data;
}

/** Downloads the evidence package of an endpoint or model version at an instant. */
export async function downloadEvidence(node: string, at: string): Promise<void> {
  const params = new URLSearchParams({ node, at });
  const res = await fetch(`/api/v1/evidence?${params}`, { headers: authHeaders() });
  if (!res.ok) {
    let message = `HTTP ${res.status}`;
    let code = 'INTERNAL';
    try {
      const body = (await res.json()) as { error?: string; code?: string };
      message = body.error ?? message;
      code = body.code ?? code;
    } catch {
      /* not JSON: keep the status */
    }
    if (res.status === 401) signOut();
    throw new ApiError(message, code);
  }
  const blob = await res.blob();
  const name = /filename="([^"]+)"/.exec(res.headers.get('Content-Disposition') ?? '')?.[1] ?? 'evidence.zip';
  saveBlob(blob, name);
}

/** Offers a blob as a file download. */
export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
