import { EventEmitter } from 'node:events';
import type { DeviceHealth, DeviceSummary } from '@bilbycast/driver-sdk';
import type { StoredEvent } from './event-recorder';
import type { NodeView } from './node-view';

/** Everything that changes live, as published to `/ws/dashboard` subscribers. */
export interface LiveFeedMessages {
  /** A node was created, changed, connected, disconnected or went stale. */
  node_status: NodeView;
  node_removed: { node_id: string };
  /** The latest stats of a node (published for every stats message; the dashboard coalesces). */
  node_stats: { node_id: string; at_ms: number; summary: DeviceSummary; stats: unknown };
  node_health: { node_id: string; health: DeviceHealth; payload: unknown };
  event: StoredEvent;
  /** Events of these nodes were acknowledged (alarm counts changed). */
  events_acknowledged: { node_ids: string[] };
  /** Events were deleted (retention): alarm counts may have changed. */
  events_removed: { count: number };
}

type Listener<K extends keyof LiveFeedMessages> = (message: LiveFeedMessages[K]) => void;

/** An in-process typed publish/subscribe channel between the hub, the events plugin and browsers. */
export class LiveFeed {
  readonly #emitter = new EventEmitter();

  constructor() {
    // One listener per connected browser: no fixed upper bound.
    this.#emitter.setMaxListeners(0);
  }

  publish<K extends keyof LiveFeedMessages>(topic: K, message: LiveFeedMessages[K]): void {
    this.#emitter.emit(topic, message);
  }

  subscribe<K extends keyof LiveFeedMessages>(topic: K, listener: Listener<K>): () => void {
    this.#emitter.on(topic, listener);
    return () => this.#emitter.off(topic, listener);
  }
}
