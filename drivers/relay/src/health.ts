/** Health for relays: a health payload whose `status` is always "ok" today, plus alarms. */
import type { DeviceHealth, HealthInput } from '@bilbycast/driver-sdk';

export function deriveRelayHealth(input: HealthInput): DeviceHealth {
  const alarms = Array.isArray(input?.active_alarms) ? input.active_alarms : [];
  const health = input?.health;
  const status =
    typeof health === 'object' && health !== null && typeof (health as { status?: unknown }).status === 'string'
      ? String((health as { status: string }).status).toLowerCase()
      : undefined;
  if (alarms.some((a) => a?.severity === 'critical') || status === 'critical' || status === 'error') return 'critical';
  if (alarms.some((a) => a?.severity === 'warning')) return 'warning';
  if (status !== undefined && status !== 'ok' && status !== 'healthy') return 'warning';
  return 'healthy';
}
