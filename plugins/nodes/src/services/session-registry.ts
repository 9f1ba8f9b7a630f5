import type { DriverRegistry } from '@bilbycast/core';
import type { Logger } from 'pino';
import type { BackgroundWrites } from './background-writes';
import { CommandChannel } from './command-channel';
import type { DeviceSignIn, SignedIn } from './device-sign-in';
import type { LiveFeed } from './live-feed';
import type { NodeDirectory } from './node-directory';
import type { NodeEvents } from './node-events';
import type { NodeSession } from './node-session';
import { toNodeView, type NodeRow, type NodeView } from './node-view';
import { newSessionTelemetry, type Telemetry } from './telemetry';

/** Redacted from the config of a node whose driver declares no `config_secrets` (or is not loaded). */
const FALLBACK_CONFIG_SECRETS = [
  '**.password',
  '**.passphrase',
  '**.secret',
  '**.token',
  '**.api_token',
  '**.api_key',
  '**.node_secret',
  '**.registration_token',
  '**.token_secret'
];

/** What a device said about itself in its `auth`. */
export interface DeviceInfo {
  remoteAddr: string | null;
  softwareVersion: string | null;
  protocolVersion: number;
  deviceType: string | null;
}

/**
 * Who is connected: one live session per node (a newer sign-in supersedes, PROTOCOL.md §5.1),
 * brought online and taken offline in the database, with the manager's `connection` events.
 * The one place node status goes out on the live feed (`node_status`, `node_removed`).
 */
export class SessionRegistry {
  readonly #sessions = new Map<string, NodeSession>();

  constructor(
    private readonly deps: {
      directory: NodeDirectory;
      drivers: DriverRegistry;
      logger: Logger;
      liveFeed: LiveFeed;
      events: NodeEvents;
      signIn: DeviceSignIn;
      telemetry: Telemetry;
      writes: BackgroundWrites;
    }
  ) {}

  /**
   * Registers a signed-in socket as the node's only session, superseding any older one;
   * null when the node was deleted or its credentials revoked while it signed in.
   */
  async open(auth: SignedIn, socket: NodeSession['socket'], info: DeviceInfo): Promise<NodeSession | null> {
    const { row } = auth;
    const nowMs = Date.now();
    const driver = this.deps.drivers.get(row.device_type)?.definition;
    const counters = { messages: 0, malformed: 0, unknown_types: 0, oversize: 0, binary: 0, late_acks: 0, events_dropped: 0, budget_dropped: 0 };
    const session: NodeSession = {
      nodeId: row.id,
      driver,
      socket,
      authMethod: auth.method,
      connectedAt: new Date(nowMs).toISOString(),
      expiresAtMs: row.expires_at ? Date.parse(row.expires_at) : null,
      lastMessageAtMs: nowMs,
      // markOnline below writes the connect time.
      lastSeenFlushedMs: nowMs,
      counters,
      connectEventStored: false,
      silentClose: false,
      channel: new CommandChannel(socket, driver?.config_secrets ?? FALLBACK_CONFIG_SECRETS, counters),
      telemetry: newSessionTelemetry(row, info.softwareVersion)
    };
    const previous = this.#sessions.get(row.id);
    this.#sessions.set(row.id, session);
    if (previous) {
      this.deps.logger.info({ node_id: row.id }, 'a newer connection supersedes the node session');
      previous.channel.failAll('Node reconnected on a newer connection');
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
      this.#abandon(session, previous);
      throw err;
    }
    if (!stillValid) {
      // Deleted, or its credentials revoked, while it was signing in.
      this.#abandon(session, previous);
      return null;
    }
    this.deps.signIn.succeeded(auth);
    await this.deps.telemetry.loadAlarms(session);
    session.connectEventStored = this.deps.events.raise(row.id, 'info', 'connection', 'Node connected to manager', {
      software_version: info.softwareVersion,
      protocol_version: info.protocolVersion,
      remote_addr: info.remoteAddr,
      method: auth.method
    });
    if (info.deviceType !== null && info.deviceType !== row.device_type) {
      this.deps.events.raise(row.id, 'warning', 'compatibility', `Device reports type "${info.deviceType}" but is registered as "${row.device_type}"`, {
        error_code: 'device_type_mismatch'
      });
    }
    return session;
  }

  /** The auth reply has been sent: release queued commands and announce the node online. */
  ready(session: NodeSession): void {
    session.channel.open();
    this.deps.writes.track(this.publishStatusOf(session.nodeId));
  }

  /**
   * Socket closed: only the session that still owns the node cleans up. A silent close (node
   * deleted or re-tokened) publishes nothing: the route that caused it does.
   */
  closed(session: NodeSession, reason: string): void {
    session.channel.failAll('Node disconnected before answering');
    if (!this.#release(session)) return;
    if (session.silentClose) return;
    this.#wentOffline(session, reason);
  }

  /** Closes the node's session without a disconnect event (node deleted or re-tokened). */
  disconnect(nodeId: string, reason: string): void {
    const session = this.#sessions.get(nodeId);
    if (!session) return;
    session.silentClose = true;
    session.socket.close(1008, reason);
    this.closed(session, reason);
  }

  /** The node's expiry changed: a connected node's session follows it (the liveness sweep closes it when due). */
  setExpiry(nodeId: string, expiresAt: string | null): void {
    const session = this.#sessions.get(nodeId);
    if (session) session.expiresAtMs = expiresAt ? Date.parse(expiresAt) : null;
  }

  /** Whether the session is still the node's live one (a deleted, re-tokened or superseded one is not). */
  owns(session: NodeSession): boolean {
    return this.#sessions.get(session.nodeId) === session;
  }

  get(nodeId: string): NodeSession | undefined {
    return this.#sessions.get(nodeId);
  }

  all(): IterableIterator<NodeSession> {
    return this.#sessions.values();
  }

  /** The node as the API shows it: its row, with the live summary and a fresher last-seen time while connected. */
  view(row: NodeRow): NodeView {
    const session = this.#sessions.get(row.id);
    return toNodeView(row, { summary: session?.telemetry.summary ?? null, last_seen_at: session ? new Date(session.lastMessageAtMs).toISOString() : null });
  }

  publishStatus(row: NodeRow): void {
    this.deps.liveFeed.publish('node_status', this.view(row));
  }

  /** Publishes the node's status as stored now (nothing when it is gone). */
  async publishStatusOf(nodeId: string): Promise<void> {
    const row = await this.deps.directory.get(nodeId);
    if (row) this.publishStatus(row);
  }

  publishRemoved(nodeId: string): void {
    this.deps.liveFeed.publish('node_removed', { node_id: nodeId });
  }

  /** Marks the session's node offline (unless a newer session holds the row), publishes its status and raises the disconnect event. */
  #wentOffline(session: NodeSession, reason: string): void {
    const health = session.telemetry.health === null ? null : JSON.stringify(session.telemetry.health);
    this.deps.writes.track(
      this.deps.directory
        .markOffline(session.nodeId, session.connectedAt, new Date(session.lastMessageAtMs).toISOString(), health)
        .then(() => this.publishStatusOf(session.nodeId))
    );
    // The disconnect of a session whose connect was stored is always stored: a device that used
    // up its event budget must not hide the alarm that matters most (pairs are bounded by the
    // connect events, which do count).
    this.deps.events.raise(
      session.nodeId,
      'critical',
      'connection',
      `Node disconnected from manager (${reason})`,
      {},
      session.connectEventStored ? 'exempt' : 'budget'
    );
  }

  /**
   * A sign-in that could not be brought online (markOnline failed or refused): its queued
   * requests fail now, and the session it superseded — already closed — goes offline properly.
   */
  #abandon(session: NodeSession, superseded: NodeSession | undefined): void {
    session.channel.failAll('The node could not be brought online');
    // A newer sign-in took over meanwhile: the node is its business now.
    if (!this.#release(session) || !superseded) return;
    this.#wentOffline(superseded, 'superseded by a sign-in that failed');
  }

  /** Drops the session if it still owns the node; false when it no longer did. */
  #release(session: NodeSession): boolean {
    if (!this.owns(session)) return false;
    this.#sessions.delete(session.nodeId);
    return true;
  }
}
