/**
 * Appear X health and severities. The gateway reports `health` as
 * `{status: "ok"|"degraded"|"critical", alarms: [...]}` (PROTOCOL.md §12.4) and sends events
 * with the SDK severities `info | minor | major | critical` (§11.1). Alarm mapping (product
 * behaviour §6.4): MAJOR/CRITICAL → critical, MINOR/WARNING → warning, none → healthy.
 */
import { defaultEventSeverity, type DeviceHealth, type EventSeverity, type HealthInput } from '@bilbycast/driver-sdk';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Keys chassis alarm objects may carry their severity under. */
const ALARM_SEVERITY_KEYS = ['severity', 'alarmSeverity', 'level', 'severityLevel', 'priority'];

/** The severity of one chassis alarm object (or bare severity string), mapped; undefined if none. */
export function chassisAlarmSeverity(alarm: unknown): EventSeverity | undefined {
  if (typeof alarm === 'string') return defaultEventSeverity(alarm);
  if (!isRecord(alarm)) return undefined;
  for (const key of ALARM_SEVERITY_KEYS) {
    const value = alarm[key];
    if (typeof value === 'string') return defaultEventSeverity(value);
  }
  return undefined;
}

function worst(levels: (EventSeverity | undefined)[]): DeviceHealth {
  if (levels.includes('critical')) return 'critical';
  if (levels.includes('warning')) return 'warning';
  return 'healthy';
}

export function deriveAppearXHealth(input: HealthInput): DeviceHealth {
  const levels: (EventSeverity | undefined)[] = [];

  // Unacknowledged alarms the manager holds: the device's own word wins over the stored level.
  const active = isRecord(input) && Array.isArray(input.active_alarms) ? input.active_alarms : [];
  for (const alarm of active) {
    if (!isRecord(alarm)) continue;
    const raw = typeof alarm.raw_severity === 'string' ? defaultEventSeverity(alarm.raw_severity) : 'info';
    const stored = alarm.severity === 'critical' || alarm.severity === 'warning' ? alarm.severity : 'info';
    levels.push(raw === 'critical' || stored === 'critical' ? 'critical' : raw === 'warning' || stored === 'warning' ? 'warning' : 'info');
  }

  // The gateway's own view: health.status and the chassis' active alarm list.
  const health = isRecord(input) ? input.health : undefined;
  if (isRecord(health)) {
    const status = typeof health.status === 'string' ? health.status.trim().toLowerCase() : undefined;
    if (status === 'critical') levels.push('critical');
    else if (status === 'degraded' || status === 'warning') levels.push('warning');
    if (Array.isArray(health.alarms)) for (const alarm of health.alarms) levels.push(chassisAlarmSeverity(alarm));
  }
  return worst(levels);
}
