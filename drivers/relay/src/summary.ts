/**
 * Headline numbers from a relay `stats` payload (PROTOCOL.md §12.3). Device payloads arrive
 * as sent: every field is read defensively and anything that is not a finite, non-negative
 * number is left out.
 */
import type { DeviceSummary } from '@bilbycast/driver-sdk';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** Top-level numeric fields charted as metrics, under the same names. */
const METRIC_FIELDS = [
  'connected_edges',
  'active_tunnels',
  'total_tunnels',
  'total_bytes_ingress',
  'total_bytes_egress',
  'total_bytes_forwarded',
  'total_bandwidth_bps',
  'total_tcp_streams',
  'active_tcp_streams',
  'total_udp_datagrams',
  'peak_tunnels',
  'peak_edges',
  'connections_total',
  'udp_sessions_total',
  'udp_sessions_active'
] as const;

/** Fields of the optional viewer-distribution block, charted as `distribution_<name>`. */
const DISTRIBUTION_FIELDS = ['streams', 'viewers', 'bytes_out', 'origin_bytes', 'offpath_sessions'] as const;

export function summarizeRelayStats(input: unknown): DeviceSummary {
  const summary: DeviceSummary = { metrics: {} };
  // Accept the payload or, defensively, the whole `{type:"stats", payload}` envelope.
  const stats = isRecord(input) && input.type === 'stats' && isRecord(input.payload) ? input.payload : input;
  if (!isRecord(stats)) return summary;

  const tunnels = Array.isArray(stats.tunnels) ? stats.tunnels : undefined;
  const edges = Array.isArray(stats.edges) ? stats.edges : undefined;

  const activeFromList = tunnels?.filter((t) => isRecord(t) && t.status === 'active').length;
  const tunnelsActive = num(stats.active_tunnels) ?? activeFromList;
  const tunnelsTotal = num(stats.total_tunnels) ?? tunnels?.length;
  if (tunnelsActive !== undefined) summary.tunnels_active = tunnelsActive;
  if (tunnelsTotal !== undefined) summary.tunnels_total = tunnelsTotal;

  const bitrate = num(stats.total_bandwidth_bps);
  if (bitrate !== undefined) summary.bitrate_bps = bitrate;
  const uptime = num(stats.uptime_secs);
  if (uptime !== undefined) summary.uptime_secs = uptime;

  for (const field of METRIC_FIELDS) {
    const value = num(stats[field]);
    if (value !== undefined) summary.metrics[field] = value;
  }
  if (summary.metrics.connected_edges === undefined && edges) summary.metrics.connected_edges = edges.length;
  if (summary.metrics.active_tunnels === undefined && tunnelsActive !== undefined) summary.metrics.active_tunnels = tunnelsActive;
  if (summary.metrics.total_tunnels === undefined && tunnelsTotal !== undefined) summary.metrics.total_tunnels = tunnelsTotal;

  if (isRecord(stats.distribution)) {
    for (const field of DISTRIBUTION_FIELDS) {
      const value = num(stats.distribution[field]);
      if (value !== undefined) summary.metrics[`distribution_${field}`] = value;
    }
  }
  return summary;
}
