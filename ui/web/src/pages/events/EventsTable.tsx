import { memo, useEffect, useRef } from 'react';
import type { NodeEvent } from '../../api/types';
import { SeverityBadge } from '../../components/Badges';
import { formatDateTime, formatRelative } from '../../components/format';

interface RowProps {
  event: NodeEvent;
  nodeName: string;
  ackedBy: string | null;
  now: number;
  isNew: boolean;
  canAck: boolean;
  selected: boolean;
  busy: boolean;
  onSelect: (id: number, selected: boolean) => void;
  onAck: (id: number) => void;
}

function scopeText(event: NodeEvent): string {
  return [event.flow_id && `flow ${event.flow_id}`, event.input_id && `input ${event.input_id}`, event.output_id && `output ${event.output_id}`]
    .filter(Boolean)
    .join(' · ');
}

const EventRow = memo(function EventRow({ event, nodeName, ackedBy, now, isNew, canAck, selected, busy, onSelect, onAck }: RowProps) {
  const scope = scopeText(event);
  const hasDetails = event.details !== null && Object.keys(event.details).length > 0;
  return (
    <tr
      className={`event-row${isNew ? ' event-new' : ''}${event.acknowledged ? ' event-acked' : ''}`}
      data-testid="event-row"
      data-event-id={event.id}
      data-severity={event.severity}
      data-acknowledged={event.acknowledged}
      data-new={isNew || undefined}
    >
      {canAck && (
        <td className="event-select">
          {!event.acknowledged && (
            <input type="checkbox" checked={selected} onChange={(e) => onSelect(event.id, e.target.checked)} aria-label={`Select event: ${event.message}`} />
          )}
        </td>
      )}
      <td>
        <SeverityBadge severity={event.severity} />
        {event.raw_severity && event.raw_severity !== event.severity && <div className="muted small-text">{event.raw_severity}</div>}
      </td>
      <td className="event-time">
        <time dateTime={event.created_at} title={formatDateTime(event.created_at)}>
          {formatRelative(event.created_at, now)}
        </time>
        {isNew && <span className="new-badge">New</span>}
      </td>
      <td className="event-node">{nodeName}</td>
      <td>
        <code className="event-category">{event.category}</code>
      </td>
      <td className="event-message">
        {event.message}
        {scope && <div className="muted small-text">{scope}</div>}
      </td>
      <td className="event-details">
        {hasDetails ? (
          <details>
            <summary>JSON</summary>
            <pre>{JSON.stringify(event.details, null, 2)}</pre>
          </details>
        ) : (
          <span className="muted">—</span>
        )}
      </td>
      <td className="event-ack-state">
        {event.acknowledged ? (
          <>
            <span className="acked">Acknowledged</span>
            <div className="muted small-text">
              {ackedBy && <>by {ackedBy} </>}
              {event.acknowledged_at && (
                <time dateTime={event.acknowledged_at} title={formatDateTime(event.acknowledged_at)}>
                  {formatRelative(event.acknowledged_at, now)}
                </time>
              )}
            </div>
          </>
        ) : (
          <span className="muted">Unacknowledged</span>
        )}
      </td>
      {canAck && (
        <td>
          {!event.acknowledged && (
            <button type="button" className="small secondary" disabled={busy} onClick={() => onAck(event.id)}>
              {busy ? 'Acknowledging…' : 'Acknowledge'}
            </button>
          )}
        </td>
      )}
    </tr>
  );
});

export interface EventsTableProps {
  events: NodeEvent[];
  nodeName: (event: NodeEvent) => string;
  userName: (id: string | null) => string | null;
  now: number;
  fresh: Set<number>;
  canAck: boolean;
  selected: Set<number>;
  busy: Set<number>;
  onSelect: (id: number, selected: boolean) => void;
  onSelectAll: (selected: boolean) => void;
  onAck: (id: number) => void;
}

export function EventsTable({ events, nodeName, userName, now, fresh, canAck, selected, busy, onSelect, onSelectAll, onAck }: EventsTableProps) {
  const selectable = events.filter((e) => !e.acknowledged);
  const selectedHere = selectable.filter((e) => selected.has(e.id)).length;
  const all = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (all.current) all.current.indeterminate = selectedHere > 0 && selectedHere < selectable.length;
  }, [selectedHere, selectable.length]);

  return (
    <div className="table-scroll">
      <table className="events-table" aria-label="Events">
        <thead>
          <tr>
            {canAck && (
              <th className="event-select">
                <input
                  ref={all}
                  type="checkbox"
                  aria-label="Select all on this page"
                  checked={selectable.length > 0 && selectedHere === selectable.length}
                  disabled={selectable.length === 0}
                  onChange={(e) => onSelectAll(e.target.checked)}
                />
              </th>
            )}
            <th scope="col">Severity</th>
            <th scope="col">Time</th>
            <th scope="col">Node</th>
            <th scope="col">Category</th>
            <th scope="col">Message</th>
            <th scope="col">Details</th>
            <th scope="col">Acknowledged</th>
            {canAck && (
              <th scope="col">
                <span className="events-sr-only">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {events.map((event) => (
            <EventRow
              key={event.id}
              event={event}
              nodeName={nodeName(event)}
              ackedBy={userName(event.acknowledged_by)}
              now={now}
              isNew={fresh.has(event.id)}
              canAck={canAck}
              selected={selected.has(event.id)}
              busy={busy.has(event.id)}
              onSelect={onSelect}
              onAck={onAck}
            />
          ))}
        </tbody>
      </table>
    </div>
  );
}
