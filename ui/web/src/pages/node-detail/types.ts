import type { DeviceStats, DeviceSummary, Node } from '../../api/types';

export interface ThumbnailInfo {
  flow_id: string;
  input_id: string | null;
  width: number | null;
  height: number | null;
  at: string;
}

/** GET /api/v1/nodes/{id}: the node plus its live connection details (null while offline). */
export interface NodeRecord extends Node {
  connection: {
    auth_method: 'register_ack' | 'auth_ok';
    counters: Record<string, number>;
    thumbnails: ThumbnailInfo[];
  } | null;
}

/** GET /api/v1/nodes/{id}/stats. */
export interface StatsResponse {
  node_id: string;
  online: boolean;
  stats: DeviceStats | null;
  stats_at: string | null;
  summary: DeviceSummary | null;
  /** The node's last health message as it sent it. */
  health: unknown;
}

/** A flow as edges and gateways report it in `stats.flows[]` (fields vary by device). */
export interface FlowStats {
  flow_id: string;
  flow_name?: string;
  state?: string;
  health?: string;
  uptime_secs?: number;
  active_input_id?: string;
  input?: { input_type?: string; state?: string; mode?: string; local_addr?: string; bitrate_bps?: number } | null;
  outputs?: { output_id?: string; output_name?: string; output_type?: string; state?: string; bitrate_bps?: number }[];
}

export interface HistoryPoint {
  at: string;
  bitrate_bps?: number;
}

/** GET /api/v1/nodes/{id}/stats/history. */
export interface HistoryResponse {
  node_id: string;
  interval_secs: number;
  points: HistoryPoint[];
}

/** GET /api/v1/nodes/{id}/config. */
export interface ConfigResponse {
  node_id: string;
  config: unknown;
  fetched_at: string;
  cached: boolean;
}
