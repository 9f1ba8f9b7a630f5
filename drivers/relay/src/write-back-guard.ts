/**
 * The relay's configuration write-back (see the README): its `rotate_secret` and
 * `configure_distribution` save the configuration the *process started with*, plus the
 * change. Two states make that save harmful, and the manager refuses both commands in them
 * until the relay has restarted:
 *
 * - it **registered in its current process**: it started with only a registration token, so
 *   the save keeps the spent token and no `node_id`, and after its next restart it signs in
 *   with the spent token and is refused forever;
 * - its **secret was rotated in its current process** (the node has not signed in with the
 *   new secret yet, which a relay only does after a restart): a `configure_distribution` would
 *   save the startup configuration with the *old* secret, undoing the rotation on disk.
 *
 * When the process started comes from the relay's own `uptime_secs` (stats every second,
 * health every 15 s), measured against the manager's clock at arrival, so the two clocks need
 * not agree. Every error in that estimate (whole seconds, delivery delay, a stalled event
 * loop, a clock step) makes the process look younger than it is, so the margin is generous:
 * a relay restarted within it of registering is asked to restart once more.
 */
import type { CommandCheckInput, CommandRefusal } from '@bilbycast/driver-sdk';

/** Commands that make the relay save its startup configuration. */
export const WRITE_BACK_COMMANDS: ReadonlySet<string> = new Set(['rotate_secret', 'configure_distribution']);

/** A process that seems to have started less than this after the registration is taken to have registered (the safe side). */
export const WRITE_BACK_MARGIN_MS = 60_000;

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

const RESTART_FIRST = 'Restart the relay service first (it keeps its node id and secret), then try again.';

export function refuseRelayWriteBack(input: CommandCheckInput): CommandRefusal | null {
  if (!WRITE_BACK_COMMANDS.has(input.command)) return null;
  if (input.command === 'configure_distribution' && input.secret_rotation_pending) {
    return {
      error_code: 'relay_restart_required',
      message:
        "The relay's secret was rotated and it has not signed in with the new one yet (a relay does so after a restart); " +
        `configure_distribution now would make it save its startup configuration with the old secret. ${RESTART_FIRST}`
    };
  }
  if (input.registered_at === null) return null;
  const registeredMs = Date.parse(input.registered_at);
  const startedMs = relayProcessStartMs(input);
  if (startedMs === undefined) {
    return {
      error_code: 'relay_uptime_unknown',
      message: `The relay has not reported its uptime yet, so the manager cannot tell whether ${input.command} is safe; try again once its stats arrive`
    };
  }
  if (Number.isFinite(registeredMs) && startedMs > registeredMs + WRITE_BACK_MARGIN_MS) return null;
  return {
    error_code: 'relay_restart_required',
    message:
      `The relay registered in its current process, and ${input.command} would make it save its startup configuration — ` +
      `with the spent registration token and no node id — so it could not sign in after its next restart. ${RESTART_FIRST}`
  };
}
