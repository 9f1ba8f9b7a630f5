import { useEffect, useState } from 'react';

/** The longest delay setTimeout takes (a longer one would fire at once). */
const MAX_TIMEOUT_MS = 2_147_483_647;

/** The current time, refreshed every `intervalMs` (for "5s ago" labels). */
export function useNow(intervalMs = 5000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), intervalMs);
    return () => window.clearInterval(timer);
  }, [intervalMs]);
  return now;
}

/**
 * The current time, refreshed exactly when each of `instants` (ms since the epoch) passes: for
 * marks that change at known moments, such as "expired", without polling.
 */
export function useNowAt(instants: readonly number[]): number {
  const [now, setNow] = useState(() => Date.now());
  const next = Math.min(...instants.filter((instant) => instant > now));
  useEffect(() => {
    if (!Number.isFinite(next)) return;
    const timer = window.setTimeout(() => setNow(Date.now()), Math.min(next - Date.now() + 1, MAX_TIMEOUT_MS));
    return () => window.clearTimeout(timer);
  }, [next, now]);
  return now;
}
