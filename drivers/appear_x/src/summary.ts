/**
 * Headline numbers from an Appear X gateway `stats` snapshot (PROTOCOL.md §12.4). The
 * snapshot is opaque and large (per-slot maps, alarms, chassis data) and has no flows[], so
 * this reads only what it can recognise and never throws.
 */
import type { DeviceSummary } from '@bilbycast/driver-sdk';
import { chassisAlarmSeverity } from './health';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** Entries in an array, or in a per-slot map of arrays (`{"1": [...], "2": [...]}`). */
function countEntries(value: unknown): number | undefined {
  if (Array.isArray(value)) return value.length;
  if (!isRecord(value)) return undefined;
  let total = 0;
  let seen = false;
  for (const perSlot of Object.values(value)) {
    if (Array.isArray(perSlot)) {
      total += perSlot.length;
      seen = true;
    }
  }
  return seen ? total : undefined;
}

export function summarizeAppearXStats(input: unknown): DeviceSummary {
  const summary: DeviceSummary = { metrics: {} };
  const stats = isRecord(input) && input.type === 'stats' && isRecord(input.payload) ? input.payload : input;
  if (!isRecord(stats)) return summary;

  const uptime = num(stats.uptime_secs);
  if (uptime !== undefined) summary.uptime_secs = uptime;
  const chassisUptime = num(stats.chassis_uptime_secs);
  if (chassisUptime !== undefined) summary.metrics.chassis_uptime_secs = chassisUptime;

  if (Array.isArray(stats.alarms)) {
    const counts = { alarms_active: stats.alarms.length, alarms_critical: 0, alarms_warning: 0 };
    for (const alarm of stats.alarms) {
      const level = chassisAlarmSeverity(alarm);
      if (level === 'critical') counts.alarms_critical += 1;
      else if (level === 'warning') counts.alarms_warning += 1;
    }
    Object.assign(summary.metrics, counts);
  }

  if (Array.isArray(stats.slots)) summary.metrics.slots = stats.slots.length;
  else if (isRecord(stats.slots)) summary.metrics.slots = Object.keys(stats.slots).length;

  for (const key of ['inputs', 'outputs', 'coder_services', 'ip_connections', 'input_services', 'output_services'] as const) {
    const count = countEntries(stats[key]);
    if (count !== undefined) summary.metrics[key] = count;
  }

  // A gateway that follows the SDK flows[] convention still gets flow counts.
  const flows = Array.isArray(stats.flows) ? stats.flows : undefined;
  const flowsTotal = num(stats.total_flows) ?? flows?.length;
  const flowsActive = num(stats.active_flows);
  if (flowsTotal !== undefined) summary.flows_total = flowsTotal;
  if (flowsActive !== undefined) summary.flows_active = flowsActive;
  const bitrate = num(stats.total_bitrate_bps) ?? num(stats.bitrate_bps);
  if (bitrate !== undefined) summary.bitrate_bps = bitrate;

  return summary;
}
