/** Public types of the simulator. */

export type DeviceKind = 'edge' | 'relay' | 'gateway';

export const DEVICE_KINDS: readonly DeviceKind[] = ['edge', 'relay', 'gateway'];

export interface DeviceCredentials {
  node_id: string;
  node_secret: string;
}

export type DeviceState = 'idle' | 'connecting' | 'authenticating' | 'online' | 'backoff' | 'stopped';

export interface SimulatedDeviceOptions {
  /** ws:// or wss:// …/ws/node */
  url: string;
  kind: DeviceKind;
  /** Used when there are no credentials. */
  registration_token?: string;
  /** Preferred when present (like real devices). */
  credentials?: DeviceCredentials;
  /** device_name / flow naming seed. */
  name?: string;
  /** Default edge '0.106.0', relay '0.10.6', gateway '0.11.8'. */
  software_version?: string;
  /** Default edge 4, relay 1, gateway 1. */
  protocol_version?: number;
  /** Gateway only: sent in the auth payload (default 'appear_x'). */
  device_type?: string;
  /** Edge: flows in the initial config; gateway: IP inputs (one flow each) on slot 1. Default 2. */
  flows?: number;
  /** Default 1000 (gateway 5000). */
  stats_interval_ms?: number;
  /** Default 15000. */
  health_interval_ms?: number;
  /** Edge default 5000, gateway default 0; 0 disables thumbnails. */
  thumbnail_interval_ms?: number;
  /**
   * Fixed delay before reconnecting; 0 = do not reconnect. Default 5000 for edge/relay; a
   * gateway without this option uses the SDK ladder 1, 2, 5, 10, 30 s.
   */
  reconnect_delay_ms?: number;
  tls?: { rejectUnauthorized?: boolean; ca?: string | Buffer };
  /**
   * Local address to connect from (e.g. one of 127.0.0.0/8): a fleet on one machine can come
   * from many addresses, as real devices do, so that per-address limits apply as they would.
   */
  local_address?: string;
  /** Fault injection for tests: commands of these types are never answered. */
  hang_commands?: string[];
  /** Fault injection: commands of these types fail with this error/error_code. */
  fail_commands?: Record<string, { error: string; error_code?: string; details?: object }>;
  /** Delay (ms) before acking commands (makes acks arrive out of order across commands). */
  ack_delay_ms?: number | Record<string, number>;
  /**
   * Edge/relay: emulate the real devices' rotate_secret bug (the new secret is persisted —
   * 'credentials' is emitted — but reconnects keep using the old one until a restart).
   */
  rotate_secret_bug?: boolean;
  /** Gateway: active chassis alarms, e.g. [{severity: 'MAJOR', description: 'Input loss'}]. */
  alarms?: object[];
}

export interface DeviceEvent {
  severity: string;
  category: string;
  message: string;
  details?: object;
  flow_id?: string;
  input_id?: string;
  output_id?: string;
}

/** The `action` object of a command. */
export interface CommandAction {
  type: string;
  [param: string]: unknown;
}

/** What a command produced (before the kind's ack formatting). */
export interface CommandOutcome {
  success: boolean;
  data?: unknown;
  /** Relays send `error: null` on success for some commands. */
  error?: string | null;
  error_code?: string;
  details?: object;
  /** get_config: the config_response payload. */
  config?: unknown;
}
