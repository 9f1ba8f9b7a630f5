import { useCallback, useEffect, useState } from 'react';
import { api } from '../api/client';

/** GETs `path` on mount; `reload()` fetches again, `error` is the last failure (cleared on success). */
export function useApiGet<T>(path: string) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const reload = useCallback(
    () =>
      api.get<T>(path).then(
        (value) => {
          setData(value);
          setError(null);
        },
        (err: unknown) => setError(err)
      ),
    [path]
  );
  useEffect(() => {
    void reload();
  }, [reload]);
  return { data, setData, error, reload };
}
