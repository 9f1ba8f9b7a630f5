import { useEffect, useState } from 'react';
import type { CommandInfo, Role } from '../../api/types';

/** The role a command needs: operator is the floor for any command, a driver may ask for admin. */
export function commandRole(command: CommandInfo): Role {
  return command.requires_role === 'admin' || command.name === 'rotate_secret' ? 'admin' : 'operator';
}

/** "connected_edges" → "Connected edges". */
export function humanize(key: string): string {
  const words = key.replace(/_/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A scalar as text for tables of device-reported data. */
export function scalar(value: unknown): string {
  if (value === null || value === undefined || value === '') return '—';
  if (typeof value === 'number') return Number.isInteger(value) ? value.toLocaleString() : value.toFixed(2);
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** The current time, refreshed every `intervalMs` (for "5s ago" labels). */
export function useNow(intervalMs = 5000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), intervalMs);
    return () => window.clearInterval(timer);
  }, [intervalMs]);
  return now;
}
