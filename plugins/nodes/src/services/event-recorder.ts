import type { EventSeverity } from '@bilbycast/driver-sdk';

/** An event as a device sent it (after severity mapping) or as the manager raises it. */
export interface NodeEventInput {
  node_id: string;
  severity: EventSeverity;
  /** The device's own severity word (`minor`, `major`…), kept beside the mapped one. */
  raw_severity: string;
  category: string;
  message: string;
  /** Any JSON value: the store keeps an object as it is and anything else as `{ value }`. */
  details?: unknown;
  flow_id?: string | null;
  input_id?: string | null;
  output_id?: string | null;
}

export interface StoredEvent {
  id: number;
  node_id: string;
  severity: EventSeverity;
  raw_severity: string;
  category: string;
  message: string;
  details: Record<string, unknown> | null;
  flow_id: string | null;
  input_id: string | null;
  output_id: string | null;
  created_at: string;
  acknowledged: boolean;
  acknowledged_by: string | null;
  acknowledged_at: string | null;
}

/** An unacknowledged warning or critical event, as health derivation sees it. */
export interface ActiveAlarm {
  severity: EventSeverity;
  raw_severity: string;
  category: string;
}

/** Unacknowledged alarm counts: `count` = critical + warning (info events are not alarms). */
export interface AlarmCounts {
  count: number;
  critical: number;
  warning: number;
}

/**
 * What the nodes plugin needs from an event store; the events plugin provides it as the
 * `events` service. Without it (a build with no events plugin) node events are only logged.
 */
export interface EventRecorder {
  record(event: NodeEventInput): Promise<StoredEvent>;
  /** The newest unacknowledged warning and critical events of a node (up to 500), for health derivation; events of `excludeCategories` are left out. */
  activeAlarms(nodeId: string, excludeCategories?: ReadonlySet<string>): Promise<ActiveAlarm[]>;
  /** Unacknowledged alarm counts over the given nodes (null: every node). */
  alarmCounts(allowedNodeIds: string[] | null): Promise<AlarmCounts>;
}
