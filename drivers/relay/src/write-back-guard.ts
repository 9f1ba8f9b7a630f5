/**
 * The relay's configuration write-back (node-protocol notes, "Relay rotation"): its
 * `rotate_secret` and `configure_distribution` save the configuration the *process started
 * with*, plus the change. A relay that registered in its current process started with only a
 * registration token, so that save keeps the spent token and no `node_id`; after its next
 * restart it signs in with the spent token and is refused forever. The manager therefore
 * refuses these two commands until the relay has restarted since it registered.
 *
 * When the process started comes from the relay's own `uptime_secs` (stats every second,
 * health every 15 s), measured against the manager's clock at arrival, so the two clocks
 * need not agree.
 */
import type { CommandCheckInput, CommandRefusal } from '@bilbycast/driver-sdk';

/** Commands that make the relay save its startup configuration. */
export const WRITE_BACK_COMMANDS: ReadonlySet<string> = new Set(['rotate_secret', 'configure_distribution']);

/**
 * Margin for `uptime_secs` being whole seconds and for delivery delay (the estimate of the
 * start is never earlier than the true one): a process that seems to have started less than
 * this after the registration is taken to have registered (the safe side).
 */
const MARGIN_MS = 3_000;

function uptimeSecs(payload: unknown): number | undefined {
  const value = payload && typeof payload === 'object' ? (payload as { uptime_secs?: unknown }).uptime_secs : undefined;
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** When the relay's process started (manager clock), from the freshest report that carries its uptime. */
export function relayProcessStartMs(input: CommandCheckInput): number | undefined {
  const reports = [
    { uptime: uptimeSecs(input.stats), at: input.stats_at_ms },
    { uptime: uptimeSecs(input.health), at: input.health_at_ms }
  ].filter((r): r is { uptime: number; at: number } => r.uptime !== undefined && r.at !== null);
  if (reports.length === 0) return undefined;
  const freshest = reports.reduce((a, b) => (b.at > a.at ? b : a));
  return freshest.at - freshest.uptime * 1000;
}

export function refuseRelayWriteBack(input: CommandCheckInput): CommandRefusal | null {
  if (!WRITE_BACK_COMMANDS.has(input.command) || input.registered_at === null) return null;
  const registeredMs = Date.parse(input.registered_at);
  if (!Number.isFinite(registeredMs)) return null;
  const startedMs = relayProcessStartMs(input);
  if (startedMs === undefined) {
    return {
      error_code: 'relay_uptime_unknown',
      message: `The relay has not reported its uptime yet, so the manager cannot tell whether ${input.command} is safe; try again once its stats arrive`
    };
  }
  if (startedMs > registeredMs + MARGIN_MS) return null;
  return {
    error_code: 'relay_restart_required',
    message:
      `The relay registered in its current process, and ${input.command} would make it save its startup configuration — ` +
      'with the spent registration token and no node id — so it could not sign in after its next restart. ' +
      'Restart the relay service first (it keeps its node id and secret), then try again.'
  };
}
