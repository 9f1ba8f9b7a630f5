import type { AuditLog, DriverRegistry } from '@bilbycast/core';
import type { Logger } from 'pino';
import { BackgroundWrites } from './background-writes';
import { DeviceSignIn } from './device-sign-in';
import type { EventRecorder } from './event-recorder';
import type { LiveFeed } from './live-feed';
import { Liveness } from './liveness';
import { NodeCommands } from './node-commands';
import type { NodeDirectory } from './node-directory';
import { NodeEvents } from './node-events';
import { NodeService } from './node-service';
import type { NodeSession } from './node-session';
import { SessionRegistry } from './session-registry';
import { Telemetry } from './telemetry';

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

/** A frame from a signed-in node: process it, only if it answers a command in flight, or not at all. */
export type FrameAdmission = 'process' | 'answers_only' | 'drop';

/**
 * The live side of nodes, put together. The device socket (websocket/node-socket.ts) uses
 * its parts: `signIn` (device-sign-in.ts), `sessions` (session-registry.ts), `liveness`,
 * `telemetry` (stats, health, events, thumbnails) and each session's command channel
 * (command-channel.ts). Routes and the dashboard use `service` (node-service.ts): plain views.
 * The database is written on connect, disconnect, health changes and in last-seen batches —
 * never per stats message.
 */
export class NodeHub {
  readonly signIn: DeviceSignIn;
  readonly sessions: SessionRegistry;
  readonly telemetry: Telemetry;
  readonly liveness: Liveness;
  readonly service: NodeService;
  readonly #events: NodeEvents;
  readonly #writes: BackgroundWrites;

  constructor(
    deps: { directory: NodeDirectory; drivers: DriverRegistry; logger: Logger; audit: AuditLog; liveFeed: LiveFeed; events: () => EventRecorder | undefined },
    options: NodeHubOptions
  ) {
    const { directory, drivers, logger, audit, liveFeed } = deps;
    const writes = new BackgroundWrites(logger);
    const { eventsPerMinute, eventBytesPerMinute, bytesPerMinute } = options;
    const events = new NodeEvents({ store: deps.events, logger, writes }, { eventsPerMinute, eventBytesPerMinute, bytesPerMinute }, options.now);
    const signIn = new DeviceSignIn(
      { directory, audit, logger, events, writes },
      {
        failuresBeforeLockout: options.authFailuresBeforeLockout,
        failuresPerAddress: options.authFailuresPerAddress,
        lockoutWindowMs: options.authLockoutWindowMs
      }
    );
    const telemetry = new Telemetry(
      { directory, liveFeed, events, logger, writes },
      { historyIntervalMs: options.historyIntervalMs, historyPoints: options.historyPoints }
    );
    const sessions = new SessionRegistry({ directory, drivers, logger, liveFeed, events, signIn, telemetry, writes });
    this.liveness = new Liveness({ sessions, directory, logger, writes }, { offlineAfterMs: options.offlineAfterMs, lastSeenFlushMs: options.lastSeenFlushMs });
    this.service = new NodeService({ sessions, telemetry, signIn, events }, new NodeCommands({ sessions, directory, logger }));
    this.signIn = signIn;
    this.sessions = sessions;
    this.telemetry = telemetry;
    this.#events = events;
    this.#writes = writes;
  }

  start(): void {
    this.liveness.start();
  }

  /** Stops timers and waits for outstanding database writes (the sockets are closed by core). */
  async stop(): Promise<void> {
    this.liveness.stop();
    await this.#writes.drain();
    await this.liveness.flushLastSeen();
  }

  /**
   * Counts a frame against the node's byte budget. Over budget, frames are dropped unread —
   * unless a request is waiting for its answer, which is then still read (and only answers
   * are processed; see CommandChannel.readOverBudget).
   */
  admitFrame(session: NodeSession, bytes: number, mayBeAnswer: () => boolean): FrameAdmission {
    if (this.#events.takeBytes(session.nodeId, bytes)) {
      session.channel.withinBudget();
      return 'process';
    }
    if (session.channel.readOverBudget(mayBeAnswer)) return 'answers_only';
    session.counters.budget_dropped++;
    return 'drop';
  }

  /** Re-reads a node's unacknowledged alarms (after acknowledgements) and re-derives its health. */
  async refreshAlarms(nodeId: string): Promise<void> {
    const session = this.sessions.get(nodeId);
    if (session) await this.telemetry.refreshAlarms(session, (s) => this.sessions.owns(s));
  }
}
