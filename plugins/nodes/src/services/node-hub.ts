import crypto from 'node:crypto';
import type { AuditLog, DriverRegistry } from '@bilbycast/core';
import { DEVICE_HEALTHS, EVENT_SEVERITIES, defaultDeriveHealth, defaultEventSeverity, type DeviceHealth, type DeviceSummary } from '@bilbycast/driver-sdk';
import type { Logger } from 'pino';
import { CommandDeliveryError, type CommandOutcome } from './command-errors';
import type { EventRecorder, NodeEventInput } from './event-recorder';
import type { LiveFeed } from './live-feed';
import { NodeAuthLimiter } from './auth-limiter';
import { credentialMatches, hashCredential, newNodeSecret } from './node-credentials';
import type { NodeDirectory } from './node-directory';
import type { NodeSession, Thumbnail } from './node-session';
import { toNodeView, type NodeRow, type NodeView } from './node-view';
import { StatsHistory } from './stats-history';

export interface NodeHubOptions {
  offlineAfterMs: number;
  authFailuresBeforeLockout: number;
  authLockoutWindowMs: number;
  eventsPerMinute: number;
  lastSeenFlushMs: number;
  historyIntervalMs: number;
  historyPoints: number;
}

export type AuthResult =
  | { ok: true; row: NodeRow; method: 'auth_ok'; credentialHash: string; limiterKey: string }
  | { ok: true; row: NodeRow; method: 'register_ack'; secret: string; tokenHash: string; credentialHash: string; limiterKey: string }
  | { ok: false; message: string };

/** How long after a non-empty `flows[]` an edge's `flows: []` fallback sample is taken as a quirk. */
const EMPTY_FLOWS_GRACE_MS = 3000;
const MAX_THUMBNAILS_PER_NODE = 64;
/** A thumbnail is a small JPEG (an edge's is 320 px wide, tens of KB): 1 MiB of base64 is plenty. */
const MAX_THUMBNAIL_CHARS = 1024 * 1024;
const LINK_ALARM_CATEGORIES = new Set(['connection', 'manager']);
const SEVERITIES = new Set<unknown>(EVENT_SEVERITIES);
const HEALTH_VALUES = new Set<unknown>(DEVICE_HEALTHS);
/** Unacknowledged alarms kept per session for health derivation (the newest; as many as the events store loads). */
const MAX_ACTIVE_ALARMS = 500;

/**
 * The live side of nodes: who is connected, their latest stats and health, commands in
 * flight, liveness and event rate limiting. The database is written on connect, disconnect,
 * health changes and in last-seen batches — never per stats message.
 */
export class NodeHub {
  readonly #sessions = new Map<string, NodeSession>();
  readonly #history = new Map<string, StatsHistory>();
  readonly #eventWindows = new Map<string, { window: number; count: number }>();
  readonly #writes = new Set<Promise<unknown>>();
  readonly #limiter: NodeAuthLimiter;
  #nextConnectionId = 1;
  #timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly deps: {
      directory: NodeDirectory;
      drivers: DriverRegistry;
      logger: Logger;
      audit: AuditLog;
      liveFeed: LiveFeed;
      events: () => EventRecorder | undefined;
    },
    private readonly options: NodeHubOptions
  ) {
    this.#limiter = new NodeAuthLimiter(options.authFailuresBeforeLockout, options.authLockoutWindowMs);
  }

  start(): void {
    const sweepEvery = Math.max(250, Math.min(5000, Math.floor(this.options.offlineAfterMs / 3)));
    this.#timers = [
      setInterval(() => this.#sweep(), sweepEvery).unref(),
      setInterval(() => this.#track(this.#flushLastSeen()), this.options.lastSeenFlushMs).unref()
    ];
  }

  /** Stops timers and waits for outstanding database writes (the sockets are closed by core). */
  async stop(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    await this.#drain();
    await this.#flushLastSeen();
  }

  // ---- authentication ------------------------------------------------------------------

  async authenticate(payload: unknown): Promise<AuthResult> {
    const auth = (payload && typeof payload === 'object' ? payload : {}) as Record<string, unknown>;
    const nodeId = typeof auth.node_id === 'string' && auth.node_id.length <= 64 ? auth.node_id : undefined;
    const secret = typeof auth.node_secret === 'string' && auth.node_secret.length <= 512 ? auth.node_secret : undefined;
    const token = typeof auth.registration_token === 'string' && auth.registration_token.length <= 512 ? auth.registration_token : undefined;
    const now = new Date().toISOString();

    if (nodeId && secret) {
      const key = nodeId;
      if (this.#limiter.isLockedOut(key)) return { ok: false, message: 'Too many failed attempts; locked out, try again later' };
      const row = await this.deps.directory.get(nodeId);
      const current = row ? credentialMatches(secret, row.secret_hash) : false;
      const previous = row && !current ? credentialMatches(secret, row.previous_secret_hash) : false;
      if (!row || (!current && !previous)) return this.#failure(key, row, 'Invalid node credentials');
      if (row.expires_at && row.expires_at <= now) return { ok: false, message: 'Node has expired' };
      if (current && row.previous_secret_hash) this.#track(this.deps.directory.forgetPreviousSecret(row.id));
      return { ok: true, row, method: 'auth_ok', credentialHash: hashCredential(secret), limiterKey: key };
    }
    if (token) {
      const key = `token:${token.slice(0, 8)}`;
      if (this.#limiter.isLockedOut(key)) return { ok: false, message: 'Too many failed attempts; locked out, try again later' };
      const row = await this.deps.directory.findByRegistrationToken(token);
      if (!row) return this.#failure(key, undefined, 'Invalid or already used registration token');
      if (row.registration_expires_at && row.registration_expires_at <= now) return this.#failure(key, row, 'Registration token has expired');
      if (row.expires_at && row.expires_at <= now) return { ok: false, message: 'Node has expired' };
      const newSecret = newNodeSecret();
      const tokenHash = hashCredential(token);
      if (!(await this.deps.directory.completeRegistration(row.id, tokenHash, newSecret))) {
        return this.#failure(key, row, 'Invalid or already used registration token');
      }
      return { ok: true, row, method: 'register_ack', secret: newSecret, tokenHash, credentialHash: hashCredential(newSecret), limiterKey: key };
    }
    return { ok: false, message: 'Missing credentials: send node_id and node_secret, or a registration_token' };
  }

  #failure(key: string, row: NodeRow | undefined, message: string): AuthResult {
    if (this.#limiter.recordFailure(key)) {
      const details = { key: key.startsWith('token:') ? key : undefined, failures: this.options.authFailuresBeforeLockout };
      this.deps.logger.warn({ key }, 'node authentication locked out');
      this.#track(this.deps.audit.record({ action: 'node.auth_lockout', target_type: 'node', target_id: row?.id ?? null, outcome: 'failure', details }));
      if (row) {
        this.raiseManagerEvent(row.id, 'warning', 'auth', `Authentication locked out after ${this.options.authFailuresBeforeLockout} failures`, {
          error_code: 'auth_lockout'
        });
      }
    }
    return { ok: false, message };
  }

  /** The device never got the reply to a successful sign-in: a registration is undone so its token works on the retry. */
  async abandon(auth: Extract<AuthResult, { ok: true }>): Promise<void> {
    if (auth.method !== 'register_ack') return;
    this.deps.logger.info({ node_id: auth.row.id }, 'registration reply undeliverable: the token stays valid');
    await this.deps.directory.undoRegistration(auth.row.id, auth.tokenHash, auth.row.registration_expires_at, auth.secret);
  }

  // ---- sessions ------------------------------------------------------------------------

  /**
   * Registers an authenticated socket as the node's only session, superseding any older one;
   * null when the node was deleted or its credentials revoked while it signed in.
   */
  async open(
    auth: Extract<AuthResult, { ok: true }>,
    socket: NodeSession['socket'],
    info: { remoteAddr: string | null; softwareVersion: string | null; protocolVersion: number; deviceType: string | null }
  ): Promise<NodeSession | null> {
    const { row } = auth;
    this.#limiter.recordSuccess(auth.limiterKey);
    const nowMs = Date.now();
    const session: NodeSession = {
      connectionId: this.#nextConnectionId++,
      nodeId: row.id,
      deviceType: row.device_type,
      driver: this.deps.drivers.get(row.device_type)?.definition,
      socket,
      authMethod: auth.method,
      connectedAt: new Date(nowMs).toISOString(),
      remoteAddr: info.remoteAddr,
      softwareVersion: info.softwareVersion,
      protocolVersion: info.protocolVersion,
      expiresAtMs: row.expires_at ? Date.parse(row.expires_at) : null,
      lastMessageAtMs: nowMs,
      // markOnline below writes the connect time.
      lastSeenFlushedMs: nowMs,
      stats: null,
      statsAtMs: 0,
      flowsAtMs: 0,
      summary: null,
      health: null,
      persisted: { software_version: info.softwareVersion, capabilities: row.capabilities, health: row.health },
      activeAlarms: [],
      config: undefined,
      pending: new Map(),
      configWaiters: [],
      thumbnails: new Map(),
      counters: { messages: 0, malformed: 0, unknown_types: 0, oversize: 0, binary: 0, late_acks: 0, events_dropped: 0 },
      silentClose: false,
      ready: false,
      outbox: []
    };
    const previous = this.#sessions.get(row.id);
    this.#sessions.set(row.id, session);
    if (previous) {
      this.deps.logger.info({ node_id: row.id }, 'a newer connection supersedes the node session');
      this.#failPending(previous, 'Node reconnected on a newer connection');
      previous.silentClose = true;
      previous.socket.close(1008, 'Superseded by a newer connection');
    }
    let stillValid: boolean;
    try {
      stillValid = await this.deps.directory.markOnline(row.id, auth.credentialHash, session.connectedAt, {
        software_version: info.softwareVersion,
        protocol_version: info.protocolVersion,
        remote_addr: info.remoteAddr
      });
    } catch (err) {
      if (this.#sessions.get(row.id) === session) this.#sessions.delete(row.id);
      throw err;
    }
    if (!stillValid) {
      // Deleted, or its credentials revoked, while it was signing in.
      if (this.#sessions.get(row.id) === session) this.#sessions.delete(row.id);
      return null;
    }
    const events = this.deps.events();
    if (events) session.activeAlarms = await this.#loadAlarms(row.id).catch(() => []);
    this.raiseManagerEvent(row.id, 'info', 'connection', 'Node connected to manager', {
      software_version: info.softwareVersion,
      protocol_version: info.protocolVersion,
      remote_addr: info.remoteAddr,
      method: auth.method
    });
    if (info.deviceType !== null && info.deviceType !== row.device_type) {
      this.raiseManagerEvent(row.id, 'warning', 'compatibility', `Device reports type "${info.deviceType}" but is registered as "${row.device_type}"`, {
        error_code: 'device_type_mismatch'
      });
    }
    return session;
  }

  /** The auth reply has been sent: release queued commands and announce the node online. */
  ready(session: NodeSession): void {
    session.ready = true;
    for (const frame of session.outbox.splice(0)) session.socket.send(frame);
    this.#publishStatus(session.nodeId);
  }

  /** Socket closed: only the session that still owns the node cleans up. */
  closed(session: NodeSession, reason: string): void {
    this.#failPending(session, 'Node disconnected before answering');
    if (this.#sessions.get(session.nodeId) !== session) return;
    this.#sessions.delete(session.nodeId);
    if (session.silentClose) {
      this.#publishStatus(session.nodeId);
      return;
    }
    this.#track(
      this.deps.directory
        .markOffline(session.nodeId, new Date(session.lastMessageAtMs).toISOString(), session.health === null ? null : JSON.stringify(session.health))
        .then(() => this.#publishStatus(session.nodeId))
    );
    this.raiseManagerEvent(session.nodeId, 'critical', 'connection', `Node disconnected from manager (${reason})`, {});
  }

  /** Closes the node's session without a disconnect event (node deleted or re-tokened). */
  disconnect(nodeId: string, reason: string): void {
    const session = this.#sessions.get(nodeId);
    if (!session) return;
    session.silentClose = true;
    session.socket.close(1008, reason);
    this.closed(session, reason);
  }

  /** The node's expiry changed: a connected node's session follows it (the sweep closes it when due). */
  setExpiry(nodeId: string, expiresAt: string | null): void {
    const session = this.#sessions.get(nodeId);
    if (session) session.expiresAtMs = expiresAt ? Date.parse(expiresAt) : null;
  }

  forget(nodeId: string): void {
    this.#history.delete(nodeId);
    this.#eventWindows.delete(nodeId);
  }

  session(nodeId: string): NodeSession | undefined {
    return this.#sessions.get(nodeId);
  }

  view(row: NodeRow): NodeView {
    const session = this.#sessions.get(row.id);
    return toNodeView(row, { summary: session?.summary ?? null, last_seen_at: session ? new Date(session.lastMessageAtMs).toISOString() : null });
  }

  history(nodeId: string): StatsHistory | undefined {
    return this.#history.get(nodeId);
  }

  // ---- device messages -----------------------------------------------------------------

  seen(session: NodeSession): void {
    session.lastMessageAtMs = Date.now();
  }

  onStats(session: NodeSession, payload: unknown): void {
    if (!payload || typeof payload !== 'object' || Array.isArray(payload)) {
      session.counters.malformed++;
      return;
    }
    const now = Date.now();
    let stats = payload as Record<string, unknown>;
    const flows = stats.flows;
    if (Array.isArray(flows) && flows.length > 0) {
      session.flowsAtMs = now;
    } else if (Array.isArray(flows) && now - session.flowsAtMs < EMPTY_FLOWS_GRACE_MS) {
      // The edge's 1 s fallback sample says `flows: []` between normal samples: not a deletion.
      const previousFlows = (session.stats as { flows?: unknown } | null)?.flows;
      if (Array.isArray(previousFlows)) stats = { ...stats, flows: previousFlows };
    }
    session.stats = stats;
    session.statsAtMs = now;
    session.summary = this.#summarize(session, stats);
    let history = this.#history.get(session.nodeId);
    if (!history) {
      history = new StatsHistory(this.options.historyPoints, this.options.historyIntervalMs);
      this.#history.set(session.nodeId, history);
    }
    history.add(now, session.summary);
    this.deps.liveFeed.publish('node_stats', { node_id: session.nodeId, at_ms: now, summary: session.summary, stats });
  }

  onHealth(session: NodeSession, payload: unknown): void {
    if (!payload || typeof payload !== 'object' || Array.isArray(payload)) {
      session.counters.malformed++;
      return;
    }
    // Last one wins: partial health messages are never merged.
    session.health = payload;
    const health = payload as { version?: unknown; capabilities?: unknown };
    const version = typeof health.version === 'string' ? health.version.slice(0, 256) : null;
    const capabilities = Array.isArray(health.capabilities) ? health.capabilities.filter((c): c is string => typeof c === 'string').slice(0, 500) : null;
    if (version !== null) session.softwareVersion = version;
    // Health arrives every 15 s per node; the row changes only when version or capabilities do
    // (the full payload is stored when the node disconnects).
    const capabilitiesJson = capabilities === null ? null : JSON.stringify(capabilities);
    const changed: { software_version?: string; capabilities?: string } = {};
    if (version !== null && version !== session.persisted.software_version) changed.software_version = version;
    if (capabilitiesJson !== null && capabilitiesJson !== session.persisted.capabilities) changed.capabilities = capabilitiesJson;
    if (Object.keys(changed).length > 0) {
      Object.assign(session.persisted, changed);
      this.#track(this.deps.directory.recordHealth(session.nodeId, changed));
    }
    this.#rederiveHealth(session);
  }

  onEvent(session: NodeSession, payload: unknown): void {
    if (!payload || typeof payload !== 'object' || Array.isArray(payload)) {
      session.counters.malformed++;
      return;
    }
    if (!this.#withinEventRate(session)) return;
    const event = payload as Record<string, unknown>;
    const raw = typeof event.severity === 'string' && event.severity !== '' ? event.severity : 'info';
    let severity: NodeEventInput['severity'];
    try {
      severity = (session.driver?.mapEventSeverity ?? defaultEventSeverity)(raw);
    } catch {
      severity = 'info';
    }
    // A third-party driver's answer is checked like any input.
    if (!SEVERITIES.has(severity)) severity = 'info';
    // Numbers and booleans are kept as text; objects and arrays (not text at all) count as absent.
    const text = (v: unknown) => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : null);
    const details = event.details && typeof event.details === 'object' && !Array.isArray(event.details) ? (event.details as Record<string, unknown>) : null;
    const category = text(event.category) ?? 'unknown';
    this.#record({
      node_id: session.nodeId,
      severity,
      raw_severity: raw,
      category,
      message: text(event.message) ?? 'Unknown event',
      details,
      flow_id: text(event.flow_id),
      input_id: text(event.input_id),
      output_id: text(event.output_id)
    });
    if (severity !== 'info') {
      session.activeAlarms.push({ severity, raw_severity: raw, category });
      if (session.activeAlarms.length > MAX_ACTIVE_ALARMS) session.activeAlarms.shift();
      this.#rederiveHealth(session);
    }
  }

  onThumbnail(session: NodeSession, payload: unknown): void {
    const thumb = (payload ?? {}) as Record<string, unknown>;
    const data = typeof thumb.data === 'string' ? thumb.data : typeof thumb.image_base64 === 'string' ? thumb.image_base64 : undefined;
    if (typeof thumb.flow_id !== 'string' || data === undefined) {
      session.counters.malformed++;
      return;
    }
    if (data.length > MAX_THUMBNAIL_CHARS) {
      session.counters.oversize++;
      return;
    }
    const inputId = typeof thumb.input_id === 'string' ? thumb.input_id : null;
    const key = `${thumb.flow_id}\u0000${inputId ?? ''}`;
    if (!session.thumbnails.has(key) && session.thumbnails.size >= MAX_THUMBNAILS_PER_NODE) return;
    const thumbnail: Thumbnail = {
      flow_id: thumb.flow_id,
      input_id: inputId,
      data,
      width: typeof thumb.width === 'number' ? thumb.width : null,
      height: typeof thumb.height === 'number' ? thumb.height : null,
      at: new Date().toISOString()
    };
    session.thumbnails.set(key, thumbnail);
  }

  onConfigResponse(session: NodeSession, payload: unknown): void {
    // No device wraps its config, but the gateway SDK documents `{config: …}` as possible.
    const config =
      payload && typeof payload === 'object' && !Array.isArray(payload) && Object.keys(payload).length === 1 && 'config' in payload
        ? (payload as { config: unknown }).config
        : payload;
    session.config = { value: config, at: new Date().toISOString() };
    const waiter = session.configWaiters.shift();
    if (waiter) {
      clearTimeout(waiter.timer);
      waiter.resolve(config);
    }
  }

  onCommandAck(session: NodeSession, payload: unknown): void {
    const ack = (payload ?? {}) as Record<string, unknown>;
    const id = typeof ack.command_id === 'string' ? ack.command_id : undefined;
    const pending = id === undefined ? undefined : session.pending.get(id);
    if (!pending) {
      // Late (after its timeout), unknown, or a gateway's ack to get_config: ignored.
      if (!session.configWaiters.some((w) => w.command_id === id)) session.counters.late_acks++;
      return;
    }
    session.pending.delete(id!);
    clearTimeout(pending.timer);
    const outcome: CommandOutcome = { command_id: id!, success: ack.success === true };
    if (ack.data !== undefined && ack.data !== null) outcome.data = ack.data;
    if (!outcome.success) {
      outcome.error = typeof ack.error === 'string' && ack.error !== '' ? ack.error : 'The device reported a failure';
      if (typeof ack.error_code === 'string') outcome.error_code = ack.error_code;
      if (ack.details && typeof ack.details === 'object') outcome.details = ack.details as Record<string, unknown>;
    }
    pending.resolve(outcome);
  }

  // ---- commands ------------------------------------------------------------------------

  /** Sends a command and waits for its `command_ack` (not for get_config: see requestConfig). */
  sendCommand(nodeId: string, action: { type: string } & Record<string, unknown>, timeoutMs: number, mutates: boolean): Promise<CommandOutcome> {
    const session = this.#live(nodeId);
    const commandId = crypto.randomUUID();
    return new Promise<CommandOutcome>((resolve, reject) => {
      const timer = setTimeout(() => {
        session.pending.delete(commandId);
        reject(new CommandDeliveryError('command_timeout', `The node did not answer ${action.type} within ${timeoutMs} ms`));
      }, timeoutMs);
      session.pending.set(commandId, {
        type: action.type,
        timer,
        reject,
        resolve: (outcome) => {
          // The device changed something: the cached config is stale.
          if (outcome.success && mutates) session.config = undefined;
          resolve(outcome);
        }
      });
      this.#send(session, commandId, action);
    });
  }

  /** The node's config: cached, or asked for live (resolved by the next config_response). */
  async requestConfig(nodeId: string, timeoutMs: number, refresh: boolean): Promise<{ config: unknown; fetched_at: string; cached: boolean }> {
    const session = this.#live(nodeId);
    if (session.config && !refresh) return { config: session.config.value, fetched_at: session.config.at, cached: true };
    const commandId = crypto.randomUUID();
    const config = await new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        session.configWaiters = session.configWaiters.filter((w) => w.command_id !== commandId);
        reject(new CommandDeliveryError('command_timeout', `The node did not send its config within ${timeoutMs} ms`));
      }, timeoutMs);
      session.configWaiters.push({ command_id: commandId, resolve, reject, timer });
      this.#send(session, commandId, { type: 'get_config' });
    });
    return { config, fetched_at: session.config?.at ?? new Date().toISOString(), cached: false };
  }

  /**
   * Rotates the node secret. The new secret's hash is stored before it is sent, with the
   * current one kept as the previous: both stay valid until the node signs in with the new one
   * (the device may save it even if its ack is lost, or reconnect with the old one after a
   * blip, node-protocol §3.7). Only a device's explicit refusal undoes the rotation.
   */
  async rotateSecret(nodeId: string, timeoutMs: number): Promise<CommandOutcome> {
    const session = this.#live(nodeId);
    if (session.authMethod !== 'auth_ok') {
      throw new CommandDeliveryError('rotation_unavailable', 'The node registered on this connection; rotate its secret after it reconnects');
    }
    const secret = newNodeSecret();
    if (!(await this.deps.directory.beginSecretRotation(nodeId, secret))) {
      throw new CommandDeliveryError('rotation_pending', 'The node has not yet signed in with the secret of the previous rotation; rotate again after it has');
    }
    if (this.#sessions.get(nodeId) !== session) {
      // Disconnected or superseded while the hash was stored: nothing was sent.
      await this.deps.directory.revertSecretRotation(nodeId, secret);
      throw new CommandDeliveryError('node_offline', 'The node disconnected before the rotation was sent');
    }
    // Once sent, a timeout or disconnect leaves both secrets valid: the device may hold either.
    const outcome = await this.sendCommand(nodeId, { type: 'rotate_secret', new_secret: secret }, timeoutMs, false);
    if (!outcome.success) await this.deps.directory.revertSecretRotation(nodeId, secret);
    // The device's ack never carries the secret back, but make sure nothing does.
    delete outcome.data;
    return outcome;
  }

  #live(nodeId: string): NodeSession {
    const session = this.#sessions.get(nodeId);
    if (!session) throw new CommandDeliveryError('node_offline', 'The node is not connected');
    return session;
  }

  #send(session: NodeSession, commandId: string, action: Record<string, unknown>): void {
    const frame = JSON.stringify({ type: 'command', timestamp: new Date().toISOString(), payload: { command_id: commandId, action } });
    if (session.ready) session.socket.send(frame);
    else session.outbox.push(frame);
  }

  #failPending(session: NodeSession, message: string): void {
    for (const [id, pending] of session.pending) {
      clearTimeout(pending.timer);
      pending.reject(new CommandDeliveryError('node_offline', message));
      session.pending.delete(id);
    }
    for (const waiter of session.configWaiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(new CommandDeliveryError('node_offline', message));
    }
  }

  // ---- events, health, liveness --------------------------------------------------------

  /** An event the manager raises about a node (bypasses the device event rate limit). */
  raiseManagerEvent(nodeId: string, severity: NodeEventInput['severity'], category: string, message: string, details: Record<string, unknown>): void {
    this.#record({ node_id: nodeId, severity, raw_severity: severity, category, message, details });
  }

  /** Re-reads a node's unacknowledged alarms (after acknowledgements) and re-derives health. */
  async refreshAlarms(nodeId: string): Promise<void> {
    const session = this.#sessions.get(nodeId);
    const events = this.deps.events();
    if (!session || !events) return;
    session.activeAlarms = await this.#loadAlarms(nodeId);
    this.#rederiveHealth(session);
  }

  /**
   * A node's unacknowledged alarms, oldest first. Alarms about the link to the manager (its
   * own `connection` "disconnected" events, the device's `manager` "connection lost" ones) are
   * left out: the node is connected, so they say nothing about its health now.
   */
  async #loadAlarms(nodeId: string): Promise<NodeSession['activeAlarms']> {
    const alarms = (await this.deps.events()?.activeAlarms(nodeId)) ?? [];
    return alarms.filter((alarm) => !LINK_ALARM_CATEGORIES.has(alarm.category)).reverse();
  }

  #record(event: NodeEventInput): void {
    const events = this.deps.events();
    if (!events) {
      this.deps.logger.info({ node_id: event.node_id, severity: event.severity, category: event.category }, event.message);
      return;
    }
    this.#track(
      events.record(event).catch((err: unknown) => this.deps.logger.warn({ err, node_id: event.node_id }, 'could not store a node event'))
    );
  }

  #withinEventRate(session: NodeSession): boolean {
    const window = Math.floor(Date.now() / 60_000);
    let entry = this.#eventWindows.get(session.nodeId);
    if (!entry || entry.window !== window) {
      entry = { window, count: 0 };
      this.#eventWindows.set(session.nodeId, entry);
    }
    entry.count++;
    if (entry.count <= this.options.eventsPerMinute) return true;
    session.counters.events_dropped++;
    if (entry.count === this.options.eventsPerMinute + 1) {
      this.raiseManagerEvent(session.nodeId, 'warning', 'event_rate_limit', `More than ${this.options.eventsPerMinute} events in a minute; further events are dropped until the minute ends`, {
        error_code: 'event_rate_limit_exceeded',
        limit_per_minute: this.options.eventsPerMinute
      });
    }
    return false;
  }

  #summarize(session: NodeSession, stats: unknown): DeviceSummary {
    try {
      return session.driver?.summarize?.(stats) ?? { metrics: {} };
    } catch (err) {
      this.deps.logger.debug({ err, node_id: session.nodeId }, 'driver summarize failed');
      return { metrics: {} };
    }
  }

  #rederiveHealth(session: NodeSession): void {
    const input = { health: session.health, stats: session.stats, active_alarms: session.activeAlarms };
    let health: DeviceHealth;
    try {
      health = (session.driver?.deriveHealth ?? defaultDeriveHealth)(input);
    } catch {
      health = defaultDeriveHealth(input);
    }
    // A driver that answers something else (a Promise, a typo) gets the default derivation.
    if (!HEALTH_VALUES.has(health)) health = defaultDeriveHealth(input);
    this.deps.liveFeed.publish('node_health', { node_id: session.nodeId, health, payload: session.health });
    if (health !== session.persisted.health) {
      session.persisted.health = health;
      this.#track(this.deps.directory.setHealth(session.nodeId, health));
    }
  }

  #sweep(): void {
    const now = Date.now();
    for (const session of this.#sessions.values()) {
      if (now - session.lastMessageAtMs >= this.options.offlineAfterMs) {
        this.deps.logger.info({ node_id: session.nodeId }, 'node silent too long: closing its session');
        session.socket.terminate();
        this.closed(session, `no message for ${Math.round(this.options.offlineAfterMs / 1000)} s`);
      } else if (session.expiresAtMs !== null && session.expiresAtMs <= now) {
        session.socket.close(1008, 'Node has expired');
        this.closed(session, 'node expired');
      } else if (session.ready && now - session.lastMessageAtMs >= this.options.offlineAfterMs / 2) {
        // Quiet, not yet stale: a WS Ping (every device answers with a Pong, which counts as a
        // message) keeps gateways with long heartbeats online and finds dead connections.
        session.socket.ping();
      }
    }
  }

  async #flushLastSeen(): Promise<void> {
    // Sessions heard from since their last flush (closed ones were written by markOffline).
    const batch = new Map<string, number>();
    for (const session of this.#sessions.values()) {
      if (session.lastMessageAtMs > session.lastSeenFlushedMs) {
        batch.set(session.nodeId, session.lastMessageAtMs);
        session.lastSeenFlushedMs = session.lastMessageAtMs;
      }
    }
    if (batch.size === 0) return;
    try {
      await this.deps.directory.touch(batch);
    } catch (err) {
      this.deps.logger.warn({ err }, 'could not persist last-seen times');
    }
  }

  #publishStatus(nodeId: string): void {
    this.#track(
      this.deps.directory.get(nodeId).then((row) => {
        if (row) this.deps.liveFeed.publish('node_status', this.view(row));
      })
    );
  }

  #track(write: Promise<unknown>): void {
    const tracked = write.catch((err: unknown) => this.deps.logger.warn({ err }, 'node state write failed'));
    this.#writes.add(tracked);
    void tracked.finally(() => this.#writes.delete(tracked));
  }

  async #drain(): Promise<void> {
    while (this.#writes.size > 0) await Promise.all([...this.#writes]);
  }
}
