import type { DeviceHealth, DeviceSummary, DriverDefinition } from '@bilbycast/driver-sdk';
import type { WebSocket } from 'ws';
import type { CommandChannel } from './command-channel';
import type { ActiveAlarm } from './event-recorder';

export interface Thumbnail {
  flow_id: string;
  input_id: string | null;
  /** Base64 JPEG as the device sent it. */
  data: string;
  width: number | null;
  height: number | null;
  at: string;
}

/** Counters of what a session's device sent that the manager could not use. */
export interface ProtocolCounters {
  messages: number;
  malformed: number;
  unknown_types: number;
  oversize: number;
  binary: number;
  late_acks: number;
  events_dropped: number;
  /** Frames dropped unread because the node was over its byte budget for the minute. */
  budget_dropped: number;
}

/** What a session's device reported, kept by the telemetry (telemetry.ts). */
export interface SessionTelemetry {
  stats: unknown;
  statsAtMs: number;
  /** When the last stats with a non-empty `flows[]` arrived (see the `flows: []` quirk). */
  flowsAtMs: number;
  summary: DeviceSummary | null;
  health: unknown;
  /** When the last health message arrived (0: none yet). */
  healthAtMs: number;
  /** What the `nodes` row already holds, so health messages only write when something changed. */
  persisted: { software_version: string | null; capabilities: string | null; health: DeviceHealth | null };
  /** Unacknowledged alarms that count toward health (never link alarms), oldest first. */
  activeAlarms: ActiveAlarm[];
  /** Alarms added live so far: a refresh keeps those that arrived while it read the store. */
  alarmsAdded: number;
  thumbnails: Map<string, Thumbnail>;
  /** Base64 characters held in `thumbnails`. */
  thumbnailChars: number;
}

/**
 * One authenticated `/ws/node` connection, held by the session registry and by its device
 * socket (websocket/node-socket.ts), which hands it to the hub's parts. Routes and the
 * dashboard never see one: they get plain views from the node service.
 */
export interface NodeSession {
  readonly nodeId: string;
  readonly driver: DriverDefinition | undefined;
  readonly socket: WebSocket;
  /** How this socket authenticated: secret rotation is only offered to `auth_ok` sessions. */
  readonly authMethod: 'register_ack' | 'auth_ok';
  readonly connectedAt: string;
  expiresAtMs: number | null;
  lastMessageAtMs: number;
  /** The last-seen time already written to the row (newer ones are flushed in batches). */
  lastSeenFlushedMs: number;
  readonly counters: ProtocolCounters;
  /** The "connected" event of this session was stored: its "disconnected" one always is too. */
  connectEventStored: boolean;
  /** Set when the node is deleted or re-tokened (or the session superseded): no disconnect event, no status write or publication. */
  silentClose: boolean;
  readonly channel: CommandChannel;
  readonly telemetry: SessionTelemetry;
}
