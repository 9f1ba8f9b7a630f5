import { useCallback, useEffect, useState } from 'react';
import { api } from '../api/client';

/** GETs `path` on mount; `reload()` fetches again, `error` is the last failure (cleared on success). */
export function useApiGet<T>(path: string) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const reload = useCallback(async () => {
    try {
      setData(await api.get<T>(path));
      setError(null);
    } catch (err) {
      setError(err);
    }
  }, [path]);
  useEffect(() => {
    void reload();
  }, [reload]);
  return { data, setData, error, reload };
}
