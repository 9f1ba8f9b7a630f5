import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '@bilbycast/core';
import type { Plugin } from '@hapi/hapi';
import Joi from 'joi';
import { nodesMigrations } from './migrations';
import { commandRoutes } from './routes/commands';
import { nodeRoutes } from './routes/nodes';
import type { NodesRouteContext } from './routes/route-context';
import type { EventRecorder } from './services/event-recorder';
import { LiveFeed } from './services/live-feed';
import { NodeDirectory } from './services/node-directory';
import { NodeHub } from './services/node-hub';
import { DashboardFeed } from './websocket/dashboard-socket';
import { handleNodeSocket } from './websocket/node-socket';
import { UnauthenticatedSockets } from './websocket/unauthenticated-sockets';

export { LiveFeed, type LiveFeedMessages } from './services/live-feed';
export type { EventRecorder, NodeEventInput, StoredEvent, AlarmCounts } from './services/event-recorder';
export { NODE_STATUSES, type NodeStatus, type NodeView } from './services/node-view';
export { HISTORY_FIELDS } from './services/stats-history';
export { COMMAND_MAX_BYTES } from './routes/commands';

declare module '@bilbycast/core' {
  interface ManagerServices {
    /** Live changes (node status, stats, health, events) for the dashboard feed; provided by the nodes plugin. */
    liveFeed: LiveFeed;
    /** The event store; provided by the events plugin. */
    events: EventRecorder;
  }
}

export interface NodesOptions {
  /** How long a registration token stays valid (default 168 h = 7 days). */
  registration_token_ttl_hours?: number;
  /** A connected node that sends nothing for this long is closed and marked offline (default 45 s). */
  offline_after_secs?: number;
  /** A device must send its `auth` message within this time (default 10 s). */
  auth_timeout_ms?: number;
  /** Largest device message processed (answers to the manager's requests); larger ones are counted and dropped (default 8 MiB). */
  max_message_bytes?: number;
  /** Bytes a socket may send before it has signed in; more closes it unread (default 64 KiB). */
  sign_in_max_bytes?: number;
  /** Sockets waiting to sign in, overall (default 4096)… */
  max_unauthenticated_sockets?: number;
  /** …and per source address, IPv6 by /64 (default 128); beyond, new ones are closed with 1013 (at the overall cap, the oldest idle one is evicted instead). */
  max_unauthenticated_per_address?: number;
  /** Events stored per node per minute, the manager's own about it included; the rest are dropped with one warning (default 1000). */
  events_per_minute?: number;
  /** Bytes of events stored per node per minute (default 256 KiB). */
  event_bytes_per_minute?: number;
  /** Bytes of messages a node may send per minute; beyond, they are dropped unread with one warning (default 64 MiB). */
  message_bytes_per_minute?: number;
  /** Failed sign-ins per node (or token prefix) from one address before a lockout of that pair (default 5)… */
  auth_failures_before_lockout?: number;
  /** …failed sign-ins from one address, whatever the node, before that address is locked out (default 50)… */
  auth_failures_per_address?: number;
  /** …counted over, and locked out for, this window (default 60 s). */
  auth_lockout_window_secs?: number;
  /** How often batched last-seen times are written (default 10 s). */
  last_seen_flush_ms?: number;
  /** Chart history: one point per interval (default 5 s)… */
  stats_history_interval_secs?: number;
  /** …keeping this many points per node (default 360 = 30 minutes). */
  stats_history_points?: number;
  /** `/ws/dashboard`: stats at most this often per node (default 1000 ms). */
  dashboard_stats_interval_ms?: number;
  /** `/ws/dashboard`: a browser with more unsent bytes than this has stats updates skipped (default 1 MiB)… */
  dashboard_buffer_soft_bytes?: number;
  /** …and is disconnected above this (default 16 MiB). */
  dashboard_buffer_hard_bytes?: number;
  /** `/ws/dashboard`: how often each browser's session is re-checked (default 30 s). */
  dashboard_revalidate_secs?: number;
}

const MIB = 1024 * 1024;

const optionsSchema = Joi.object({
  registration_token_ttl_hours: Joi.number()
    .min(0.001)
    .max(24 * 365)
    .default(168),
  offline_after_secs: Joi.number().min(0.1).max(3600).default(45),
  auth_timeout_ms: Joi.number().integer().min(50).max(120_000).default(10_000),
  max_message_bytes: Joi.number()
    .integer()
    .min(64 * 1024)
    .max(64 * MIB)
    .default(8 * MIB),
  sign_in_max_bytes: Joi.number()
    .integer()
    .min(4096)
    .max(MIB)
    .default(64 * 1024),
  max_unauthenticated_sockets: Joi.number().integer().min(1).max(1_000_000).default(4096),
  max_unauthenticated_per_address: Joi.number().integer().min(1).max(1_000_000).default(128),
  events_per_minute: Joi.number().integer().min(1).max(1_000_000).default(1000),
  event_bytes_per_minute: Joi.number()
    .integer()
    .min(4096)
    .max(1024 * MIB)
    .default(256 * 1024),
  message_bytes_per_minute: Joi.number()
    .integer()
    .min(MIB)
    .max(64 * 1024 * MIB)
    .default(64 * MIB),
  auth_failures_before_lockout: Joi.number().integer().min(1).max(1000).default(5),
  auth_failures_per_address: Joi.number().integer().min(1).max(1_000_000).default(50),
  auth_lockout_window_secs: Joi.number().min(0.1).max(86_400).default(60),
  last_seen_flush_ms: Joi.number().integer().min(10).max(600_000).default(10_000),
  stats_history_interval_secs: Joi.number().min(0.001).max(3600).default(5),
  stats_history_points: Joi.number().integer().min(10).max(100_000).default(360),
  dashboard_stats_interval_ms: Joi.number().integer().min(10).max(60_000).default(1000),
  dashboard_buffer_soft_bytes: Joi.number()
    .integer()
    .min(1024)
    .max(256 * MIB)
    .default(MIB),
  dashboard_buffer_hard_bytes: Joi.number()
    .integer()
    .min(1024)
    .max(1024 * MIB)
    .default(16 * MIB),
  dashboard_revalidate_secs: Joi.number().min(0.05).max(3600).default(30)
});

const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { name: string; version: string };

/**
 * The nodes plugin: the `nodes` table and `/api/v1/nodes` API, the `/ws/node` device
 * protocol (registration, sign-in, stats, health, events, commands) and the live feed.
 */
export const plugin: Plugin<NodesOptions> = {
  name: pkg.name,
  version: pkg.version,
  register(server, rawOptions) {
    const validated = optionsSchema.validate(rawOptions ?? {}) as Joi.ValidationResult<Required<NodesOptions>>;
    if (validated.error) throw new ConfigError(`nodes options: ${validated.error.message}`);
    const options = validated.value;
    const { manager } = server;

    manager.migrations.add('nodes', nodesMigrations);
    manager.backupTables.declare('nodes', { durable: ['nodes'] });
    const liveFeed = new LiveFeed(manager.bus);
    manager.services.provide('liveFeed', liveFeed);
    const directory = new NodeDirectory(manager.db, options.registration_token_ttl_hours * 3_600_000);
    const historyIntervalMs = options.stats_history_interval_secs * 1000;
    const hub = new NodeHub(
      { directory, drivers: manager.drivers, logger: manager.logger, audit: manager.audit, liveFeed, events: () => manager.services.get('events') },
      {
        offlineAfterMs: options.offline_after_secs * 1000,
        authFailuresBeforeLockout: options.auth_failures_before_lockout,
        authFailuresPerAddress: options.auth_failures_per_address,
        authLockoutWindowMs: options.auth_lockout_window_secs * 1000,
        eventsPerMinute: options.events_per_minute,
        eventBytesPerMinute: options.event_bytes_per_minute,
        bytesPerMinute: options.message_bytes_per_minute,
        lastSeenFlushMs: options.last_seen_flush_ms,
        historyIntervalMs,
        historyPoints: options.stats_history_points
      }
    );
    // Acknowledging alarms can lower a node's derived health.
    liveFeed.subscribe('events_acknowledged', ({ node_ids }) => {
      for (const id of node_ids) hub.refreshAlarms(id).catch((err: unknown) => manager.logger.warn({ err, node_id: id }, 'could not refresh node alarms'));
    });

    const unauthenticated = new UnauthenticatedSockets(options.max_unauthenticated_sockets, options.max_unauthenticated_per_address);
    // Refusals are logged at most every 10 s, with how many there were: a flood must not flood the log.
    let refusals = 0;
    let refusalLoggedAt = 0;
    const onRefused = (remoteAddr: string | null) => {
      refusals++;
      const now = Date.now();
      if (now - refusalLoggedAt < 10_000) return;
      manager.logger.warn(
        { refused: refusals, last_remote_addr: remoteAddr, waiting: unauthenticated.total },
        'node sockets refused: too many waiting to sign in'
      );
      refusals = 0;
      refusalLoggedAt = now;
    };
    manager.websockets.route('/ws/node', {
      // Messages between max_message_bytes and twice that are counted and dropped; beyond, ws closes with 1009.
      maxPayload: options.max_message_bytes * 2,
      onConnection: (socket, request) =>
        handleNodeSocket(socket, request, manager.clientAddress(request), hub, manager.logger, {
          authTimeoutMs: options.auth_timeout_ms,
          maxMessageBytes: options.max_message_bytes,
          signInMaxBytes: options.sign_in_max_bytes,
          unauthenticated,
          onRefused
        })
    });

    const dashboard = new DashboardFeed(
      {
        directory,
        nodes: hub.service,
        liveFeed,
        events: () => manager.services.get('events'),
        browserSessions: () => manager.services.get('browserSessions'),
        logger: manager.logger
      },
      {
        statsIntervalMs: options.dashboard_stats_interval_ms,
        softBufferBytes: options.dashboard_buffer_soft_bytes,
        hardBufferBytes: options.dashboard_buffer_hard_bytes,
        revalidateMs: options.dashboard_revalidate_secs * 1000
      }
    );
    manager.websockets.route('/ws/dashboard', dashboard.route);

    server.bind({ directory, nodes: hub.service, drivers: manager.drivers, audit: manager.audit, historyIntervalMs } satisfies NodesRouteContext);
    server.route([...nodeRoutes, ...commandRoutes]);

    server.ext('onPreStart', async () => {
      const reset = await directory.markAllOffline();
      if (reset > 0) manager.logger.info({ nodes: reset }, 'marked nodes left online by the previous run offline');
    });
    server.ext('onPostStart', () => {
      hub.start();
      dashboard.start();
    });
    // Runs after core has closed every WebSocket (its onPreStop was registered first).
    server.ext('onPreStop', async () => {
      dashboard.stop();
      await hub.stop();
    });
  }
};

export default plugin;
