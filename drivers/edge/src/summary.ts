/** Headline numbers from an edge `stats` payload (PROTOCOL.md §12.2). Never throws. */
import type { DeviceSummary } from '@bilbycast/driver-sdk';

type Obj = Record<string, unknown>;

function obj(value: unknown): Obj | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Obj) : undefined;
}

function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
}

function list(value: unknown): Obj[] {
  return Array.isArray(value) ? value.map(obj).filter((v): v is Obj => v !== undefined) : [];
}

/**
 * flows_active = flows in state Running; flows_total = flows listed; tunnels_active = tunnels
 * in state ready; bitrate_bps = Σ flow input bitrate + Σ per tunnel max(in, out).
 *
 * The 1 s fallback sample carries `flows: []` with `active_flows`/`total_flows` counts, so
 * when `flows[]` is empty the payload's own counters are used instead.
 */
export function summarize(stats: unknown): DeviceSummary {
  const metrics: Record<string, number> = {};
  const payload = obj(stats);
  if (!payload) return { metrics };
  const flows = list(payload.flows);
  const tunnels = list(payload.tunnels);

  let flowsActive = 0;
  let bitrate = 0;
  for (const flow of flows) {
    if (typeof flow.state === 'string' && flow.state.toLowerCase() === 'running') flowsActive += 1;
    bitrate += num(obj(flow.input)?.bitrate_bps);
  }
  let tunnelsActive = 0;
  for (const tunnel of tunnels) {
    if (tunnel.state === 'ready') tunnelsActive += 1;
    const t = obj(tunnel.stats);
    bitrate += Math.max(num(t?.bitrate_in_bps), num(t?.bitrate_out_bps));
  }

  const summary: DeviceSummary = { metrics };
  if (Array.isArray(payload.flows)) {
    if (flows.length > 0) {
      summary.flows_active = flowsActive;
      summary.flows_total = flows.length;
    } else {
      summary.flows_active = num(payload.active_flows);
      summary.flows_total = Math.max(num(payload.total_flows), summary.flows_active);
    }
  }
  if (Array.isArray(payload.tunnels)) {
    summary.tunnels_active = tunnelsActive;
    summary.tunnels_total = tunnels.length;
  }
  if (Array.isArray(payload.flows) || Array.isArray(payload.tunnels)) summary.bitrate_bps = bitrate;
  if (typeof payload.uptime_secs === 'number' && Number.isFinite(payload.uptime_secs)) summary.uptime_secs = num(payload.uptime_secs);

  const resources = obj(payload.system_resources);
  if (resources) {
    for (const key of ['cpu_percent', 'ram_percent'] as const) {
      if (typeof resources[key] === 'number' && Number.isFinite(resources[key])) metrics[key] = resources[key];
    }
  }
  let lost = 0;
  for (const flow of flows) lost += num(obj(flow.input)?.packets_lost);
  if (flows.length > 0) metrics.packets_lost = lost;
  return summary;
}
