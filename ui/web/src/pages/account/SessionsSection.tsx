import { useCallback, useEffect, useState } from 'react';
import { api } from '../../api/client';
import { ErrorMessage } from '../../components/ErrorMessage';
import { formatDateTime, formatRelative } from '../../components/format';

interface Session {
  id: string;
  ip: string | null;
  user_agent: string | null;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  current: boolean;
}

const BROWSERS: [RegExp, string][] = [
  [/Edg\/(\d+)/, 'Edge'],
  [/(?:Chrome|Chromium)\/(\d+)/, 'Chrome'],
  [/Firefox\/(\d+)/, 'Firefox'],
  [/Version\/(\d+).*Safari/, 'Safari']
];

/** "Chrome 126 on Linux" from a user-agent string (the full string is in the title). */
function describeAgent(ua: string | null): string {
  if (!ua) return 'Unknown client';
  let browser = ua.split(' ')[0];
  for (const [pattern, name] of BROWSERS) {
    const match = pattern.exec(ua);
    if (match) {
      browser = `${name} ${match[1]}`;
      break;
    }
  }
  const os = /Windows/.test(ua)
    ? 'Windows'
    : /Mac OS X/.test(ua)
      ? 'macOS'
      : /Android/.test(ua)
        ? 'Android'
        : /iPhone|iPad/.test(ua)
          ? 'iOS'
          : /Linux/.test(ua)
            ? 'Linux'
            : '';
  return os ? `${browser} on ${os}` : browser;
}

/** Your signed-in sessions; end any but this one (the header's Sign out ends this one). */
export function SessionsSection({ reloadKey }: { reloadKey: number }) {
  const [sessions, setSessions] = useState<Session[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);

  const load = useCallback(() => api.get<Session[]>('/api/v1/auth/sessions').then(setSessions, (err: unknown) => setError(err)), []);

  useEffect(() => {
    void load();
  }, [load, reloadKey]);

  const revoke = async (ids: string[]) => {
    setBusy(true);
    setError(null);
    setNotice(null);
    let ended = 0;
    try {
      for (const id of ids) {
        await api.delete(`/api/v1/auth/sessions/${id}`);
        ended++;
      }
      setNotice(ended === 1 ? 'Ended 1 session.' : `Ended ${ended} sessions.`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
      await load();
    }
  };

  const others = (sessions ?? []).filter((s) => !s.current);

  return (
    <section className="panel" aria-labelledby="sessions-heading">
      <h2 id="sessions-heading">Active sessions</h2>
      <div className="row">
        <span className="muted">Browsers signed in to your account.</span>
        <span className="spacer" />
        <button type="button" className="secondary" disabled={busy || others.length === 0} onClick={() => void revoke(others.map((s) => s.id))}>
          End all other sessions
        </button>
      </div>
      <ErrorMessage error={error} />
      {notice && (
        <div className="success-box" role="status">
          {notice}
        </div>
      )}
      {sessions === null ? (
        !error && <div className="loading">Loading sessions…</div>
      ) : (
        <div className="account-table">
          <table aria-label="Sessions">
            <thead>
              <tr>
                <th scope="col">Client</th>
                <th scope="col">IP address</th>
                <th scope="col">Signed in</th>
                <th scope="col">Last active</th>
                <th scope="col">Expires</th>
                <th scope="col">
                  <span className="account-sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {sessions.map((s) => (
                <tr key={s.id} data-testid="session-row" data-current={s.current}>
                  <td title={s.user_agent ?? undefined}>
                    {describeAgent(s.user_agent)}
                    {s.current && <span className="badge status-online current-session">This session</span>}
                  </td>
                  <td>{s.ip ?? '—'}</td>
                  <td title={formatDateTime(s.created_at)}>{formatRelative(s.created_at)}</td>
                  <td title={formatDateTime(s.last_seen_at)}>{formatRelative(s.last_seen_at)}</td>
                  <td>{formatDateTime(s.expires_at)}</td>
                  <td>
                    {!s.current && (
                      <button type="button" className="secondary small" disabled={busy} onClick={() => void revoke([s.id])}>
                        End session
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
