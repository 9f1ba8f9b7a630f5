import type { DeviceHealth, DeviceSummary } from '@bilbycast/driver-sdk';

export const NODE_STATUSES = ['pending', 'online', 'offline'] as const;
export type NodeStatus = (typeof NODE_STATUSES)[number];

/** A node as the API, the dashboard feed and other plugins see it. Never carries secrets. */
export interface NodeView {
  id: string;
  name: string;
  description: string | null;
  device_type: string;
  status: NodeStatus;
  health: DeviceHealth | null;
  software_version: string | null;
  protocol_version: number | null;
  capabilities: string[];
  last_seen_at: string | null;
  connected_at: string | null;
  remote_addr: string | null;
  expires_at: string | null;
  metadata: Record<string, unknown>;
  /** The driver's headline numbers from the latest stats (empty while offline). */
  summary: DeviceSummary | null;
  /** A registration token is outstanding (it is shown only once, when issued). */
  registration_pending: boolean;
  registration_expires_at: string | null;
  created_at: string;
  updated_at: string;
}

/** A `nodes` row as stored. */
export interface NodeRow {
  id: string;
  name: string;
  description: string | null;
  device_type: string;
  status: NodeStatus;
  health: DeviceHealth | null;
  registration_token_hash: string | null;
  registration_expires_at: string | null;
  secret_hash: string | null;
  previous_secret_hash: string | null;
  /** When the node last registered with a token (consumed it). */
  registered_at: string | null;
  software_version: string | null;
  protocol_version: number | null;
  capabilities: string | null;
  last_health: string | null;
  last_seen_at: string | null;
  connected_at: string | null;
  remote_addr: string | null;
  expires_at: string | null;
  metadata: string | null;
  created_at: string;
  updated_at: string;
}

export function toNodeView(row: NodeRow, live: { summary: DeviceSummary | null; last_seen_at?: string | null }): NodeView {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    device_type: row.device_type,
    status: row.status,
    health: row.health,
    software_version: row.software_version,
    protocol_version: row.protocol_version === null ? null : Number(row.protocol_version),
    capabilities: parseStringArray(row.capabilities),
    // The hub knows a fresher value than the batched column.
    last_seen_at: live.last_seen_at ?? row.last_seen_at,
    connected_at: row.connected_at,
    remote_addr: row.remote_addr,
    expires_at: row.expires_at,
    metadata: parseObject(row.metadata),
    summary: live.summary,
    registration_pending: row.registration_token_hash !== null,
    registration_expires_at: row.registration_token_hash !== null ? row.registration_expires_at : null,
    created_at: row.created_at,
    updated_at: row.updated_at
  };
}

function parseStringArray(value: string | null): string[] {
  try {
    const parsed: unknown = value ? JSON.parse(value) : [];
    return Array.isArray(parsed) ? parsed.filter((v): v is string => typeof v === 'string') : [];
  } catch {
    return [];
  }
}

function parseObject(value: string | null): Record<string, unknown> {
  try {
    const parsed: unknown = value ? JSON.parse(value) : {};
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
