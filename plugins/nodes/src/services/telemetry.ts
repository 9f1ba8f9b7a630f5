import { DEVICE_HEALTHS, EVENT_SEVERITIES, defaultDeriveHealth, defaultEventSeverity, type DeviceHealth, type DeviceSummary } from '@bilbycast/driver-sdk';
import type { Logger } from 'pino';
import type { BackgroundWrites } from './background-writes';
import type { ActiveAlarm, NodeEventInput } from './event-recorder';
import type { LiveFeed } from './live-feed';
import type { NodeDirectory } from './node-directory';
import type { NodeEvents } from './node-events';
import type { NodeSession, SessionTelemetry, Thumbnail } from './node-session';
import type { NodeRow } from './node-view';
import { StatsHistory, type HistoryPoint } from './stats-history';

export interface TelemetryOptions {
  historyIntervalMs: number;
  historyPoints: number;
}

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
const SEVERITIES = new Set<unknown>(EVENT_SEVERITIES);
const HEALTH_VALUES = new Set<unknown>(DEVICE_HEALTHS);
/** Unacknowledged alarms kept per session for health derivation (the newest; as many as the events store loads). */
const MAX_ACTIVE_ALARMS = 500;

/** A new session's telemetry: nothing reported yet, the row's persisted values as the baseline. */
export function newSessionTelemetry(row: NodeRow, softwareVersion: string | null): SessionTelemetry {
  return {
    stats: null,
    statsAtMs: 0,
    flowsAtMs: 0,
    summary: null,
    health: null,
    healthAtMs: 0,
    persisted: { software_version: softwareVersion, capabilities: row.capabilities, health: row.health },
    activeAlarms: [],
    alarmsAdded: 0,
    thumbnails: new Map(),
    thumbnailChars: 0
  };
}

/**
 * What devices report unasked — `stats`, `health`, `event`, `thumbnail` (PROTOCOL.md §6, §11) —
 * and what the manager derives from it: the driver's summary and chart history, the node's
 * health (from its health payload, stats and unacknowledged alarms). Stats and health are
 * last-value-wins in memory; the database is written only when health, version or
 * capabilities change. Publishes `node_stats` and `node_health` on the live feed.
 */
export class Telemetry {
  /** Chart history per node; it outlives sessions (a reconnect keeps the chart). */
  readonly #history = new Map<string, StatsHistory>();
  /** Sessions whose driver's summarize hook already failed (warned once per session). */
  readonly #summaryWarned = new WeakSet<NodeSession>();

  constructor(
    private readonly deps: { directory: NodeDirectory; liveFeed: LiveFeed; events: NodeEvents; logger: Logger; writes: BackgroundWrites },
    private readonly options: TelemetryOptions
  ) {}

  onStats(session: NodeSession, payload: unknown): void {
    if (!payload || typeof payload !== 'object' || Array.isArray(payload)) {
      session.counters.malformed++;
      return;
    }
    const state = session.telemetry;
    const now = Date.now();
    let stats = payload as Record<string, unknown>;
    const flows = stats.flows;
    const hasFlows = Array.isArray(flows) && flows.length > 0;
    if (Array.isArray(flows) && !hasFlows && now - state.flowsAtMs < EMPTY_FLOWS_GRACE_MS) {
      // The edge's 1 s fallback sample says `flows: []` between normal samples: not a deletion.
      const previousFlows = (state.stats as { flows?: unknown } | null)?.flows;
      if (Array.isArray(previousFlows)) stats = { ...stats, flows: previousFlows };
    }
    // Before any state changes: a summary that cannot be kept (not plain JSON) is replaced, never stored.
    const summary = this.#summarize(session, stats);
    if (hasFlows) state.flowsAtMs = now;
    state.stats = stats;
    state.statsAtMs = now;
    state.summary = summary;
    let history = this.#history.get(session.nodeId);
    if (!history) {
      history = new StatsHistory(this.options.historyPoints, this.options.historyIntervalMs);
      this.#history.set(session.nodeId, history);
    }
    history.add(now, summary);
    // Only what every dashboard needs goes on the bus; full stats are read from the node service for detail pages.
    this.deps.liveFeed.publish('node_stats', { node_id: session.nodeId, at_ms: now, summary });
  }

  onHealth(session: NodeSession, payload: unknown): void {
    if (!payload || typeof payload !== 'object' || Array.isArray(payload)) {
      session.counters.malformed++;
      return;
    }
    const state = session.telemetry;
    // Last one wins: partial health messages are never merged.
    state.health = payload;
    state.healthAtMs = Date.now();
    const health = payload as { version?: unknown; capabilities?: unknown };
    const version = typeof health.version === 'string' ? health.version.slice(0, 256) : null;
    const capabilities = Array.isArray(health.capabilities) ? health.capabilities.filter((c): c is string => typeof c === 'string').slice(0, 500) : null;
    // Health arrives every 15 s per node; the row changes only when version or capabilities do
    // (the full payload is stored when the node disconnects).
    const capabilitiesJson = capabilities === null ? null : JSON.stringify(capabilities);
    const changed: { software_version?: string; capabilities?: string } = {};
    if (version !== null && version !== state.persisted.software_version) changed.software_version = version;
    if (capabilitiesJson !== null && capabilitiesJson !== state.persisted.capabilities) changed.capabilities = capabilitiesJson;
    if (Object.keys(changed).length > 0) {
      Object.assign(state.persisted, changed);
      this.deps.writes.track(this.deps.directory.recordHealth(session.nodeId, changed));
    }
    this.#rederiveHealth(session);
  }

  /** A device event; `bytes` is the size of its frame (what storing it costs). */
  onEvent(session: NodeSession, payload: unknown, bytes: number): void {
    if (!payload || typeof payload !== 'object' || Array.isArray(payload)) {
      session.counters.malformed++;
      return;
    }
    if (!this.deps.events.takeEvent(session.nodeId, bytes)) {
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
    this.deps.events.record({
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
    const state = session.telemetry;
    const key = thumbnailKey(thumb.flow_id, inputId);
    const replaced = state.thumbnails.get(key);
    if (!replaced && state.thumbnails.size >= MAX_THUMBNAILS_PER_NODE) return;
    if (state.thumbnailChars - (replaced?.data.length ?? 0) + data.length > MAX_THUMBNAIL_CHARS_PER_NODE) {
      session.counters.oversize++;
      return;
    }
    state.thumbnailChars += data.length - (replaced?.data.length ?? 0);
    const thumbnail: Thumbnail = {
      flow_id: thumb.flow_id,
      input_id: inputId,
      data,
      width: typeof thumb.width === 'number' ? thumb.width : null,
      height: typeof thumb.height === 'number' ? thumb.height : null,
      at: new Date().toISOString()
    };
    state.thumbnails.set(key, thumbnail);
  }

  thumbnail(session: NodeSession, flowId: string, inputId: string | null): Thumbnail | undefined {
    return session.telemetry.thumbnails.get(thumbnailKey(flowId, inputId));
  }

  /** Summary points for charts, oldest first, from `sinceMs` on. */
  history(nodeId: string, sinceMs: number): HistoryPoint[] {
    return this.#history.get(nodeId)?.points(sinceMs) ?? [];
  }

  /** At sign-in: the node's unacknowledged alarms (none when they cannot be read). */
  async loadAlarms(session: NodeSession): Promise<void> {
    const alarms = await this.#alarmsOf(session.nodeId).catch(() => []);
    if (alarms) this.#setAlarms(session, alarms);
  }

  /**
   * After acknowledgements: the alarms are read again and health re-derived — only while the
   * session still owns the node (`owns`, checked after the read). Alarms that arrived during the
   * read are kept on top of what it found.
   */
  async refreshAlarms(session: NodeSession, owns: (session: NodeSession) => boolean): Promise<void> {
    const addedBefore = session.telemetry.alarmsAdded;
    const stored = await this.#alarmsOf(session.nodeId);
    if (!stored || !owns(session)) return;
    const addedSince = session.telemetry.alarmsAdded - addedBefore;
    // Live alarms are appended: those added since the read began are the newest ones.
    this.#setAlarms(session, addedSince > 0 ? [...stored, ...session.telemetry.activeAlarms.slice(-addedSince)] : stored);
    this.#rederiveHealth(session);
  }

  forget(nodeId: string): void {
    this.#history.delete(nodeId);
  }

  /**
   * A node's unacknowledged alarms that count toward health, oldest first (link alarms left out
   * by the query, so they cannot crowd out real ones); undefined without an event store. Async,
   * so a store that throws rather than rejects fails the same way.
   */
  async #alarmsOf(nodeId: string): Promise<ActiveAlarm[] | undefined> {
    const alarms = await this.deps.events.activeAlarms(nodeId, LINK_ALARM_CATEGORIES);
    return alarms?.reverse();
  }

  /**
   * The only two ways into a session's active alarms (what health is derived from): both
   * leave out alarms about the link to the manager, however they arrive.
   */
  #setAlarms(session: NodeSession, alarms: ActiveAlarm[]): void {
    session.telemetry.activeAlarms = alarms.filter((alarm) => !LINK_ALARM_CATEGORIES.has(alarm.category)).slice(-MAX_ACTIVE_ALARMS);
  }

  /** Adds a live alarm; false when it does not count toward health. */
  #addAlarm(session: NodeSession, alarm: ActiveAlarm): boolean {
    if (LINK_ALARM_CATEGORIES.has(alarm.category)) return false;
    const alarms = session.telemetry.activeAlarms;
    alarms.push(alarm);
    if (alarms.length > MAX_ACTIVE_ALARMS) alarms.shift();
    session.telemetry.alarmsAdded++;
    return true;
  }

  /**
   * The driver's summary as plain JSON (a copy): it goes on the bus, into API answers and
   * dashboard snapshots, so a BigInt or a cycle would break them all. A hook that throws or
   * answers something that is not JSON gets an empty summary (warned once per session).
   */
  #summarize(session: NodeSession, stats: unknown): DeviceSummary {
    try {
      const summary = session.driver?.summarize?.(stats) ?? { metrics: {} };
      // JSON.stringify throws on a BigInt or a cycle, and answers undefined (JSON.parse then throws) for a function.
      return JSON.parse(JSON.stringify(summary)) as DeviceSummary;
    } catch (err) {
      if (this.#summaryWarned.has(session)) {
        this.deps.logger.debug({ err, node_id: session.nodeId }, 'driver summarize failed');
      } else {
        this.#summaryWarned.add(session);
        const context = { err, node_id: session.nodeId, device_type: session.driver?.device_type };
        this.deps.logger.warn(context, 'driver summarize failed or answered no plain JSON: empty summary used');
      }
      return { metrics: {} };
    }
  }

  #rederiveHealth(session: NodeSession): void {
    const state = session.telemetry;
    const input = { health: state.health, stats: state.stats, active_alarms: state.activeAlarms };
    let health: DeviceHealth;
    try {
      health = (session.driver?.deriveHealth ?? defaultDeriveHealth)(input);
    } catch {
      health = defaultDeriveHealth(input);
    }
    // A driver that answers something else (a Promise, a typo) gets the default derivation.
    if (!HEALTH_VALUES.has(health)) health = defaultDeriveHealth(input);
    this.deps.liveFeed.publish('node_health', { node_id: session.nodeId, health, payload: state.health });
    if (health !== state.persisted.health) {
      state.persisted.health = health;
      this.deps.writes.track(this.deps.directory.setHealth(session.nodeId, health));
    }
  }
}

function thumbnailKey(flowId: string, inputId: string | null): string {
  return `${flowId}\u0000${inputId ?? ''}`;
}
