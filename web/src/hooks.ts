import { useEffect, useState } from 'react';
import { ApiError, gql } from './api';

export type Loadable<T> = { state: 'loading' } | { state: 'error'; error: ApiError } | { state: 'done'; data: T };

/** Runs a query whenever its variables change; the older answer is dropped. */
export function useQuery<T>(query: string, variables: Record<string, unknown>, skip = false): Loadable<T> {
  const [result, setResult] = useState<Loadable<T>>({ state: 'loading' });
  const key = JSON.stringify(variables);
  useEffect(() => {
    if (skip) return;
    const ctl = new AbortController();
    setResult({ state: 'loading' });
    gql<T>(query, JSON.parse(key) as Record<string, unknown>, ctl.signal).then(
      (data) => setResult({ state: 'done', data }),
      (error: unknown) => {
        if (ctl.signal.aborted) return;
        setResult({ state: 'error', error: error instanceof ApiError ? error : new ApiError(String(error), 'INTERNAL') });
      },
    );
    return () => ctl.abort();
  }, [query, key, skip]);
  return result;
}
