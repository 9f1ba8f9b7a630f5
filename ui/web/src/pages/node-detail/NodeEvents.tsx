import { useEffect, useRef, useState } from 'react';
import { Link } from 'react-router-dom';
import { api } from '../../api/client';
import type { NodeEvent } from '../../api/types';
import { SeverityBadge } from '../../components/Badges';
import { ErrorMessage } from '../../components/ErrorMessage';
import { formatDateTime, formatRelative } from '../../components/format';
import { useNow } from '../../components/useNow';
import { useLiveEvents, useLiveFeed } from '../../live/LiveFeedProvider';

const SHOWN = 20;

/** The node's 20 most recent events, with new ones and acknowledgements arriving live. */
export function NodeEvents({ nodeId }: { nodeId: string }) {
  const { status: feedStatus, onAcknowledged } = useLiveFeed();
  const [events, setEvents] = useState<NodeEvent[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [reloadKey, setReloadKey] = useState(0);
  const now = useNow(10_000);

  useEffect(() => {
    let cancelled = false;
    api.get<NodeEvent[]>(`/api/v1/events?node_id=${encodeURIComponent(nodeId)}&per_page=${SHOWN}`).then(
      (list) => {
        if (cancelled) return;
        // Live events that arrived before the list keep their place.
        setEvents((prev) => merge(prev ?? [], list));
        setError(null);
      },
      (err) => !cancelled && setError(err)
    );
    return () => {
      cancelled = true;
    };
  }, [nodeId, reloadKey]);

  // Events and acknowledgements while the feed was not connected were never pushed: reload
  // once it is (again); and on acknowledgements of this node's events, by anyone.
  const previousStatus = useRef(feedStatus);
  useEffect(() => {
    if (previousStatus.current !== 'connected' && feedStatus === 'connected') setReloadKey((k) => k + 1);
    previousStatus.current = feedStatus;
  }, [feedStatus]);
  useEffect(
    () =>
      onAcknowledged((nodeIds) => {
        if (nodeIds.includes(nodeId)) setReloadKey((k) => k + 1);
      }),
    [onAcknowledged, nodeId]
  );

  useLiveEvents((event) => {
    if (event.node_id === nodeId) setEvents((prev) => merge(prev ?? [], [event]));
  });

  return (
    <section className="panel" aria-labelledby="events-heading">
      <div className="nd-section-head">
        <h2 id="events-heading">Recent events</h2>
        <Link to={`/events?node_id=${nodeId}`}>All events of this node</Link>
      </div>
      <ErrorMessage error={error} />
      {events === null && !error && <p className="muted">Loading events…</p>}
      {events !== null && events.length === 0 && <p className="muted">No events.</p>}
      {events !== null && events.length > 0 && (
        <div className="table-scroll">
          <table aria-label="Recent events" data-testid="node-events">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Severity</th>
                <th scope="col">Category</th>
                <th scope="col">Message</th>
                <th scope="col">Flow</th>
              </tr>
            </thead>
            <tbody>
              {events.map((e) => (
                <tr key={e.id} className={e.acknowledged ? 'nd-acked' : undefined} data-acknowledged={e.acknowledged}>
                  <td title={formatDateTime(e.created_at)}>{formatRelative(e.created_at, now)}</td>
                  <td>
                    <SeverityBadge severity={e.severity} />
                  </td>
                  <td>{e.category}</td>
                  <td>{e.message}</td>
                  <td>{e.flow_id ? <code>{e.flow_id}</code> : <span className="muted">—</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function merge(current: NodeEvent[], incoming: NodeEvent[]): NodeEvent[] {
  const byId = new Map(current.map((e) => [e.id, e]));
  for (const e of incoming) byId.set(e.id, e);
  return [...byId.values()].sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id - a.id).slice(0, SHOWN);
}
