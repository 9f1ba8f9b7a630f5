import type { ConfigSecrets, DeviceHealth, DeviceSummary, DriverDefinition, EventSeverity } from '@bilbycast/driver-sdk';
import type { WebSocket } from 'ws';
import type { CommandOutcome } from './command-errors';

export interface PendingCommand {
  type: string;
  resolve(outcome: CommandOutcome): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export interface ConfigWaiter {
  command_id: string;
  resolve(config: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

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

/**
 * One authenticated `/ws/node` connection. Each has its own `connectionId`, so that the
 * cleanup of a superseded socket can tell it no longer owns the node's entry.
 */
export interface NodeSession {
  connectionId: number;
  nodeId: string;
  deviceType: string;
  driver: DriverDefinition | undefined;
  socket: WebSocket;
  /** How this socket authenticated: secret rotation is only offered to `auth_ok` sessions. */
  authMethod: 'register_ack' | 'auth_ok';
  connectedAt: string;
  remoteAddr: string | null;
  softwareVersion: string | null;
  protocolVersion: number;
  expiresAtMs: number | null;
  lastMessageAtMs: number;
  /** The last-seen time already written to the row (the hub flushes newer ones in batches). */
  lastSeenFlushedMs: number;
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
  activeAlarms: { severity: EventSeverity; raw_severity: string; category: string }[];
  /** The latest config_response with the driver's declared secrets redacted. */
  config: { value: unknown; at: string } | undefined;
  /**
   * The secrets taken out of the latest config_response, kept after the cached config goes
   * stale, so that a config edited from what was shown gets them back (never shown or logged).
   */
  configSecrets: ConfigSecrets;
  pending: Map<string, PendingCommand>;
  configWaiters: ConfigWaiter[];
  thumbnails: Map<string, Thumbnail>;
  /** Base64 characters held in `thumbnails`. */
  thumbnailChars: number;
  counters: ProtocolCounters;
  /** The "connected" event of this session was stored: its "disconnected" one always is too. */
  connectEventStored: boolean;
  /** Frames read while over the byte budget, as possible answers (at most one per request in flight). */
  answersReadOverBudget: number;
  /** Set when the node is deleted or re-tokened: no disconnect event, no status write. */
  silentClose: boolean;
  /**
   * False until the auth reply has gone out: nothing may reach the device before it
   * (PROTOCOL.md §4.3), so commands issued meanwhile wait in `outbox`.
   */
  ready: boolean;
  outbox: string[];
}
