import type { DeviceSummary, Node } from '../../api/types';

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
  stats: any;
  stats_at: string | null;
  summary: DeviceSummary | null;
  health: any;
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
