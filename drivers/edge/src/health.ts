/** Edge health derivation and event severity mapping (PROTOCOL.md §11.1–11.2, §12.2). Never throws. */
import type { DeviceHealth, HealthInput } from '@bilbycast/driver-sdk';

const RANK: Record<DeviceHealth, number> = { healthy: 0, warning: 1, critical: 2 };

function worst(a: DeviceHealth, b: DeviceHealth): DeviceHealth {
  return RANK[b] > RANK[a] ? b : a;
}

/** Edge FlowStats.health (Healthy | Warning | Error | Critical) → device health. */
export function flowHealthToDevice(value: unknown): DeviceHealth {
  if (typeof value !== 'string') return 'healthy';
  const word = value.toLowerCase();
  if (word === 'error' || word === 'critical') return 'critical';
  if (word === 'warning') return 'warning';
  return 'healthy';
}

/** `health.status`: the edge always sends "ok"; anything else counts against it. */
function statusToDevice(status: unknown): DeviceHealth {
  if (typeof status !== 'string') return 'healthy';
  const word = status.toLowerCase();
  if (word === 'ok' || word === 'healthy') return 'healthy';
  if (word === 'critical' || word === 'error' || word === 'down') return 'critical';
  return 'warning';
}

/**
 * Critical: any critical alarm, a flow in Error/Critical health, or a critical status.
 * Warning: any warning alarm, a flow in Warning health, or a non-ok status.
 * Healthy otherwise. Idle flows do not count (their health is meaningless while stopped).
 */
export function deriveHealth(input: HealthInput): DeviceHealth {
  let result: DeviceHealth = 'healthy';
  try {
    const alarms = Array.isArray(input?.active_alarms) ? input.active_alarms : [];
    for (const alarm of alarms) {
      if (alarm?.severity === 'critical') result = worst(result, 'critical');
      else if (alarm?.severity === 'warning') result = worst(result, 'warning');
    }
    const health = input?.health as { status?: unknown } | null | undefined;
    if (health && typeof health === 'object') result = worst(result, statusToDevice(health.status));
    const stats = input?.stats as { flows?: unknown } | null | undefined;
    const flows = stats && typeof stats === 'object' && Array.isArray(stats.flows) ? stats.flows : [];
    for (const flow of flows) {
      if (!flow || typeof flow !== 'object') continue;
      const f = flow as { state?: unknown; health?: unknown };
      if (typeof f.state === 'string' && f.state.toLowerCase() === 'idle') continue;
      result = worst(result, flowHealthToDevice(f.health));
    }
  } catch {
    // malformed input: keep what we have
  }
  return result;
}
