import { createContext, useCallback, useContext, useEffect, useEffectEvent, useMemo, useRef, useState, type ReactNode } from 'react';
import type { AlarmCounts, DeviceStats, DeviceSummary, Health, Node, NodeEvent } from '../api/types';
import { useAuth } from '../auth/AuthProvider';

export type FeedStatus = 'connecting' | 'connected' | 'reconnecting';

export interface LiveStats {
  at: string;
  summary: DeviceSummary;
  /** Full stats, only for nodes subscribed with useNodeStats(). */
  stats?: DeviceStats;
}

/** What `/ws/dashboard` sends (plugins/nodes, websocket/dashboard-socket.ts). */
type FeedMessage =
  | { type: 'snapshot'; nodes: Node[]; event_count: AlarmCounts | null }
  | { type: 'node_status'; node: Node }
  | { type: 'node_removed'; node_id: string }
  | { type: 'node_stats'; nodes: ({ node_id: string } & LiveStats)[] }
  | { type: 'node_health'; node_id: string; health: Health; payload?: unknown }
  | { type: 'event'; event: NodeEvent }
  | { type: 'events_acknowledged'; node_ids: string[] }
  | ({ type: 'event_count' } & AlarmCounts)
  | { type: 'session_invalidated' };

interface LiveFeedState {
  status: FeedStatus;
  /** Every node the user may see, as last pushed (null until the first snapshot). */
  nodes: Map<string, Node> | null;
  stats: Map<string, LiveStats>;
  /** Recent bitrate samples per node (newest last), for sparklines. */
  bitrateHistory: Map<string, number[]>;
  eventCount: AlarmCounts | null;
  /** Subscribe to new events as they arrive; returns an unsubscribe function. */
  onEvent: (listener: (event: NodeEvent) => void) => () => void;
  /** Subscribe to acknowledgements (by anyone) of events of these nodes. */
  onAcknowledged: (listener: (nodeIds: string[]) => void) => () => void;
  /** Ask for a node's full stats and health (its detail page is open). */
  watch: (nodeId: string) => () => void;
  healthPayload: Map<string, unknown>;
}

const LiveFeedContext = createContext<LiveFeedState | null>(null);
const SPARKLINE_POINTS = 60;

/**
 * One `/ws/dashboard` connection for the whole app: the snapshot, then live node status,
 * stats, health, events and alarm counts. Reconnects with backoff (1 s, doubling to 30 s)
 * and gets a fresh snapshot each time. A feed whose session ended goes to the login page.
 */
export function LiveFeedProvider({ children }: { children: ReactNode }) {
  const [status, setStatus] = useState<FeedStatus>('connecting');
  const [nodes, setNodes] = useState<Map<string, Node> | null>(null);
  const [stats, setStats] = useState<Map<string, LiveStats>>(new Map());
  const [bitrateHistory, setBitrateHistory] = useState<Map<string, number[]>>(new Map());
  const [healthPayload, setHealthPayload] = useState<Map<string, unknown>>(new Map());
  const [eventCount, setEventCount] = useState<AlarmCounts | null>(null);
  const listeners = useRef(new Set<(event: NodeEvent) => void>());
  const ackListeners = useRef(new Set<(nodeIds: string[]) => void>());
  const watched = useRef(new Map<string, number>());
  const socketRef = useRef<WebSocket | null>(null);
  const { refresh } = useAuth();

  function sendWatched() {
    const socket = socketRef.current;
    if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: 'subscribe_stats', node_ids: [...watched.current.keys()] }));
  }

  useEffect(() => {
    let stopped = false;
    let delay = 1000;
    let timer: number | undefined;

    const connect = () => {
      const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
      const socket = new WebSocket(`${scheme}://${window.location.host}/ws/dashboard`);
      socketRef.current = socket;
      socket.onopen = () => {
        delay = 1000;
        setStatus('connected');
        sendWatched();
      };
      socket.onmessage = (message) => handle(JSON.parse(message.data as string) as FeedMessage);
      socket.onclose = () => {
        // Under StrictMode the first socket closes after the second one was created.
        if (socketRef.current === socket) socketRef.current = null;
        if (stopped) return;
        setStatus('reconnecting');
        // Whatever the close — 4401 (the session this feed was opened with ended), or a refused
        // upgrade (1006) — check the session first. Still signed in (a password change moves the
        // browser to a fresh session): reconnect. Signed out: `refresh` ends it in the UI (login
        // page, then back here).
        refresh().then((user) => {
          if (user) reconnect();
        }, reconnect);
      };
    };

    const reconnect = () => {
      if (stopped) return;
      timer = window.setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30_000);
    };

    const handle = (message: FeedMessage) => {
      switch (message.type) {
        case 'snapshot':
          setNodes(new Map(message.nodes.map((n) => [n.id, n])));
          if (message.event_count) setEventCount(message.event_count);
          break;
        case 'node_status':
          setNodes((prev) => new Map(prev ?? []).set(message.node.id, message.node));
          break;
        case 'node_removed':
          setNodes((prev) => {
            const next = new Map(prev ?? []);
            next.delete(message.node_id);
            return next;
          });
          break;
        case 'node_stats': {
          const updates = message.nodes;
          setStats((prev) => {
            const next = new Map(prev);
            for (const u of updates) next.set(u.node_id, { at: u.at, summary: u.summary, stats: u.stats ?? prev.get(u.node_id)?.stats });
            return next;
          });
          setBitrateHistory((prev) => {
            const next = new Map(prev);
            for (const u of updates) {
              const points = [...(prev.get(u.node_id) ?? []), u.summary.bitrate_bps ?? 0];
              next.set(u.node_id, points.slice(-SPARKLINE_POINTS));
            }
            return next;
          });
          setNodes((prev) => {
            if (!prev) return prev;
            const next = new Map(prev);
            for (const u of updates) {
              const node = next.get(u.node_id);
              if (node) next.set(u.node_id, { ...node, summary: u.summary });
            }
            return next;
          });
          break;
        }
        case 'node_health':
          setNodes((prev) => {
            const node = prev?.get(message.node_id);
            return node && prev ? new Map(prev).set(node.id, { ...node, health: message.health }) : prev;
          });
          if (message.payload !== undefined) setHealthPayload((prev) => new Map(prev).set(message.node_id, message.payload));
          break;
        case 'event':
          for (const listener of listeners.current) listener(message.event);
          break;
        case 'events_acknowledged':
          for (const listener of ackListeners.current) listener(message.node_ids);
          break;
        case 'event_count':
          setEventCount({ count: message.count, critical: message.critical, warning: message.warning });
          break;
      }
    };

    connect();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
      socketRef.current?.close();
    };
  }, [refresh]);

  // Stable functions: components subscribe once, not on every update.
  const onEvent = useCallback((listener: (event: NodeEvent) => void) => {
    listeners.current.add(listener);
    return () => {
      listeners.current.delete(listener);
    };
  }, []);
  const onAcknowledged = useCallback((listener: (nodeIds: string[]) => void) => {
    ackListeners.current.add(listener);
    return () => {
      ackListeners.current.delete(listener);
    };
  }, []);
  const watch = useCallback((nodeId: string) => {
    watched.current.set(nodeId, (watched.current.get(nodeId) ?? 0) + 1);
    sendWatched();
    return () => {
      const count = (watched.current.get(nodeId) ?? 1) - 1;
      if (count <= 0) watched.current.delete(nodeId);
      else watched.current.set(nodeId, count);
      sendWatched();
    };
  }, []);

  const value = useMemo<LiveFeedState>(
    () => ({ status, nodes, stats, bitrateHistory, eventCount, healthPayload, onEvent, onAcknowledged, watch }),
    [status, nodes, stats, bitrateHistory, eventCount, healthPayload, onEvent, onAcknowledged, watch]
  );
  return <LiveFeedContext.Provider value={value}>{children}</LiveFeedContext.Provider>;
}

export function useLiveFeed(): LiveFeedState {
  const state = useContext(LiveFeedContext);
  if (!state) throw new Error('useLiveFeed outside LiveFeedProvider');
  return state;
}

/** A node's full live stats while the calling component is mounted. */
export function useNodeStats(nodeId: string | undefined): LiveStats | undefined {
  const { watch, stats } = useLiveFeed();
  useEffect(() => (nodeId ? watch(nodeId) : undefined), [nodeId, watch]);
  return nodeId ? stats.get(nodeId) : undefined;
}

/** Calls `listener` for each new event pushed by the server. */
export function useLiveEvents(listener: (event: NodeEvent) => void): void {
  const { onEvent } = useLiveFeed();
  // The latest listener, without subscribing again on every render.
  const onLiveEvent = useEffectEvent(listener);
  useEffect(() => onEvent((event) => onLiveEvent(event)), [onEvent]);
}
