/**
 * One simulated device: the `/ws/node` client loop (PROTOCOL.md §3, §4, §6.4, §7.1–7.2,
 * §11.3, §12.5) around a kind model that supplies the payloads and executes the commands.
 */
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import { rfc3339Nanos } from './clock';
import { frameText, sortedJson } from './wire-json';
import { CommandError, type KindModel, type ModelHost, isRecord } from './models/common';
import { EdgeModel } from './models/edge';
import { GatewayModel } from './models/gateway';
import { RelayModel } from './models/relay';
import {
  type CommandAction,
  type CommandOutcome,
  DEVICE_KINDS,
  type DeviceCredentials,
  type DeviceEvent,
  type DeviceKind,
  type DeviceState,
  type SimulatedDeviceOptions
} from './types';

/** Devices wait this long for the manager's auth reply (and for the upgrade to complete). */
const AUTH_REPLY_TIMEOUT_MS = 10_000;
/** The gateway SDK's reconnect ladder, reset after an authenticated session. */
const SDK_BACKOFF_MS = [1000, 2000, 5000, 10000, 30000];
/** stop() waits this long for the closing handshake before dropping the socket. */
const CLOSE_GRACE_MS = 2000;

interface KindProfile {
  software_version: string;
  protocol_version: number;
  stats_interval_ms: number;
  thumbnail_interval_ms: number;
  /**
   * The edge/relay manager client: auth frame without timestamp, health + first-tick
   * health/stats right after auth, "Connected to manager" / "connection lost" / auth failure
   * events, a manager message read from the top-level `message` of auth_error.
   */
  manager_client: boolean;
  /** Events kept while disconnected; newer ones are dropped when full. */
  event_capacity: number;
  /** SDK gateways ack get_config before the config_response. */
  ack_get_config: boolean;
  /** The edge runs each command in its own task; relay and SDK handle them one by one. */
  concurrent_commands: boolean;
  /** The edge raises a manager warning for a binary frame it cannot use. */
  warn_binary: boolean;
  max_payload: number;
}

const PROFILES: Record<DeviceKind, KindProfile> = {
  edge: {
    software_version: '0.106.0',
    protocol_version: 4,
    stats_interval_ms: 1000,
    thumbnail_interval_ms: 5000,
    manager_client: true,
    event_capacity: 4096,
    ack_get_config: false,
    concurrent_commands: true,
    warn_binary: true,
    max_payload: 64 * 1024 * 1024
  },
  relay: {
    software_version: '0.10.6',
    protocol_version: 1,
    stats_interval_ms: 1000,
    thumbnail_interval_ms: 0,
    manager_client: true,
    event_capacity: 1024,
    ack_get_config: false,
    concurrent_commands: false,
    warn_binary: false,
    max_payload: 64 * 1024 * 1024
  },
  gateway: {
    software_version: '0.11.8',
    protocol_version: 1,
    stats_interval_ms: 5000,
    thumbnail_interval_ms: 0,
    manager_client: false,
    event_capacity: 4096,
    ack_get_config: true,
    concurrent_commands: false,
    warn_binary: false,
    max_payload: 5 * 1024 * 1024
  }
};

export interface SimulatedDeviceEvents {
  registered: [credentials: DeviceCredentials];
  authenticated: [how: 'register_ack' | 'auth_ok'];
  auth_error: [message: string];
  /** `result` is null for a command left unanswered by `hang_commands`. */
  command: [action: CommandAction, result: CommandOutcome | null];
  /** After registration or rotate_secret: the credentials to persist. */
  credentials: [credentials: DeviceCredentials];
  /** What the device saved to disk changed (see `persisted`). */
  persisted: [persisted: PersistedCredentials];
  state: [state: DeviceState];
  /** A connection attempt or session ended (reason for logs). */
  disconnected: [reason: string];
}

let sequence = 0;

/** What a device finds in its config file when it starts: its node id and secret, or a registration token. */
export interface PersistedCredentials {
  credentials?: DeviceCredentials;
  registration_token?: string;
}

export class SimulatedDevice extends EventEmitter<SimulatedDeviceEvents> {
  readonly kind: DeviceKind;
  readonly name: string;
  credentials: DeviceCredentials | undefined;
  /** What the device's config file holds now: `restart()` starts from it. */
  persisted: PersistedCredentials;
  state: DeviceState = 'idle';
  readonly software_version: string;
  private readonly options: SimulatedDeviceOptions;
  private readonly profile: KindProfile;
  private readonly model: KindModel;
  private ws: WebSocket | undefined;
  /** Increments per connection attempt; late work of an older session is dropped. */
  private session = 0;
  private stopping = false;
  private readonly sessionTimers = new Set<NodeJS.Timeout>();
  private authTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Consecutive failed attempts (gateway backoff ladder). */
  private failures = 0;
  private lastError = '';
  /** The registration token the running process started with (none once it has restarted after registering). */
  private startupToken: string | undefined;
  /** The credentials the running process started with (the relay's write-back saves these, plus its change). */
  private startupCredentials: DeviceCredentials | undefined;
  /** Epoch ms of the simulated process start. */
  private bootedAt = Date.now();
  private readonly queue: object[] = [];
  private commandChain: Promise<void> = Promise.resolve();

  constructor(options: SimulatedDeviceOptions) {
    super();
    if (!DEVICE_KINDS.includes(options.kind)) throw new TypeError(`unknown device kind '${String(options.kind)}'`);
    if (typeof options.url !== 'string' || !/^wss?:\/\//i.test(options.url))
      throw new TypeError(`url must start with ws:// or wss:// (got '${String(options.url)}')`);
    if (options.kind === 'gateway' && !options.credentials && !options.registration_token) {
      throw new TypeError('a gateway needs a registration_token or credentials (the SDK refuses to start without one)');
    }
    this.options = options;
    this.kind = options.kind;
    this.profile = PROFILES[options.kind];
    this.name = options.name ?? `${options.kind}-${++sequence}`;
    this.software_version = options.software_version ?? this.profile.software_version;
    this.credentials = options.credentials ? { ...options.credentials } : undefined;
    this.startupToken = this.credentials ? undefined : options.registration_token;
    this.startupCredentials = this.credentials ? { ...this.credentials } : undefined;
    this.persisted = this.credentials ? { credentials: { ...this.credentials } } : { registration_token: options.registration_token };

    // The host's getters read the device's state at the moment they are asked.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const device = this;
    const host: ModelHost = {
      name: this.name,
      url: options.url,
      get credentials() {
        return device.credentials;
      },
      software_version: this.software_version,
      insecure: options.tls?.rejectUnauthorized === false,
      get booted_at() {
        return device.bootedAt;
      },
      get startup_token() {
        return device.startupToken;
      },
      raiseEvent: (event) => this.raiseEvent(event),
      rotateSecret: (secret) => this.rotateSecret(secret),
      writeBackStartupConfig: () => this.writeBackStartupConfig()
    };
    const flows = options.flows ?? 2;
    this.model =
      options.kind === 'edge'
        ? new EdgeModel(host, flows)
        : options.kind === 'relay'
          ? new RelayModel(host)
          : new GatewayModel(host, flows, options.alarms ?? []);
  }

  /** The device's in-memory configuration (edge: AppConfig version 2). Change it through commands. */
  get config(): unknown {
    return this.model.config;
  }

  start(): void {
    if (this.state !== 'idle' && this.state !== 'stopped') return;
    this.stopping = false;
    this.failures = 0;
    this.connect();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const ws = this.ws;
    if (ws) {
      this.endSession(ws, 'stopped');
      await closeSocket(ws);
    }
    this.setState('stopped');
  }

  /**
   * Restarts the simulated process: uptime starts again from zero, queued events are lost,
   * and it signs in with what its config file holds (`persisted`).
   */
  async restart(): Promise<void> {
    await this.stop();
    this.queue.length = 0;
    this.bootedAt = Date.now();
    this.credentials = this.persisted.credentials ? { ...this.persisted.credentials } : undefined;
    this.startupToken = this.credentials ? undefined : this.persisted.registration_token;
    this.startupCredentials = this.credentials ? { ...this.credentials } : undefined;
    this.model.restarted?.();
    this.start();
  }

  /** Drops the TCP connection, as a network failure would (no Close frame); the device reconnects after its backoff. */
  simulateNetworkDrop(): void {
    const ws = this.ws;
    if (!ws) return;
    this.lastError = 'connection reset';
    ws.terminate();
  }

  /** Sends the event now when online, else queues it for the next session (bounded, newest dropped). */
  raiseEvent(event: DeviceEvent): void {
    const payload = this.model.eventPayload(event);
    if (this.isLive()) this.send('event', payload);
    else if (this.queue.length < this.profile.event_capacity) this.queue.push(payload);
  }

  waitForState(state: DeviceState, timeoutMs = 10_000): Promise<void> {
    if (this.state === state) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onState = (next: DeviceState) => {
        if (next !== state) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        const detail = this.lastError ? `, last error: ${this.lastError}` : '';
        reject(new Error(`${this.name}: not ${state} within ${timeoutMs} ms (state ${this.state}${detail})`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.off('state', onState);
      };
      this.on('state', onState);
    });
  }

  /** Sends a raw text frame on the open socket (throws when not connected). */
  sendRaw(text: string): void {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) throw new Error(`${this.name} is not connected`);
    this.ws.send(text);
  }

  private setState(state: DeviceState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', state);
  }

  private isLive(): boolean {
    return this.state === 'online' && this.ws?.readyState === WebSocket.OPEN;
  }

  private send(type: string, payload: unknown): void {
    const ws = this.ws;
    if (ws?.readyState === WebSocket.OPEN) ws.send(sortedJson({ type, timestamp: rfc3339Nanos(), payload }));
  }

  private later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.sessionTimers.delete(timer);
      fn();
    }, ms);
    this.sessionTimers.add(timer);
  }

  private connect(): void {
    this.retryTimer = undefined;
    const ws = new WebSocket(this.options.url, {
      perMessageDeflate: false,
      handshakeTimeout: AUTH_REPLY_TIMEOUT_MS,
      maxPayload: this.profile.max_payload,
      rejectUnauthorized: this.options.tls?.rejectUnauthorized ?? true,
      ca: this.options.tls?.ca,
      localAddress: this.options.local_address
    });
    this.ws = ws;
    this.session += 1;
    this.lastError = '';
    this.commandChain = Promise.resolve();
    this.setState('connecting');
    ws.on('open', () => this.onOpen(ws));
    ws.on('message', (data, isBinary) => this.onMessage(ws, data, isBinary));
    // Anything but the auth reply first — a WS Ping included — is a failed handshake (PROTOCOL.md §4.3).
    ws.on('ping', () => {
      if (ws === this.ws && this.state === 'authenticating') this.abort(ws, 'WebSocket Ping before the auth reply');
    });
    ws.on('error', (err) => {
      if (ws === this.ws) this.lastError = err.message;
    });
    ws.on('close', (code) => this.endSession(ws, this.lastError || `closed by the manager (code ${code})`));
  }

  /** Drops the connection without a Close frame, as edges and relays do. */
  private abort(ws: WebSocket, reason: string): void {
    this.lastError = reason;
    this.endSession(ws, reason);
    ws.terminate();
  }

  private onOpen(ws: WebSocket): void {
    if (ws !== this.ws) return;
    this.setState('authenticating');
    ws.send(sortedJson(this.authFrame()));
    this.authTimer = setTimeout(() => this.abort(ws, 'no auth reply within 10 s'), AUTH_REPLY_TIMEOUT_MS);
    this.sessionTimers.add(this.authTimer);
  }

  /** PROTOCOL.md §4.1: credentials win over a token; edge/relay send `{}` when they have neither. */
  private authFrame(): object {
    const payload: Record<string, unknown> = {};
    if (this.credentials) {
      payload.node_id = this.credentials.node_id;
      payload.node_secret = this.credentials.node_secret;
    } else if (this.startupToken) {
      payload.registration_token = this.startupToken;
    }
    if (Object.keys(payload).length > 0) {
      payload.software_version = this.software_version;
      if (this.kind === 'gateway') payload.device_type = this.options.device_type ?? 'appear_x';
      payload.protocol_version = this.options.protocol_version ?? this.profile.protocol_version;
    }
    return this.profile.manager_client ? { type: 'auth', payload } : { type: 'auth', timestamp: rfc3339Nanos(), payload };
  }

  private onMessage(ws: WebSocket, data: WebSocket.RawData, isBinary: boolean): void {
    if (ws !== this.ws) return;
    if (this.state === 'authenticating') {
      this.onAuthReply(ws, data, isBinary);
      return;
    }
    if (this.state !== 'online') return;
    if (isBinary) {
      if (this.profile.warn_binary) {
        this.raiseEvent({ severity: 'warning', category: 'manager', message: 'Dropped a binary frame from the manager: not a valid media upload chunk' });
      }
      return;
    }
    let message: unknown;
    try {
      message = JSON.parse(frameText(data));
    } catch {
      return; // devices log and ignore unparsable frames
    }
    if (!isRecord(message)) return;
    if (message.type === 'command') this.onCommand(message.payload);
    else if (message.type === 'ping') this.send('pong', null);
    // Everything else (pong, a late register_ack, unknown types) is ignored.
  }

  private onAuthReply(ws: WebSocket, data: WebSocket.RawData, isBinary: boolean): void {
    clearTimeout(this.authTimer);
    if (isBinary) return this.abort(ws, 'binary frame instead of the auth reply');
    let message: unknown;
    try {
      message = JSON.parse(frameText(data));
    } catch {
      return this.abort(ws, 'unparsable auth reply');
    }
    const reply = isRecord(message) ? message : {};
    if (reply.type === 'register_ack') {
      const p = reply.payload;
      // An empty id or secret leaves the device connected with nothing persisted.
      if (isRecord(p) && typeof p.node_id === 'string' && p.node_id && typeof p.node_secret === 'string' && p.node_secret) {
        const credentials = { node_id: p.node_id, node_secret: p.node_secret };
        this.credentials = credentials;
        this.persist({ credentials: { ...credentials } });
        this.emit('registered', { ...credentials });
        this.emit('credentials', { ...credentials });
      }
      return this.goOnline(ws, 'register_ack');
    }
    if (reply.type === 'auth_ok') return this.goOnline(ws, 'auth_ok');
    if (reply.type === 'auth_error') {
      const message = this.authErrorMessage(reply);
      this.emit('auth_error', message);
      if (this.profile.manager_client) this.raiseEvent({ severity: 'critical', category: 'manager', message: `Manager authentication failed: ${message}` });
      return this.abort(ws, `auth_error: ${message}`);
    }
    this.abort(ws, `unexpected first frame ${JSON.stringify(reply.type ?? null)}`);
  }

  /** Edge/relay read the top-level `message`; the SDK prefers payload.error, then payload.message. */
  private authErrorMessage(reply: Record<string, unknown>): string {
    const p = isRecord(reply.payload) ? reply.payload : {};
    const candidates = this.profile.manager_client ? [reply.message, p.error, p.message] : [p.error, p.message, reply.message];
    const found = candidates.find((c) => typeof c === 'string' && c !== '');
    return typeof found === 'string' ? found : 'authentication rejected';
  }

  private goOnline(ws: WebSocket, how: 'register_ack' | 'auth_ok'): void {
    if (ws !== this.ws) return; // stopped by a 'registered'/'credentials' listener
    // Live before the burst so events go straight out; 'state' is emitted once all is sent.
    this.state = 'online';
    const model = this.model;
    if (this.profile.manager_client) {
      // One health right away, then the first ticks of both timers (PROTOCOL.md §4.9): the first stats
      // is the edge's `flows: []` fallback sample; pending thumbnails follow at once.
      this.send('health', model.health());
      this.send('health', model.health());
      this.send('stats', model.stats(true));
      this.sendThumbnails();
    }
    for (const payload of this.queue.splice(0)) this.send('event', payload);
    if (this.profile.manager_client) this.raiseEvent({ severity: 'info', category: 'manager', message: 'Connected to manager' });

    const statsMs = this.options.stats_interval_ms ?? this.profile.stats_interval_ms;
    const healthMs = this.options.health_interval_ms ?? 15_000;
    const thumbnailMs = this.options.thumbnail_interval_ms ?? this.profile.thumbnail_interval_ms;
    this.sessionTimers.add(setInterval(() => this.send('stats', model.stats(false)), statsMs));
    this.sessionTimers.add(setInterval(() => this.send('health', model.health()), healthMs));
    if (thumbnailMs > 0) this.sessionTimers.add(setInterval(() => this.sendThumbnails(), thumbnailMs));

    this.emit('state', 'online');
    if (ws === this.ws) this.emit('authenticated', how);
  }

  private sendThumbnails(): void {
    for (const payload of this.model.thumbnails()) this.send('thumbnail', payload);
  }

  private onCommand(payload: unknown): void {
    const p = isRecord(payload) ? payload : {};
    const raw = isRecord(p.action) ? p.action : {};
    const action: CommandAction = { ...raw, type: typeof raw.type === 'string' ? raw.type : '' };
    if (this.options.hang_commands?.includes(action.type)) {
      this.emit('command', action, null);
      return;
    }
    const session = this.session;
    const delay = this.ackDelay(action.type);
    const run = () => this.answer(session, p.command_id, action);
    if (this.profile.concurrent_commands) {
      if (delay > 0) this.later(delay, run);
      else run();
      return;
    }
    // Relay and SDK: one command at a time, so a slow one holds back the next.
    this.commandChain = this.commandChain.then(() =>
      delay > 0
        ? new Promise<void>((resolve) =>
            this.later(delay, () => {
              run();
              resolve();
            })
          )
        : run()
    );
  }

  private ackDelay(type: string): number {
    const delay = this.options.ack_delay_ms;
    if (typeof delay === 'number') return delay;
    return delay && Object.hasOwn(delay, type) ? delay[type] : 0;
  }

  private answer(session: number, commandId: unknown, action: CommandAction): void {
    if (session !== this.session || !this.isLive()) return;
    const fail = this.options.fail_commands;
    let outcome: CommandOutcome;
    if (fail && Object.hasOwn(fail, action.type)) {
      const { error, error_code, details } = fail[action.type];
      outcome = { success: false, error, error_code, details };
    } else if (action.type === 'get_config') {
      outcome = { success: true, config: this.model.configResponse() };
    } else {
      try {
        outcome = this.model.execute(action);
      } catch (err) {
        outcome =
          err instanceof CommandError
            ? { success: false, error: err.message, error_code: err.error_code }
            : { success: false, error: err instanceof Error ? err.message : String(err) };
      }
    }
    if ('config' in outcome) {
      // PROTOCOL.md §7.2: edges and relays answer get_config with the config_response alone.
      if (this.profile.ack_get_config) this.send('command_ack', this.model.ackPayload(commandId, { success: true }));
      this.send('config_response', outcome.config);
    } else {
      this.send('command_ack', this.model.ackPayload(commandId, outcome));
    }
    this.emit('command', action, outcome);
  }

  /** rotate_secret: persist the new secret ('credentials'); the buggy devices keep the old one in memory. */
  private rotateSecret(newSecret: string): void {
    if (!this.credentials) throw new CommandError('node is not registered');
    const rotated = { node_id: this.credentials.node_id, node_secret: newSecret };
    if (!this.options.rotate_secret_bug) this.credentials = rotated;
    if (this.kind === 'relay') this.writeBackStartupConfig(newSecret);
    else this.persist({ credentials: { ...rotated } });
    this.emit('credentials', { ...rotated });
  }

  /**
   * The relay saves the configuration its process *started* with, plus the change: if the
   * process started with a registration token (it registered since), the file gets the spent
   * token and no node id, and the next start signs in with that token; after a rotation in
   * the same process, a `configure_distribution` saves the startup secret again.
   */
  private writeBackStartupConfig(newSecret?: string): void {
    if (this.startupToken !== undefined || !this.startupCredentials) {
      this.persist({ registration_token: this.startupToken });
      return;
    }
    this.persist({ credentials: { node_id: this.startupCredentials.node_id, node_secret: newSecret ?? this.startupCredentials.node_secret } });
  }

  private persist(next: PersistedCredentials): void {
    this.persisted = next;
    this.emit('persisted', { ...next });
  }

  private endSession(ws: WebSocket, reason: string): void {
    if (ws !== this.ws) return;
    this.ws = undefined;
    for (const timer of this.sessionTimers) clearTimeout(timer);
    this.sessionTimers.clear();
    const wasOnline = this.state === 'online';
    this.emit('disconnected', reason);
    if (this.stopping) return; // also when a 'disconnected' listener called stop()
    // Queued for the next session, so it arrives right after the next auth; the relay appends
    // what ended the session.
    if (this.kind === 'edge') {
      this.raiseEvent({ severity: 'warning', category: 'manager', message: 'Manager connection lost, rotating to next URL' });
    } else if (this.kind === 'relay') {
      this.raiseEvent({ severity: 'warning', category: 'manager', message: `Manager connection lost, rotating to next URL: ${reason}` });
    }
    const delay = this.reconnectDelay(wasOnline);
    if (delay === 0) {
      this.setState('stopped');
    } else {
      this.retryTimer = setTimeout(() => this.connect(), delay);
      this.setState('backoff');
    }
  }

  private reconnectDelay(wasOnline: boolean): number {
    if (this.options.reconnect_delay_ms !== undefined) return this.options.reconnect_delay_ms;
    if (this.kind !== 'gateway') return 5000;
    if (wasOnline) this.failures = 0;
    return SDK_BACKOFF_MS[Math.min(this.failures++, SDK_BACKOFF_MS.length - 1)];
  }
}

/** Closes with a Close frame (aborting a pending upgrade) and resolves once the socket is closed. */
function closeSocket(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const grace = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
    ws.once('close', () => {
      clearTimeout(grace);
      resolve();
    });
    if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
    else if (ws.readyState === WebSocket.OPEN) ws.close();
  });
}
