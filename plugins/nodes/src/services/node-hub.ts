import crypto from 'node:crypto';
import type { AuditLog, DriverRegistry } from '@bilbycast/core';
import {
  DEVICE_HEALTHS,
  EVENT_SEVERITIES,
  defaultDeriveHealth,
  defaultEventSeverity,
  NO_SECRETS,
  findRedacted,
  redactSecrets,
  restoreSecrets,
  type CommandDefinition,
  type DeviceHealth,
  type DeviceSummary
} from '@bilbycast/driver-sdk';
import type { Logger } from 'pino';
import { CommandDeliveryError, CommandRefusedError, type CommandOutcome } from './command-errors';
import type { EventRecorder, NodeEventInput } from './event-recorder';
import type { LiveFeed } from './live-feed';
import { NodeAuthLimiter, type LockoutEpisode } from './auth-limiter';
import { NodeBudgets, type BudgetKind } from './node-budget';
import { credentialMatches, hashCredential, newNodeSecret } from './node-credentials';
import type { NodeDirectory } from './node-directory';
import type { NodeSession, Thumbnail } from './node-session';
import { toNodeView, type NodeRow, type NodeView } from './node-view';
import { StatsHistory } from './stats-history';

export interface NodeHubOptions {
  offlineAfterMs: number;
  authFailuresBeforeLockout: number;
  authFailuresPerAddress: number;
  authLockoutWindowMs: number;
  eventsPerMinute: number;
  eventBytesPerMinute: number;
  bytesPerMinute: number;
  lastSeenFlushMs: number;
  historyIntervalMs: number;
  historyPoints: number;
  /** The clock per-minute budgets count by (tests give a manual one). */
  now?: () => number;
}

/** Who signs in: the limiter counts failures per source address (and per address and credential). */
interface SignInSource {
  address: string | null;
  limiterKey: string;
}

export type AuthResult =
  | ({ ok: true; row: NodeRow; method: 'auth_ok'; credentialHash: string } & SignInSource)
  | ({ ok: true; row: NodeRow; method: 'register_ack'; secret: string; tokenHash: string; credentialHash: string } & SignInSource)
  | { ok: false; message: string };

/** A frame from a signed-in node: process it, only if it answers a command in flight, or not at all. */
export type FrameAdmission = 'process' | 'answers_only' | 'drop';

/** How long after a non-empty `flows[]` an edge's `flows: []` fallback sample is taken as a quirk. */
const EMPTY_FLOWS_GRACE_MS = 3000;
const MAX_THUMBNAILS_PER_NODE = 64;
/** A thumbnail is a small JPEG (an edge's is 320 px wide, tens of KB): 1 MiB of base64 is plenty. */
const MAX_THUMBNAIL_CHARS = 1024 * 1024;
/** All of a node's thumbnails together. */
const MAX_THUMBNAIL_CHARS_PER_NODE = 8 * 1024 * 1024;
/** Flow, input and output ids a thumbnail is kept under (a real edge's are at most 64 bytes). */
const MAX_ID_BYTES = 256;
/**
 * Events about the link to the manager: the manager's own `connection` events and the
 * device's `manager` ones ("Manager connection lost, rotating to next URL", sent after every
 * reconnect). They are stored like any event but never count toward health: the node is
 * connected, so they say nothing about its health now.
 */
const LINK_ALARM_CATEGORIES: ReadonlySet<string> = new Set(['connection', 'manager']);
/** Redacted from the config of a node whose driver declares no `config_secrets` (or is not loaded). */
const FALLBACK_CONFIG_SECRETS = ['**.password', '**.passphrase', '**.secret', '**.token', '**.api_token', '**.api_key', '**.node_secret', '**.registration_token', '**.token_secret'];
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
  readonly #budgets: NodeBudgets;
  /** When a lockout was last reported per node (see #mayReportLockout). */
  readonly #lockoutReports = new Map<string, number>();
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
    this.#limiter = new NodeAuthLimiter({
      maxFailures: options.authFailuresBeforeLockout,
      maxFailuresPerAddress: options.authFailuresPerAddress,
      windowMs: options.authLockoutWindowMs
    });
    this.#budgets = new NodeBudgets(
      { bytesPerMinute: options.bytesPerMinute, eventsPerMinute: options.eventsPerMinute, eventBytesPerMinute: options.eventBytesPerMinute },
      options.now
    );
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

  /** Checks a device's `auth` payload; `address` is where it comes from (limits are per address). */
  async authenticate(payload: unknown, address: string | null): Promise<AuthResult> {
    const auth = (payload && typeof payload === 'object' ? payload : {}) as Record<string, unknown>;
    const nodeId = typeof auth.node_id === 'string' && auth.node_id.length <= 64 ? auth.node_id : undefined;
    const secret = typeof auth.node_secret === 'string' && auth.node_secret.length <= 512 ? auth.node_secret : undefined;
    const token = typeof auth.registration_token === 'string' && auth.registration_token.length <= 512 ? auth.registration_token : undefined;
    const now = new Date().toISOString();

    if (nodeId && secret) {
      const source = { address, limiterKey: nodeId };
      return this.#checked(source, async () => {
        const row = await this.deps.directory.get(nodeId);
        const current = row ? credentialMatches(secret, row.secret_hash) : false;
        const previous = row && !current ? credentialMatches(secret, row.previous_secret_hash) : false;
        if (!row || (!current && !previous)) return this.#failure(source, row, 'Invalid node credentials');
        if (row.expires_at && row.expires_at <= now) return { ok: false, message: 'Node has expired' };
        if (current && row.previous_secret_hash) this.#track(this.deps.directory.forgetPreviousSecret(row.id));
        return { ok: true, row, method: 'auth_ok', credentialHash: hashCredential(secret), ...source };
      });
    }
    if (token) {
      const source = { address, limiterKey: `token:${token.slice(0, 8)}` };
      return this.#checked(source, async () => {
        const row = await this.deps.directory.findByRegistrationToken(token);
        if (!row) return this.#failure(source, undefined, 'Invalid or already used registration token');
        if (row.registration_expires_at && row.registration_expires_at <= now) return this.#failure(source, row, 'Registration token has expired');
        if (row.expires_at && row.expires_at <= now) return { ok: false, message: 'Node has expired' };
        const newSecret = newNodeSecret();
        const tokenHash = hashCredential(token);
        if (!(await this.deps.directory.completeRegistration(row.id, tokenHash, newSecret))) {
          return this.#failure(source, row, 'Invalid or already used registration token');
        }
        return { ok: true, row, method: 'register_ack', secret: newSecret, tokenHash, credentialHash: hashCredential(newSecret), ...source };
      });
    }
    return { ok: false, message: 'Missing credentials: send node_id and node_secret, or a registration_token' };
  }

  /** Runs a credential check the limiter allows, counted as in flight until it settles. */
  async #checked(source: SignInSource, check: () => Promise<AuthResult>): Promise<AuthResult> {
    const gate = this.#limiter.gate(source.address, source.limiterKey);
    if (!gate.allowed) {
      return {
        ok: false,
        message: gate.reason === 'address_locked' ? 'Too many failed sign-ins from this address; try again later' : 'Too many failed attempts; locked out, try again later'
      };
    }
    const settle = this.#limiter.begin(source.address, source.limiterKey);
    try {
      return await check();
    } finally {
      settle();
    }
  }

  /**
   * A failed sign-in. A lockout is reported (log, audit, node event) when an episode starts;
   * the lockouts that follow while the device keeps retrying are only counted.
   */
  #failure(source: SignInSource, row: NodeRow | undefined, message: string): AuthResult {
    const outcome = this.#limiter.recordFailure(source.address, source.limiterKey);
    if (outcome.lockout === 'address') {
      this.deps.logger.warn({ address: source.address }, 'node sign-in failures from one address: further attempts refused for the window');
    } else if (outcome.lockout === 'key' && outcome.episode?.isNew && this.#mayReportLockout(row?.id ?? 'token')) {
      const key = source.limiterKey;
      const details = { key: key.startsWith('token:') ? key : undefined, address: source.address, failures: this.options.authFailuresBeforeLockout };
      this.deps.logger.warn({ key, address: source.address }, 'node authentication locked out');
      this.#track(this.deps.audit.record({ action: 'node.auth_lockout', target_type: 'node', target_id: row?.id ?? null, outcome: 'failure', ip: source.address, details }));
      if (row) {
        this.#raiseManagerEvent(
          row.id,
          'warning',
          'auth',
          `Authentication locked out after ${this.options.authFailuresBeforeLockout} failures from ${source.address ?? 'an unknown address'}`,
          { error_code: 'auth_lockout', address: source.address },
          'exempt'
        );
      }
    }
    return { ok: false, message };
  }

  /**
   * Lockout reports (audit row and event) are kept out of the node's event budget — someone
   * else's failures must not use it up — and limited instead to one per node (one for all
   * registration tokens) per lockout window, whatever the addresses.
   */
  #mayReportLockout(subject: string): boolean {
    const now = Date.now();
    const last = this.#lockoutReports.get(subject);
    if (last !== undefined && now - last < this.options.authLockoutWindowMs) return false;
    this.#lockoutReports.set(subject, now);
    return true;
  }

  /** A sign-in succeeded after lockouts: one event and audit entry close the episode. */
  #lockoutCleared(nodeId: string, source: SignInSource, episode: LockoutEpisode): void {
    const details = { lockouts: episode.lockouts, since: new Date(episode.startedAtMs).toISOString(), address: source.address };
    this.#track(this.deps.audit.record({ action: 'node.auth_lockout_cleared', target_type: 'node', target_id: nodeId, outcome: 'success', ip: source.address, details }));
    this.#raiseManagerEvent(nodeId, 'info', 'auth', `Signed in after ${episode.lockouts} authentication lockout${episode.lockouts === 1 ? '' : 's'}`, details, 'exempt');
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
      healthAtMs: 0,
      persisted: { software_version: info.softwareVersion, capabilities: row.capabilities, health: row.health },
      activeAlarms: [],
      config: undefined,
      configSecrets: NO_SECRETS,
      pending: new Map(),
      configWaiters: [],
      thumbnails: new Map(),
      thumbnailChars: 0,
      counters: { messages: 0, malformed: 0, unknown_types: 0, oversize: 0, binary: 0, late_acks: 0, events_dropped: 0, budget_dropped: 0 },
      silentClose: false,
      connectEventStored: false,
      answersReadOverBudget: 0,
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
    // Only a sign-in that really succeeded clears the failures (and ends a lockout episode).
    const episode = this.#limiter.recordSuccess(auth.address, auth.limiterKey);
    if (this.deps.events()) this.#setAlarms(session, await this.#loadAlarms(row.id).catch(() => []));
    if (episode) this.#lockoutCleared(row.id, auth, episode);
    session.connectEventStored = this.#raiseManagerEvent(row.id, 'info', 'connection', 'Node connected to manager', {
      software_version: info.softwareVersion,
      protocol_version: info.protocolVersion,
      remote_addr: info.remoteAddr,
      method: auth.method
    });
    if (info.deviceType !== null && info.deviceType !== row.device_type) {
      this.#raiseManagerEvent(row.id, 'warning', 'compatibility', `Device reports type "${info.deviceType}" but is registered as "${row.device_type}"`, {
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
    // The disconnect of a session whose connect was stored is always stored: a device that used
    // up its event budget must not hide the alarm that matters most (pairs are bounded by the
    // connect events, which do count).
    this.#raiseManagerEvent(session.nodeId, 'critical', 'connection', `Node disconnected from manager (${reason})`, {}, session.connectEventStored ? 'exempt' : 'budget');
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
    this.#budgets.forget(nodeId);
    this.#lockoutReports.delete(nodeId);
  }

  /** Whether the session is still the node's live one (a deleted, re-tokened or superseded one is not). */
  owns(session: NodeSession): boolean {
    return this.#sessions.get(session.nodeId) === session;
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

  /**
   * Counts a frame against the node's byte budget. Over budget, frames are dropped unread —
   * unless a command is waiting for its answer, which is then still read (and only answers
   * are processed).
   */
  admitFrame(session: NodeSession, bytes: number, mayBeAnswer: () => boolean): FrameAdmission {
    const decision = this.#budgets.takeBytes(session.nodeId, bytes);
    if (decision.exceeded) this.#budgetExceeded(session.nodeId, decision.exceeded);
    if (decision.allowed) {
      session.answersReadOverBudget = 0;
      return 'process';
    }
    // Over budget, a frame is read only if it may be an answer, and frames read that answered
    // nothing are limited to the requests waiting: a device cannot get frames parsed by
    // pretending to answer (a real answer gives its read back, see #answered).
    const waiting = session.pending.size + session.configWaiters.length;
    // The look at the frame's bytes is only taken over budget: it stays off the per-frame path.
    if (session.answersReadOverBudget < waiting && mayBeAnswer()) {
      session.answersReadOverBudget++;
      return 'answers_only';
    }
    session.counters.budget_dropped++;
    return 'drop';
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
    session.healthAtMs = Date.now();
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

  /** A device event; `bytes` is the size of its frame (what storing it costs). */
  onEvent(session: NodeSession, payload: unknown, bytes: number): void {
    if (!payload || typeof payload !== 'object' || Array.isArray(payload)) {
      session.counters.malformed++;
      return;
    }
    if (!this.#takeEvent(session.nodeId, bytes)) {
      session.counters.events_dropped++;
      return;
    }
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
    const category = text(event.category) ?? 'unknown';
    this.#record({
      node_id: session.nodeId,
      severity,
      raw_severity: raw,
      category,
      message: text(event.message) ?? 'Unknown event',
      // Any JSON the device sent (the gateway SDK allows a string or an array); the store keeps a non-object as {value}.
      details: event.details ?? null,
      flow_id: text(event.flow_id),
      input_id: text(event.input_id),
      output_id: text(event.output_id)
    });
    if (severity !== 'info' && this.#addAlarm(session, { severity, raw_severity: raw, category })) this.#rederiveHealth(session);
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
    if (Buffer.byteLength(thumb.flow_id) > MAX_ID_BYTES || (inputId !== null && Buffer.byteLength(inputId) > MAX_ID_BYTES)) {
      session.counters.oversize++;
      return;
    }
    const key = `${thumb.flow_id}\u0000${inputId ?? ''}`;
    const replaced = session.thumbnails.get(key);
    if (!replaced && session.thumbnails.size >= MAX_THUMBNAILS_PER_NODE) return;
    if (session.thumbnailChars - (replaced?.data.length ?? 0) + data.length > MAX_THUMBNAIL_CHARS_PER_NODE) {
      session.counters.oversize++;
      return;
    }
    session.thumbnailChars += data.length - (replaced?.data.length ?? 0);
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

  /** A `config_response`: only as the answer to a `get_config` (an unasked one is counted as late and ignored). */
  onConfigResponse(session: NodeSession, payload: unknown): void {
    if (session.configWaiters.length === 0) {
      session.counters.late_acks++;
      return;
    }
    // No device wraps its config, but the gateway SDK documents `{config: …}` as possible.
    const config =
      payload && typeof payload === 'object' && !Array.isArray(payload) && Object.keys(payload).length === 1 && 'config' in payload
        ? (payload as { config: unknown }).config
        : payload;
    // Secrets the driver declares never leave the session: only the redacted copy is cached or shown.
    const { config: shown, secrets } = redactSecrets(config, session.driver?.config_secrets ?? FALLBACK_CONFIG_SECRETS);
    session.config = { value: shown, at: new Date().toISOString() };
    session.configSecrets = secrets;
    const waiter = session.configWaiters.shift();
    if (waiter) {
      clearTimeout(waiter.timer);
      this.#answered(session);
      waiter.resolve(shown);
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
    this.#answered(session);
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

  /**
   * The parameters to send for a validated command, or a refusal: the driver may refuse it in
   * the node's current state (409), secrets redacted from a config shown earlier are put back
   * into the command's `config_param`, and a placeholder that cannot be restored — or one
   * anywhere else — is refused (400) rather than sent to the device as if it were the secret.
   */
  prepareCommand(row: NodeRow, command: CommandDefinition, params: Record<string, unknown>): Record<string, unknown> {
    const session = this.#live(row.id);
    this.#checkWithDriver(session, row, command.name);
    let prepared = params;
    if (command.config_param !== undefined && params[command.config_param] !== undefined) {
      const { config, unresolved } = restoreSecrets(params[command.config_param], session.configSecrets);
      if (unresolved.length > 0) {
        throw new CommandRefusedError(
          400,
          'secret_placeholder_unresolved',
          `${command.config_param} holds ${unresolved.length === 1 ? 'a redacted secret' : 'redacted secrets'} the manager cannot restore (${unresolved.join(', ')}): ` +
            'give the real value, or re-read the configuration and edit that',
          { paths: unresolved }
        );
      }
      prepared = { ...params, [command.config_param]: config };
    }
    const placeholders = findRedacted(command.config_param === undefined ? prepared : { ...prepared, [command.config_param]: null });
    if (placeholders.length > 0) {
      throw new CommandRefusedError(400, 'secret_placeholder_unresolved', `A redacted secret placeholder is not a value to send (${placeholders.join(', ')}): give the real value`, {
        paths: placeholders
      });
    }
    return prepared;
  }

  /** Asks the node's driver whether the command may be sent now (a throwing hook refuses: the safe side). */
  #checkWithDriver(session: NodeSession, row: NodeRow, command: string): void {
    const check = session.driver?.refuseCommand;
    if (!check) return;
    let refusal: ReturnType<typeof check>;
    try {
      refusal = check({
        command,
        registered_at: row.registered_at,
        connected_at: session.connectedAt,
        secret_rotation_pending: row.previous_secret_hash !== null,
        now_ms: Date.now(),
        health: session.health,
        health_at_ms: session.healthAtMs || null,
        stats: session.stats,
        stats_at_ms: session.statsAtMs || null
      });
    } catch (err) {
      this.deps.logger.warn({ err, node_id: row.id, command }, 'driver command check failed');
      throw new CommandRefusedError(409, 'command_check_failed', `The ${session.driver?.display_name ?? row.device_type} driver could not check ${command}; it was not sent`);
    }
    if (refusal) {
      const code = typeof refusal.error_code === 'string' && /^[a-z][a-z0-9_]{0,63}$/.test(refusal.error_code) ? refusal.error_code : 'command_refused';
      throw new CommandRefusedError(409, code, typeof refusal.message === 'string' ? refusal.message.slice(0, 2000) : `${command} cannot be sent now`);
    }
  }

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
          // The device changed something: the cached config is stale, and so are the secrets
          // behind its placeholders (an edit of the old config must be made on a fresh read).
          if (outcome.success && mutates) {
            session.config = undefined;
            session.configSecrets = NO_SECRETS;
          }
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
   * blip, PROTOCOL.md §10.2). Only a device's explicit refusal undoes the rotation.
   */
  async rotateSecret(row: NodeRow, timeoutMs: number): Promise<CommandOutcome> {
    const nodeId = row.id;
    const session = this.#live(nodeId);
    if (session.authMethod !== 'auth_ok') {
      throw new CommandDeliveryError('rotation_unavailable', 'The node registered on this connection; rotate its secret after it reconnects');
    }
    this.#checkWithDriver(session, row, 'rotate_secret');
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

  /** A frame read over budget answered a request: it does not count against the reads allowed. */
  #answered(session: NodeSession): void {
    if (session.answersReadOverBudget > 0) session.answersReadOverBudget--;
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

  /**
   * An event the manager raises about a node; true when it is stored. By default it counts
   * against the node's event budget like the device's own (a device that reconnects in a loop
   * makes the manager raise events too); `exempt` ones are bounded otherwise (see callers).
   */
  #raiseManagerEvent(
    nodeId: string,
    severity: NodeEventInput['severity'],
    category: string,
    message: string,
    details: Record<string, unknown>,
    budget: 'budget' | 'exempt' = 'budget'
  ): boolean {
    const bytes = Buffer.byteLength(message) + Buffer.byteLength(JSON.stringify(details)) + Buffer.byteLength(category) + 64;
    if (budget === 'budget' && !this.#takeEvent(nodeId, bytes)) return false;
    this.#record({ node_id: nodeId, severity, raw_severity: severity, category, message, details });
    return true;
  }

  /** Re-reads a node's unacknowledged alarms (after acknowledgements) and re-derives health. */
  async refreshAlarms(nodeId: string): Promise<void> {
    const session = this.#sessions.get(nodeId);
    if (!session || !this.deps.events()) return;
    this.#setAlarms(session, await this.#loadAlarms(nodeId));
    this.#rederiveHealth(session);
  }

  /** A node's unacknowledged alarms that count toward health, oldest first (link alarms left out by the query, so they cannot crowd out real ones). */
  async #loadAlarms(nodeId: string): Promise<NodeSession['activeAlarms']> {
    return ((await this.deps.events()?.activeAlarms(nodeId, LINK_ALARM_CATEGORIES)) ?? []).reverse();
  }

  /**
   * The only two ways into a session's active alarms (what health is derived from): both
   * leave out alarms about the link to the manager, however they arrive.
   */
  #setAlarms(session: NodeSession, alarms: NodeSession['activeAlarms']): void {
    session.activeAlarms = alarms.filter((alarm) => !LINK_ALARM_CATEGORIES.has(alarm.category)).slice(-MAX_ACTIVE_ALARMS);
  }

  /** Adds a live alarm; false when it does not count toward health. */
  #addAlarm(session: NodeSession, alarm: NodeSession['activeAlarms'][number]): boolean {
    if (LINK_ALARM_CATEGORIES.has(alarm.category)) return false;
    session.activeAlarms.push(alarm);
    if (session.activeAlarms.length > MAX_ACTIVE_ALARMS) session.activeAlarms.shift();
    return true;
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

  #takeEvent(nodeId: string, bytes: number): boolean {
    const decision = this.#budgets.takeEvent(nodeId, bytes);
    if (decision.exceeded) this.#budgetExceeded(nodeId, decision.exceeded);
    return decision.allowed;
  }

  /** One warning per node, limit and minute (itself outside the budget it reports). */
  #budgetExceeded(nodeId: string, kind: BudgetKind): void {
    const { eventsPerMinute, eventBytesPerMinute, bytesPerMinute } = this.options;
    const warning = {
      events: { code: 'event_rate_limit_exceeded', limit: eventsPerMinute, text: `More than ${eventsPerMinute} events in a minute; further events are dropped until the minute ends` },
      event_bytes: { code: 'event_bytes_limit_exceeded', limit: eventBytesPerMinute, text: `More than ${eventBytesPerMinute} bytes of events in a minute; further events are dropped until the minute ends` },
      bytes: { code: 'message_bytes_limit_exceeded', limit: bytesPerMinute, text: `More than ${bytesPerMinute} bytes of messages in a minute; further messages are dropped until the minute ends` }
    }[kind];
    this.deps.logger.warn({ node_id: nodeId, limit: kind }, 'node over its per-minute budget');
    const category = kind === 'bytes' ? 'message_rate_limit' : 'event_rate_limit';
    this.#record({ node_id: nodeId, severity: 'warning', raw_severity: 'warning', category, message: warning.text, details: { error_code: warning.code, limit_per_minute: warning.limit } });
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
