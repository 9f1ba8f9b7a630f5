/** What every device kind provides to the connection layer, and helpers shared by the kinds. */
import type { CommandAction, CommandOutcome, DeviceCredentials, DeviceEvent } from '../types';

/** The connection layer as seen by a kind model. */
export interface ModelHost {
  readonly name: string;
  readonly url: string;
  /** Credentials the device currently authenticates with. */
  readonly credentials: DeviceCredentials | undefined;
  readonly software_version: string;
  readonly insecure: boolean;
  /** Epoch ms of the simulated process start (uptime origin). */
  readonly booted_at: number;
  /** The registration token the process started with, if it did (the relay's config_response shows its startup config). */
  readonly startup_token: string | undefined;
  raiseEvent(event: DeviceEvent): void;
  /** Applies a rotate_secret command (throws CommandError when it cannot). */
  rotateSecret(newSecret: string): void;
  /** The relay saves its startup configuration plus a change (configure_distribution). */
  writeBackStartupConfig(): void;
}

/** Wire behaviour of one device kind: its payloads, commands and ack format. */
export interface KindModel {
  readonly config: unknown;
  /** Executes any command but get_config; failures are thrown as CommandError. */
  execute(action: CommandAction): CommandOutcome;
  /** The config_response payload. */
  configResponse(): unknown;
  /** A stats payload; `fallback` = the edge's empty first-tick sample. */
  stats(fallback: boolean): object;
  health(): object;
  /** Thumbnail payloads of the flows that capture one now. */
  thumbnails(): object[];
  /** Formats a command_ack payload the way this kind does. */
  ackPayload(commandId: unknown, outcome: CommandOutcome): object;
  /** Formats an event payload the way this kind does. */
  eventPayload(event: DeviceEvent): object;
  /** The simulated process restarted: state that lives only in memory starts afresh. */
  restarted?(): void;
}

export class CommandError extends Error {
  constructor(
    message: string,
    readonly error_code?: string
  ) {
    super(message);
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** FNV-1a: a cheap stable seed from a string. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A stable private LAN address for a device name (api_addr and the like). */
export function lanAddress(name: string): string {
  const h = hash32(name);
  return `10.${(h >>> 16) & 255}.${(h >>> 8) & 255}.${(h & 254) + 1}`;
}

export function uptimeSecs(since: number, now: number): number {
  return Math.floor((now - since) / 1000);
}

/** Packets of 7 TS packets (7 × 188 bytes), as carried over UDP/SRT. */
export const PACKET_BYTES = 1316;

/**
 * A stream whose cumulative byte count grows at a base bitrate of 5–10 Mb/s (seeded) with
 * ±2 % noise per sample, advanced lazily when a stats payload is built.
 */
export class Meter {
  readonly started_at: number;
  private readonly base: number;
  private last: number;
  bytes = 0;
  bitrate_bps = 0;

  constructor(seed: string, now: number) {
    this.base = 5_000_000 + (hash32(seed) % 5_000_000);
    this.started_at = now;
    this.last = now;
  }

  advance(now: number): void {
    this.bitrate_bps = Math.round(this.base * (0.98 + Math.random() * 0.04));
    this.bytes += (this.bitrate_bps * (now - this.last)) / 8000;
    this.last = now;
  }

  get packets(): number {
    return Math.floor(this.bytes / PACKET_BYTES);
  }

  reset(): void {
    this.bytes = 0;
  }
}

/** `system_resources` with a little noise; load grows with the running streams. */
export function systemResources(name: string, running: number): object {
  const ramTotal = 8000;
  const ramPercent = 30 + (hash32(name) % 10) + running * 0.5 + Math.random();
  return {
    cpu_percent: Math.round((4 + running * 1.5 + Math.random() * 2) * 10) / 10,
    ram_percent: Math.round(ramPercent * 10) / 10,
    ram_used_mb: Math.round((ramTotal * ramPercent) / 100),
    ram_total_mb: ramTotal
  };
}

/** Serde-style message for an absent parameter. */
function missingField(field: string): string {
  return `missing field \`${field}\``;
}

export function requireString(action: CommandAction, field: string, code?: string): string {
  const value = action[field];
  if (typeof value !== 'string' || value === '') throw new CommandError(missingField(field), code);
  return value;
}

export function requireObject(action: CommandAction, field: string, code?: string): Record<string, unknown> {
  const value = action[field];
  if (!isRecord(value)) throw new CommandError(missingField(field), code);
  return value;
}

export type Handler = (action: CommandAction) => unknown;

/** Runs the handler for `action.type`; a returned value other than undefined becomes `data`. */
export function dispatch(handlers: Record<string, Handler>, action: CommandAction, unknown: () => CommandError): CommandOutcome {
  const handler = Object.hasOwn(handlers, action.type) ? handlers[action.type] : undefined;
  if (!handler) throw unknown();
  const data = handler(action);
  return data === undefined ? { success: true } : { success: true, data };
}

/** An event as the edge and the gateway SDK write it: every optional field present, `null` when unset (serde). */
export function eventWithNulls(event: DeviceEvent): object {
  return {
    severity: event.severity,
    category: event.category,
    message: event.message,
    details: event.details ?? null,
    flow_id: event.flow_id ?? null,
    input_id: event.input_id ?? null,
    output_id: event.output_id ?? null
  };
}
