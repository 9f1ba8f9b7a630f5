import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { api, request } from '../api/client';
import type { User } from '../api/types';
import { ErrorMessage } from '../components/ErrorMessage';
import { formatDateTime } from '../components/format';
import { AdminOnly } from './admin/AdminOnly';
import { isoToLocalInput, localInputToIso } from './admin/time';

interface AuditRecord {
  id: number;
  action: string;
  user_id: string | null;
  username: string | null;
  target_type: string | null;
  target_id: string | null;
  ip: string | null;
  outcome: 'success' | 'failure';
  details: Record<string, unknown>;
  created_at: string;
}

interface AuditPage {
  records: AuditRecord[];
  total: number;
  page: number;
  per_page: number;
}

/** Actions the manager records, offered as suggestions (any action can be typed). */
const KNOWN_ACTIONS = [
  'auth.login',
  'auth.login_failed',
  'auth.logout',
  'auth.lockout',
  'auth.password_change',
  'auth.mfa_enable',
  'auth.mfa_disable',
  'auth.mfa_failed',
  'auth.session_revoke',
  'auth.token_create',
  'auth.token_revoke',
  'user.create',
  'user.update',
  'user.delete',
  'node.create',
  'node.update',
  'node.delete',
  'node.token',
  'node.command',
  'node.auth_lockout',
  'events.ack'
];

const PER_PAGE = 50;

/** The filters in the page's URL. */
function filtersOf(params: URLSearchParams) {
  return {
    action: params.get('action') ?? '',
    user_id: params.get('user_id') ?? '',
    from: params.get('from') ?? '',
    to: params.get('to') ?? ''
  };
}

/** The page number in the page's URL. */
function pageOf(params: URLSearchParams): number {
  return Math.max(1, Number(params.get('page')) || 1);
}

/** `/admin/audit`: who did what, newest first, filtered by action, user and time; the filters live in the URL. */
export function AuditPage() {
  return (
    <AdminOnly title="Audit log">
      <AuditLog />
    </AdminOnly>
  );
}

function AuditLog() {
  const [params, setParams] = useSearchParams();
  const filters = filtersOf(params);
  const page = pageOf(params);
  const [data, setData] = useState<AuditPage | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [users, setUsers] = useState<User[]>([]);
  const [reloadTick, setReloadTick] = useState(0);
  const query = params.toString();

  // Loading from the render that asks for other records (the URL changed, or a reload) until they arrive.
  const [loading, setLoading] = useState(true);
  const [requested, setRequested] = useState({ query, reloadTick });
  if (requested.query !== query || requested.reloadTick !== reloadTick) {
    setRequested({ query, reloadTick });
    setLoading(true);
  }

  // The form's own state; applied to the URL on submit.
  const [action, setAction] = useState(filters.action);
  const [userId, setUserId] = useState(filters.user_id);
  const [from, setFrom] = useState(isoToLocalInput(filters.from));
  const [to, setTo] = useState(isoToLocalInput(filters.to));

  // The URL's filters changed (Back, Forward, a link): the form shows them.
  const filtersKey = JSON.stringify(filters);
  const [formFor, setFormFor] = useState(filtersKey);
  if (formFor !== filtersKey) {
    setFormFor(filtersKey);
    setAction(filters.action);
    setUserId(filters.user_id);
    setFrom(isoToLocalInput(filters.from));
    setTo(isoToLocalInput(filters.to));
  }

  useEffect(() => {
    let cancelled = false;
    const url = new URLSearchParams(query);
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(filtersOf(url))) if (v) q.set(k, v);
    q.set('page', String(pageOf(url)));
    q.set('per_page', String(PER_PAGE));
    request<AuditPage>('GET', `/api/v1/audit?${q}`).then(
      ({ data: body, headers }) => {
        if (cancelled) return;
        const total = Number(headers.get('x-total-count') ?? body.total);
        setData({ ...body, total: Number.isFinite(total) ? total : body.total });
        setError(null);
        setLoading(false);
      },
      (err) => {
        if (cancelled) return;
        setError(err);
        setLoading(false);
      }
    );
    return () => {
      cancelled = true;
    };
  }, [query, reloadTick]);

  useEffect(() => {
    api.get<User[]>('/api/v1/users').then(setUsers, () => setUsers([]));
  }, []);

  const actions = useMemo(() => [...new Set([...KNOWN_ACTIONS, ...(data?.records.map((r) => r.action) ?? [])])].sort(), [data]);

  const apply = (e: FormEvent) => {
    e.preventDefault();
    const next = new URLSearchParams();
    if (action.trim()) next.set('action', action.trim());
    if (userId) next.set('user_id', userId);
    const fromIso = localInputToIso(from);
    // "To" is a whole minute: include everything up to its last millisecond.
    const toTime = to ? new Date(to).getTime() : NaN;
    const toIso = Number.isFinite(toTime) ? new Date(toTime + 59_999).toISOString() : null;
    if (fromIso) next.set('from', fromIso);
    if (toIso) next.set('to', toIso);
    // The same filters again: reload them (a changed URL reloads by itself).
    if (next.toString() === params.toString()) setReloadTick((n) => n + 1);
    else setParams(next);
  };

  const clear = () => {
    setAction('');
    setUserId('');
    setFrom('');
    setTo('');
    setParams(new URLSearchParams());
  };

  const goTo = (p: number) => {
    const next = new URLSearchParams(params);
    next.set('page', String(p));
    setParams(next);
  };

  // The range describes the records shown (the page they were fetched for), not the URL's page while it loads.
  const total = data?.total ?? 0;
  const shownPage = data?.page ?? page;
  const perPage = data?.per_page ?? PER_PAGE;
  const pages = Math.max(1, Math.ceil(total / perPage));
  const first = total === 0 ? 0 : (shownPage - 1) * perPage + 1;
  const last = Math.min(total, first - 1 + (data?.records.length ?? 0));

  return (
    <>
      <div className="page-head">
        <h1>Audit log</h1>
        <button type="button" className="secondary" onClick={() => setReloadTick((n) => n + 1)} disabled={loading}>
          Refresh
        </button>
      </div>
      <form className="toolbar audit-filters" onSubmit={apply} aria-label="Audit filters">
        <label>
          Action
          <input list="audit-actions" value={action} onChange={(e) => setAction(e.target.value)} placeholder="Any action" />
          <datalist id="audit-actions">
            {actions.map((a) => (
              <option key={a} value={a} />
            ))}
          </datalist>
        </label>
        <label>
          User
          <select value={userId} onChange={(e) => setUserId(e.target.value)}>
            <option value="">Any user</option>
            {users.map((u) => (
              <option key={u.id} value={u.id}>
                {u.username}
              </option>
            ))}
          </select>
        </label>
        <label>
          From
          <input type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} />
        </label>
        <label>
          To
          <input type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} />
        </label>
        <button type="submit">Apply filters</button>
        <button type="button" className="secondary" onClick={clear}>
          Clear
        </button>
      </form>
      <ErrorMessage error={error} />
      {data === null && !error ? (
        <div className="loading">Loading the audit log…</div>
      ) : data && data.records.length === 0 ? (
        <p className="empty">No audit records match these filters.</p>
      ) : data ? (
        <>
          <div className="table-wrap">
            <table className="audit-table" aria-label="Audit records" aria-busy={loading}>
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">User</th>
                  <th scope="col">Action</th>
                  <th scope="col">Target</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">IP</th>
                  <th scope="col">Details</th>
                </tr>
              </thead>
              <tbody>
                {data.records.map((r) => (
                  <tr key={r.id} data-testid="audit-row" data-action={r.action}>
                    <td className="time" title={r.created_at}>
                      {formatDateTime(r.created_at)}
                    </td>
                    <td>{r.username ?? <span className="muted">{r.user_id ? r.user_id.slice(0, 8) : 'system'}</span>}</td>
                    <td>
                      <code>{r.action}</code>
                    </td>
                    <td>
                      <Target record={r} />
                    </td>
                    <td>
                      <span className={`badge ${r.outcome === 'success' ? 'ok' : 'bad'}`}>{r.outcome}</span>
                    </td>
                    <td>{r.ip ?? <span className="muted">—</span>}</td>
                    <td>
                      <code className="details-json">{Object.keys(r.details ?? {}).length ? JSON.stringify(r.details) : ''}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <nav className="pager" aria-label="Pages">
            <button type="button" className="secondary small" disabled={shownPage <= 1 || loading} onClick={() => goTo(shownPage - 1)}>
              Previous
            </button>
            <span data-testid="audit-range">
              {first}–{last} of {total} · page {shownPage} of {pages}
            </span>
            <button type="button" className="secondary small" disabled={shownPage >= pages || loading} onClick={() => goTo(shownPage + 1)}>
              Next
            </button>
          </nav>
        </>
      ) : null}
    </>
  );
}

function Target({ record }: { record: AuditRecord }) {
  if (!record.target_type && !record.target_id) return <span className="muted">—</span>;
  const name = typeof record.details?.name === 'string' ? record.details.name : typeof record.details?.username === 'string' ? record.details.username : null;
  const label = name ?? record.target_id?.slice(0, 8) ?? '';
  return (
    <>
      <span className="muted">{record.target_type}</span>{' '}
      {record.target_type === 'node' && record.target_id && record.action !== 'node.delete' ? (
        <Link to={`/nodes/${record.target_id}`} title={record.target_id}>
          {label}
        </Link>
      ) : (
        <span title={record.target_id ?? undefined}>{label}</span>
      )}
    </>
  );
}
