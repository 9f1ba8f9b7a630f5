import type { BusTopic, BusTopics, ClusterBus } from '@bilbycast/core';
import type { DeviceHealth, DeviceSummary } from '@bilbycast/driver-sdk';
import type { StoredEvent } from './event-recorder';
import type { NodeView } from './node-view';

declare module '@bilbycast/core' {
  interface BusTopics {
    /** A node was created, changed, connected, disconnected or went stale. */
    'live.node_status': NodeView;
    'live.node_removed': { node_id: string };
    /**
     * A node sent stats (published for every stats message; the dashboard coalesces): the summary
     * only — full stats (up to 2 MiB) stay with the node service, which the dashboard asks for detail pages.
     */
    'live.node_stats': { node_id: string; at_ms: number; summary: DeviceSummary };
    'live.node_health': { node_id: string; health: DeviceHealth; payload: unknown };
    'live.event': StoredEvent;
    /** Events of these nodes were acknowledged (alarm counts changed). */
    'live.events_acknowledged': { node_ids: string[] };
    /** Events were deleted (retention): alarm counts may have changed. */
    'live.events_removed': { count: number };
  }
}

type LiveTopic = Extract<BusTopic, `live.${string}`>;

/** Everything that changes live, as published to `/ws/dashboard` subscribers: the cluster bus's `live.*` topics, without the prefix. */
export type LiveFeedMessages = { [T in LiveTopic as T extends `live.${infer K}` ? K : never]: BusTopics[T] };

/**
 * The typed live feed between the hub, the events plugin and browsers, carried by the cluster
 * bus (`live.<topic>`). The bus is in-process today; a broker behind it would carry the feed
 * between instances. Messages are plain JSON: each subscriber gets its own copy.
 */
export class LiveFeed {
  constructor(private readonly bus: ClusterBus) {}

  publish<K extends keyof LiveFeedMessages>(topic: K, message: LiveFeedMessages[K]): void {
    this.bus.publish<LiveTopic>(`live.${topic}`, message);
  }

  subscribe<K extends keyof LiveFeedMessages>(topic: K, listener: (message: LiveFeedMessages[K]) => void): () => void {
    return this.bus.subscribe<LiveTopic>(`live.${topic}`, listener as (message: BusTopics[LiveTopic]) => void);
  }
}
