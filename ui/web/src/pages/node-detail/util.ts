import type { CommandInfo, DeviceStats, Role } from '../../api/types';
import type { FlowStats } from './types';

/** The role a command needs: operator is the floor for any command, a driver may ask for admin. */
export function commandRole(command: CommandInfo): Role {
  return command.requires_role === 'admin' || command.name === 'rotate_secret' ? 'admin' : 'operator';
}

/** The flows (with a flow id) of stats that list flows (edges and gateways); null for stats without a flow list. */
export function flowsOf(stats: DeviceStats | null): FlowStats[] | null {
  if (!stats || !Array.isArray(stats.flows)) return null;
  return (stats.flows as unknown[]).filter((f): f is FlowStats => typeof f === 'object' && f !== null && 'flow_id' in f && typeof f.flow_id === 'string');
}

/** A list of objects a device reports (tunnels, edges, alarms…); none when it is not a list. */
export function rowsOf(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? (value as Record<string, unknown>[]) : [];
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
  return typeof value === 'string' ? value : JSON.stringify(value);
}
