import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { api, request } from '../api/client';
import type { NodeEvent, User } from '../api/types';
import { useAuth } from '../auth/AuthProvider';
import { Dialog } from '../components/Dialog';
import { ErrorMessage } from '../components/ErrorMessage';
import { useLiveEvents, useLiveFeed } from '../live/LiveFeedProvider';
import { EventFiltersBar } from './events/EventFiltersBar';
import { EventsTable } from './events/EventsTable';
import {
  ackFilter,
  FILTER_KEYS,
  filtersFromParams,
  hasFilters,
  listQuery,
  matchesFilters,
  pageFromParams,
  PER_PAGE,
  type EventFilters
} from './events/filters';
import './events/events.css';

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * Every event the user may see, filtered (the filters live in the URL), paged, with new events
 * arriving live on the first page, and acknowledgement (one, selected, or all matching) for
 * operators.
 */
export function EventsPage() {
  const [params, setParams] = useSearchParams();
  const filters = useMemo(() => filtersFromParams(params), [params]);
  const page = pageFromParams(params);
  const query = listQuery(filters, page);
  const { user, can } = useAuth();
  const canAck = can('operator');
  const feed = useLiveFeed();
  const { onAcknowledged } = feed;

  const [events, setEvents] = useState<NodeEvent[] | null>(null);
  const [total, setTotal] = useState(0);
  /** The page whose rows are shown: until the next page's rows arrive, still the previous one. */
  const [shownPage, setShownPage] = useState(page);
  const [loading, setLoading] = useState(true);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [fresh, setFresh] = useState<Set<number>>(new Set());
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [busy, setBusy] = useState<Set<number>>(new Set());
  const [bulkBusy, setBulkBusy] = useState(false);
  const [confirmAll, setConfirmAll] = useState(false);
  const [newElsewhere, setNewElsewhere] = useState(0);
  const [reloadKey, setReloadKey] = useState(0);
  const [now, setNow] = useState(() => Date.now());
  const [users, setUsers] = useState<Map<string, string>>(new Map());
  /** Live events that arrive while a page is loading (merged when it arrives); null when idle. */
  const pendingLive = useRef<NodeEvent[] | null>(null);

  // Loading from the render that asks for another list (filters, page, a reload) until it arrives.
  const [requested, setRequested] = useState({ query, page, reloadKey });
  if (requested.query !== query || requested.page !== page || requested.reloadKey !== reloadKey) {
    setRequested({ query, page, reloadKey });
    setLoading(true);
  }

  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), 15_000);
    return () => window.clearInterval(timer);
  }, []);

  // Admins may read the user list: show who acknowledged by name rather than by id.
  const isAdmin = can('admin');
  useEffect(() => {
    if (!isAdmin) return;
    api.get<User[]>('/api/v1/users').then(
      (list) => setUsers(new Map(list.map((u) => [u.id, u.display_name || u.username]))),
      () => undefined
    );
  }, [isAdmin]);

  useEffect(() => {
    let cancelled = false;
    pendingLive.current = [];
    request<NodeEvent[]>('GET', `/api/v1/events?${query}`).then(
      ({ data, headers }) => {
        if (cancelled) return;
        const live = pendingLive.current ?? [];
        pendingLive.current = null;
        const ids = new Set(data.map((e) => e.id));
        const newest = data.reduce((max, e) => Math.max(max, e.id), 0);
        // Events that arrived after the query ran are neither listed nor counted.
        const extra = page === 1 ? live.filter((e) => e.id > newest && !ids.has(e.id)) : [];
        setEvents([...extra.reverse(), ...data].slice(0, PER_PAGE));
        setShownPage(page);
        setTotal(Number(headers.get('X-Total-Count') ?? data.length) + extra.length);
        setFresh((prev) => new Set([...[...prev].filter((id) => ids.has(id)), ...extra.map((e) => e.id)]));
        // Acknowledged meanwhile (by anyone): no longer selectable, so no longer selected.
        const open = new Set(data.filter((e) => !e.acknowledged).map((e) => e.id));
        setSelected((prev) => new Set([...prev].filter((id) => open.has(id))));
        setNewElsewhere(0);
        setLoadError(null);
        setLoading(false);
      },
      (err) => {
        if (cancelled) return;
        pendingLive.current = null;
        setLoadError(err);
        setEvents((prev) => prev ?? []);
        setLoading(false);
      }
    );
    return () => {
      cancelled = true;
    };
  }, [query, page, reloadKey]);

  // Changes made while the live feed was not connected (down, or not yet up when the page
  // loaded) were never pushed: reload once it is connected.
  const feedStatus = useRef(feed.status);
  useEffect(() => {
    if (feedStatus.current !== 'connected' && feed.status === 'connected') setReloadKey((k) => k + 1);
    feedStatus.current = feed.status;
  }, [feed.status]);

  // Acknowledgements by anyone (another operator, a bulk ack) show without a manual refresh.
  useEffect(() => onAcknowledged(() => setReloadKey((k) => k + 1)), [onAcknowledged]);

  useLiveEvents((event) => {
    if (!matchesFilters(event, filters)) return;
    if (pendingLive.current) {
      pendingLive.current.push(event);
      return;
    }
    if (page !== 1) {
      setTotal((t) => t + 1);
      setNewElsewhere((n) => n + 1);
      return;
    }
    if (events?.some((e) => e.id === event.id)) return;
    setEvents((prev) => [event, ...(prev ?? []).filter((e) => e.id !== event.id)].slice(0, PER_PAGE));
    setTotal((t) => t + 1);
    setFresh((prev) => new Set(prev).add(event.id));
  });

  /** Applies filter changes to the URL; any filter change goes back to page 1. */
  const updateFilters = useCallback(
    (changes: Partial<EventFilters>) => {
      setParams(
        (prev) => {
          const next = new URLSearchParams(prev);
          for (const [key, value] of Object.entries(changes)) {
            if (value) next.set(key, value);
            else next.delete(key);
          }
          next.delete('page');
          return next;
        },
        { replace: 'q' in changes || 'category' in changes }
      );
    },
    [setParams]
  );

  const clearFilters = () =>
    setParams((prev) => {
      const next = new URLSearchParams(prev);
      for (const key of FILTER_KEYS) next.delete(key);
      next.delete('page');
      return next;
    });

  const goToPage = (n: number) =>
    setParams((prev) => {
      const next = new URLSearchParams(prev);
      if (n <= 1) next.delete('page');
      else next.set('page', String(n));
      return next;
    });

  const nodeName = useCallback((event: NodeEvent) => event.node_name ?? feed.nodes?.get(event.node_id)?.name ?? event.node_id, [feed.nodes]);
  const userName = useCallback(
    (id: string | null) => {
      if (!id) return null;
      if (id === user?.id) return user.display_name || user.username;
      return users.get(id) ?? `user ${id.slice(0, 8)}`;
    },
    [user, users]
  );

  const onSelect = useCallback((id: number, on: boolean) => {
    setSelected((prev) => {
      const next = new Set(prev);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });
  }, []);

  const onSelectAll = (on: boolean) => setSelected(on ? new Set((events ?? []).filter((e) => !e.acknowledged).map((e) => e.id)) : new Set());

  const acknowledge = useCallback(async (id: number) => {
    setBusy((prev) => new Set(prev).add(id));
    setActionError(null);
    setNotice(null);
    try {
      const updated = await api.post<NodeEvent>(`/api/v1/events/${id}/ack`);
      setEvents((prev) => (prev ?? []).map((e) => (e.id === id ? { ...e, ...updated, node_name: updated.node_name ?? e.node_name } : e)));
      setSelected((prev) => {
        const next = new Set(prev);
        next.delete(id);
        return next;
      });
    } catch (err) {
      setActionError(err);
    } finally {
      setBusy((prev) => {
        const next = new Set(prev);
        next.delete(id);
        return next;
      });
    }
  }, []);
  const onAck = useCallback((id: number) => void acknowledge(id), [acknowledge]);

  const bulkAck = async (body: { ids: number[] } | { filter: Record<string, string> }) => {
    setBulkBusy(true);
    setActionError(null);
    setNotice(null);
    try {
      const result = await api.post<{ acknowledged: number }>('/api/v1/events/ack', body);
      setNotice(`Acknowledged ${plural(result.acknowledged, 'event')}.`);
      setSelected(new Set());
      setReloadKey((k) => k + 1);
    } catch (err) {
      setActionError(err);
    } finally {
      setBulkBusy(false);
      setConfirmAll(false);
    }
  };

  const pages = Math.max(1, Math.ceil(total / PER_PAGE));
  const selectedCount = selected.size;

  return (
    <div className="events-page">
      <h1>Events</h1>
      <EventFiltersBar filters={filters} nodes={feed.nodes} onChange={updateFilters} onClear={clearFilters} />

      <div className="row events-actions">
        <span className="muted" data-testid="events-total" role="status">
          {loading && events === null ? 'Loading…' : plural(total, hasFilters(filters) ? 'matching event' : 'event')}
        </span>
        {canAck && (
          <>
            <button type="button" disabled={selectedCount === 0 || bulkBusy} onClick={() => void bulkAck({ ids: [...selected] })}>
              Acknowledge selected{selectedCount > 0 ? ` (${selectedCount})` : ''}
            </button>
            <button type="button" className="secondary" disabled={bulkBusy || filters.acknowledged === 'true'} onClick={() => setConfirmAll(true)}>
              Acknowledge all matching…
            </button>
          </>
        )}
        <span className="spacer" />
        <button type="button" className="secondary" onClick={() => setReloadKey((k) => k + 1)} disabled={loading}>
          Refresh
        </button>
      </div>

      {newElsewhere > 0 && (
        <div className="events-new-note" role="status">
          {plural(newElsewhere, 'new event')} since this page loaded.{' '}
          <button type="button" className="small secondary" onClick={() => goToPage(1)}>
            Show newest
          </button>
        </div>
      )}
      {notice && (
        <div className="success-box" role="status">
          {notice}
        </div>
      )}
      <ErrorMessage error={actionError} />
      <ErrorMessage error={loadError} />

      {events === null ? (
        <div className="loading">Loading events…</div>
      ) : events.length === 0 ? (
        <p className="empty">{page > 1 && total > 0 ? 'No events on this page.' : hasFilters(filters) ? 'No events match these filters.' : 'No events yet.'}</p>
      ) : (
        <EventsTable
          events={events}
          nodeName={nodeName}
          userName={userName}
          now={now}
          fresh={fresh}
          canAck={canAck}
          selected={selected}
          busy={busy}
          onSelect={onSelect}
          onSelectAll={onSelectAll}
          onAck={onAck}
        />
      )}

      <nav className="pagination" aria-label="Pagination">
        <button type="button" className="secondary" disabled={page <= 1 || loading} onClick={() => goToPage(Math.min(page - 1, pages))}>
          Previous
        </button>
        <span data-testid="page-info">
          Page {shownPage} of {pages}
        </span>
        <button type="button" className="secondary" disabled={page >= pages || loading} onClick={() => goToPage(page + 1)}>
          Next
        </button>
      </nav>

      {canAck && (
        <Dialog title="Acknowledge all matching events" open={confirmAll} onClose={() => setConfirmAll(false)}>
          <p>
            Acknowledge <strong>every unacknowledged event</strong> that matches the current filters
            {hasFilters(filters) ? '' : ' — no filters are set, so this is every unacknowledged event you can see'}, on all pages?
          </p>
          <div className="row">
            <button type="button" disabled={bulkBusy} onClick={() => void bulkAck({ filter: ackFilter(filters) })}>
              {bulkBusy ? 'Acknowledging…' : 'Acknowledge all'}
            </button>
            <button type="button" className="secondary" onClick={() => setConfirmAll(false)}>
              Cancel
            </button>
          </div>
        </Dialog>
      )}
    </div>
  );
}
