import type { DeviceSummary } from '@bilbycast/driver-sdk';
import type { DeviceSignIn } from './device-sign-in';
import type { NodeCommands } from './node-commands';
import type { NodeEvents } from './node-events';
import type { ProtocolCounters, Thumbnail } from './node-session';
import type { NodeRow, NodeView } from './node-view';
import type { SessionRegistry } from './session-registry';
import type { HistoryPoint } from './stats-history';
import type { Telemetry } from './telemetry';

/** A connected node's connection, as `GET /nodes/{id}` shows it. */
export interface NodeConnectionView {
  auth_method: 'register_ack' | 'auth_ok';
  counters: ProtocolCounters;
  /** The thumbnails held, without their bytes. */
  thumbnails: Omit<Thumbnail, 'data'>[];
}

/** The latest stats and health as the device sent them (null while offline). */
export interface NodeLiveStats {
  online: boolean;
  stats: unknown;
  stats_at: string | null;
  summary: DeviceSummary | null;
  health: unknown;
}

/** A connected node's latest stats with its summary (what a dashboard detail page shows). */
export interface NodeLatestStats {
  node_id: string;
  at_ms: number;
  summary: DeviceSummary;
  stats: unknown;
}

/**
 * What the routes and the dashboard feed ask of the live side of nodes, by node id: plain
 * views, never a session. Record changes come back here so that node status goes out from
 * one place (the session registry).
 */
export class NodeService {
  constructor(
    private readonly parts: { sessions: SessionRegistry; telemetry: Telemetry; signIn: DeviceSignIn; events: NodeEvents },
    /** Commands, the node config and secret rotation. */
    readonly commands: NodeCommands
  ) {}

  view(row: NodeRow): NodeView {
    return this.parts.sessions.view(row);
  }

  /** Null while the node is offline. */
  connection(nodeId: string): NodeConnectionView | null {
    const session = this.parts.sessions.get(nodeId);
    if (!session) return null;
    const thumbnails = [...session.telemetry.thumbnails.values()].map(({ flow_id, input_id, width, height, at }) => ({ flow_id, input_id, width, height, at }));
    return { auth_method: session.authMethod, counters: { ...session.counters }, thumbnails };
  }

  liveStats(nodeId: string): NodeLiveStats {
    const state = this.parts.sessions.get(nodeId)?.telemetry;
    return {
      online: Boolean(state),
      stats: state?.stats ?? null,
      stats_at: state && state.statsAtMs ? new Date(state.statsAtMs).toISOString() : null,
      summary: state?.summary ?? null,
      health: state?.health ?? null
    };
  }

  /** The node's latest stats and summary; undefined while offline or before any. */
  latestStats(nodeId: string): NodeLatestStats | undefined {
    const state = this.parts.sessions.get(nodeId)?.telemetry;
    if (!state?.summary) return undefined;
    return { node_id: nodeId, at_ms: state.statsAtMs, summary: state.summary, stats: state.stats };
  }

  history(nodeId: string, sinceMs: number): HistoryPoint[] {
    return this.parts.telemetry.history(nodeId, sinceMs);
  }

  thumbnail(nodeId: string, flowId: string, inputId: string | null): Thumbnail | undefined {
    const session = this.parts.sessions.get(nodeId);
    return session && this.parts.telemetry.thumbnail(session, flowId, inputId);
  }

  /** The node's record changed (created, edited): its status goes out. */
  publishStatus(row: NodeRow): void {
    this.parts.sessions.publishStatus(row);
  }

  /** As publishStatus, with the record as stored now. */
  publishStatusOf(nodeId: string): Promise<void> {
    return this.parts.sessions.publishStatusOf(nodeId);
  }

  setExpiry(nodeId: string, expiresAt: string | null): void {
    this.parts.sessions.setExpiry(nodeId, expiresAt);
  }

  /** Closes the node's session without a disconnect event (node deleted or re-tokened). */
  disconnect(nodeId: string, reason: string): void {
    this.parts.sessions.disconnect(nodeId, reason);
  }

  /** The node was deleted: what is kept about it in memory goes, and `node_removed` goes out. */
  removed(nodeId: string): void {
    this.parts.telemetry.forget(nodeId);
    this.parts.events.forget(nodeId);
    this.parts.signIn.forget(nodeId);
    this.parts.sessions.publishRemoved(nodeId);
  }
}
