import type { IncomingMessage } from 'node:http';
import type { BrowserSessions, EndedSessions } from '@bilbycast/auth';
import { canAccessNode, type ManagerCredentials, type UpgradeDecision, type WebSocketRoute } from '@bilbycast/core';
import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import { frameText } from './frame-text';
import type { EventRecorder } from '../services/event-recorder';
import type { LiveFeed, LiveFeedMessages } from '../services/live-feed';
import type { NodeDirectory } from '../services/node-directory';
import type { NodeService } from '../services/node-service';

export interface DashboardOptions {
  /** Stats are sent at most this often per node (default 1 s). */
  statsIntervalMs: number;
  /** Above this many unsent bytes a browser's stats updates are skipped (latest kept). */
  softBufferBytes: number;
  /** Above this many unsent bytes a browser is disconnected (it reconnects and gets a snapshot). */
  hardBufferBytes: number;
  /** How often a connected browser's session is checked again (revoked → closed). */
  revalidateMs: number;
}

interface Client {
  socket: WebSocket;
  credentials: ManagerCredentials;
  cookieHeader: string;
  /** Nodes whose full stats (not only the summary) this browser asked for: its open detail pages. */
  detailed: Set<string>;
  /** Summaries waiting for the next tick (full stats are read at the tick, for detailed nodes only). */
  pendingStats: Map<string, LiveFeedMessages['node_stats']>;
  countDirty: boolean;
}

const MAX_DETAILED_NODES = 20;
/** Close code for a browser whose session ended (4000–4999 are application codes). */
const CLOSE_SESSION_ENDED = 4401;

/**
 * `/ws/dashboard`: a session-authenticated, one-way live feed for the web UI. On connect a
 * `snapshot` of the nodes the user may see; then `node_status`, `node_removed`, `node_health`,
 * `event`, `events_acknowledged` and `event_count` as they happen, and `node_stats` coalesced to one per node per
 * interval. A browser that cannot keep up has stats skipped, and is dropped past a hard limit.
 */
export class DashboardFeed {
  readonly #clients = new Set<Client>();
  #timers: NodeJS.Timeout[] = [];
  #stopListening: (() => void) | undefined;

  constructor(
    private readonly deps: {
      directory: NodeDirectory;
      nodes: NodeService;
      liveFeed: LiveFeed;
      events: () => EventRecorder | undefined;
      browserSessions: () => BrowserSessions | undefined;
      logger: Logger;
    },
    private readonly options: DashboardOptions
  ) {
    const { liveFeed } = deps;
    liveFeed.subscribe('node_status', (node) => this.#toVisible(node.id, { type: 'node_status', node }));
    liveFeed.subscribe('node_removed', ({ node_id }) => {
      for (const client of this.#clients) {
        client.pendingStats.delete(node_id);
        if (!canAccessNode(client.credentials, node_id)) continue;
        this.#send(client, { type: 'node_removed', node_id });
        // Its events went with it.
        client.countDirty = true;
      }
    });
    liveFeed.subscribe('events_removed', () => {
      for (const client of this.#clients) client.countDirty = true;
    });
    liveFeed.subscribe('node_health', ({ node_id, health, payload }) => {
      for (const client of this.#clients) {
        if (!canAccessNode(client.credentials, node_id)) continue;
        this.#send(client, { type: 'node_health', node_id, health, ...(client.detailed.has(node_id) ? { payload } : {}) });
      }
    });
    liveFeed.subscribe('node_stats', (stats) => {
      for (const client of this.#clients) {
        if (canAccessNode(client.credentials, stats.node_id)) client.pendingStats.set(stats.node_id, stats);
      }
    });
    liveFeed.subscribe('event', (event) => {
      for (const client of this.#clients) {
        if (!canAccessNode(client.credentials, event.node_id)) continue;
        this.#send(client, { type: 'event', event });
        if (event.severity !== 'info') client.countDirty = true;
      }
    });
    liveFeed.subscribe('events_acknowledged', ({ node_ids }) => {
      for (const client of this.#clients) {
        const visible = node_ids.filter((id) => canAccessNode(client.credentials, id));
        if (visible.length === 0) continue;
        client.countDirty = true;
        this.#send(client, { type: 'events_acknowledged', node_ids: visible });
      }
    });
  }

  get route(): WebSocketRoute<{ credentials: ManagerCredentials; cookieHeader: string }> {
    return {
      maxPayload: 64 * 1024,
      authorize: (request) => this.#authorize(request),
      onConnection: (socket, _request, context) => {
        void this.#connected(socket, context.credentials, context.cookieHeader);
      }
    };
  }

  start(): void {
    // A revoked session's feed closes at once, not at the next re-check.
    this.#stopListening = this.deps.browserSessions()?.onEnded((ended) => this.#sessionsEnded(ended));
    this.#timers = [
      setInterval(
        () => void this.#tick().catch((err: unknown) => this.deps.logger.warn({ err }, 'dashboard stats tick failed')),
        this.options.statsIntervalMs
      ).unref(),
      setInterval(
        () => void this.#revalidate().catch((err: unknown) => this.deps.logger.warn({ err }, 'dashboard revalidation failed')),
        this.options.revalidateMs
      ).unref()
    ];
  }

  stop(): void {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    this.#stopListening?.();
  }

  #sessionsEnded(ended: EndedSessions): void {
    for (const client of this.#clients) {
      const sessionId = client.credentials.session_id;
      const byId = sessionId !== undefined && (ended.sessionIds ?? []).includes(sessionId);
      const byUser = ended.userId === client.credentials.user.id && sessionId !== ended.exceptSessionId;
      if (byId || byUser) this.#endFeed(client);
    }
  }

  #endFeed(client: Client): void {
    this.#send(client, { type: 'session_invalidated' });
    client.socket.close(CLOSE_SESSION_ENDED, 'Session ended');
    this.#clients.delete(client);
  }

  async #authorize(request: IncomingMessage): Promise<UpgradeDecision<{ credentials: ManagerCredentials; cookieHeader: string }>> {
    // Cookies ride along on cross-site WebSocket upgrades, so the page's origin must be ours.
    const origin = request.headers.origin;
    if (origin !== undefined && !sameHost(origin, request.headers.host)) {
      return { accept: false, status: 403, message: 'Forbidden' };
    }
    const cookieHeader = request.headers.cookie ?? '';
    const credentials = await this.deps.browserSessions()?.authenticate(cookieHeader);
    if (!credentials) return { accept: false, status: 401, message: 'Unauthorized' };
    return { accept: true, context: { credentials, cookieHeader } };
  }

  async #connected(socket: WebSocket, credentials: ManagerCredentials, cookieHeader: string): Promise<void> {
    const client: Client = { socket, credentials, cookieHeader, detailed: new Set(), pendingStats: new Map(), countDirty: false };
    this.#clients.add(client);
    socket.on('close', () => this.#clients.delete(client));
    socket.on('message', (data: RawData, isBinary: boolean) => this.#fromBrowser(client, data, isBinary));
    try {
      const rows = await this.deps.directory.list({}, credentials);
      const counts = await this.deps.events()?.alarmCounts(credentials.allowed_node_ids);
      this.#send(client, { type: 'snapshot', nodes: rows.map((row) => this.deps.nodes.view(row)), event_count: counts ?? null });
    } catch (err) {
      this.deps.logger.warn({ err }, 'could not send the dashboard snapshot');
      socket.close(1011, 'Snapshot failed');
    }
  }

  /** The browser may only say which nodes' full stats it wants (`subscribe_stats`). */
  #fromBrowser(client: Client, data: RawData, isBinary: boolean): void {
    if (isBinary) return;
    let message: { type?: unknown; node_ids?: unknown };
    try {
      message = JSON.parse(frameText(data)) as typeof message;
    } catch {
      return;
    }
    if (message?.type !== 'subscribe_stats' || !Array.isArray(message.node_ids)) return;
    const previous = client.detailed;
    client.detailed = new Set(
      message.node_ids.filter((id): id is string => typeof id === 'string' && canAccessNode(client.credentials, id)).slice(0, MAX_DETAILED_NODES)
    );
    // A newly opened detail page gets the node's latest full stats on the next tick, not a second later.
    for (const nodeId of client.detailed) {
      if (previous.has(nodeId) || client.pendingStats.has(nodeId)) continue;
      const latest = this.deps.nodes.latestStats(nodeId);
      if (latest) client.pendingStats.set(nodeId, { node_id: nodeId, at_ms: latest.at_ms, summary: latest.summary });
    }
  }

  #toVisible(nodeId: string, message: object): void {
    for (const client of this.#clients) {
      if (canAccessNode(client.credentials, nodeId)) this.#send(client, message);
    }
  }

  #send(client: Client, message: object): boolean {
    const { socket } = client;
    if (socket.readyState !== socket.OPEN) return false;
    if (socket.bufferedAmount > this.options.hardBufferBytes) {
      this.deps.logger.info({ user: client.credentials.user.username }, 'dashboard client too slow: disconnected');
      socket.terminate();
      return false;
    }
    socket.send(JSON.stringify(message));
    return true;
  }

  async #tick(): Promise<void> {
    for (const client of this.#clients) {
      // One browser's failure must not cost the others their updates.
      try {
        await this.#tickClient(client);
      } catch (err) {
        this.deps.logger.warn({ err, user: client.credentials.user.username }, 'could not update a dashboard client');
      }
    }
  }

  async #tickClient(client: Client): Promise<void> {
    if (client.pendingStats.size > 0 && client.socket.bufferedAmount <= this.options.softBufferBytes) {
      const nodes = [...client.pendingStats.values()].map((pending) => {
        // The bus carries summaries only: a detail page's full stats are the node's latest, read now.
        const latest = client.detailed.has(pending.node_id) ? this.deps.nodes.latestStats(pending.node_id) : undefined;
        const { node_id, at_ms, summary } = latest ?? pending;
        return { node_id, at: new Date(at_ms).toISOString(), summary, ...(latest ? { stats: latest.stats } : {}) };
      });
      client.pendingStats.clear();
      this.#send(client, { type: 'node_stats', nodes });
    }
    if (client.countDirty) {
      client.countDirty = false;
      const counts = await this.deps
        .events()
        ?.alarmCounts(client.credentials.allowed_node_ids)
        .catch(() => undefined);
      if (counts) this.#send(client, { type: 'event_count', ...counts });
    }
  }

  /** Sessions end (logout, revocation, disabled user): their feeds end too; scope changes apply. */
  async #revalidate(): Promise<void> {
    for (const client of this.#clients) {
      let credentials: ManagerCredentials | null | undefined;
      try {
        // Not activity: an open page must not keep an idle session alive.
        credentials = await this.deps.browserSessions()?.authenticate(client.cookieHeader, { touch: false });
      } catch (err) {
        // A database hiccup is not a logout: check again next time.
        this.deps.logger.warn({ err }, 'could not revalidate a dashboard session');
        continue;
      }
      if (!credentials) {
        this.#endFeed(client);
      } else {
        client.credentials = credentials;
      }
    }
  }
}

function sameHost(origin: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(origin).host.toLowerCase() === host.toLowerCase();
  } catch {
    return false;
  }
}
