import type { Logger } from 'pino';
import type { BackgroundWrites } from './background-writes';
import type { NodeDirectory } from './node-directory';
import type { NodeSession } from './node-session';
import type { SessionRegistry } from './session-registry';

export interface LivenessOptions {
  offlineAfterMs: number;
  lastSeenFlushMs: number;
}

/**
 * Whether connected nodes are still there (PROTOCOL.md §5.2): every message (and Pong) counts;
 * a node quiet for half of `offlineAfterMs` gets a WS Ping, a silent one is closed, an expired
 * one too. Last-seen times are written in batches, never per message.
 */
export class Liveness {
  #timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly deps: { sessions: SessionRegistry; directory: NodeDirectory; logger: Logger; writes: BackgroundWrites },
    private readonly options: LivenessOptions
  ) {}

  start(): void {
    const sweepEvery = Math.max(250, Math.min(5000, Math.floor(this.options.offlineAfterMs / 3)));
    this.#timers = [
      setInterval(() => this.#sweep(), sweepEvery).unref(),
      setInterval(() => this.deps.writes.track(this.flushLastSeen()), this.options.lastSeenFlushMs).unref()
    ];
  }

  stop(): void {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
  }

  seen(session: NodeSession): void {
    session.lastMessageAtMs = Date.now();
  }

  /** Writes the last-seen times of sessions heard from since their last flush (closed ones were written as they went offline). */
  async flushLastSeen(): Promise<void> {
    const batch = new Map<string, number>();
    for (const session of this.deps.sessions.all()) {
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

  #sweep(): void {
    const now = Date.now();
    for (const session of this.deps.sessions.all()) {
      if (now - session.lastMessageAtMs >= this.options.offlineAfterMs) {
        this.deps.logger.info({ node_id: session.nodeId }, 'node silent too long: closing its session');
        session.socket.terminate();
        this.deps.sessions.closed(session, `no message for ${Math.round(this.options.offlineAfterMs / 1000)} s`);
      } else if (session.expiresAtMs !== null && session.expiresAtMs <= now) {
        session.socket.close(1008, 'Node has expired');
        this.deps.sessions.closed(session, 'node expired');
      } else if (session.channel.isOpen && now - session.lastMessageAtMs >= this.options.offlineAfterMs / 2) {
        // Quiet, not yet stale (and past its auth reply): a WS Ping (every device answers with a
        // Pong, which counts as a message) keeps gateways with long heartbeats online and finds dead connections.
        session.socket.ping();
      }
    }
  }
}
