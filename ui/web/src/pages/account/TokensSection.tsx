import { useState, type FormEvent } from 'react';
import { api } from '../../api/client';
import { ROLES, roleAtLeast, type Role, type User } from '../../api/types';
import { CopyButton } from '../../components/CopyButton';
import { Dialog } from '../../components/Dialog';
import { ErrorMessage } from '../../components/ErrorMessage';
import { formatDateTime, formatRelative } from '../../components/format';
import { useApiGet } from '../../components/useApiGet';
import { useFocusAfterClose } from '../../components/useFocusAfterClose';
import { useNowAt } from '../../components/useNow';

interface ApiToken {
  id: string;
  name: string;
  prefix: string;
  role: Role | null;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
}

const roleLabel = (role: Role) => role.replace('_', ' ');

/** Personal API tokens: list, create (the secret is shown once), revoke. */
export function TokensSection({ user }: { user: User }) {
  const { data: tokens, error: loadError, reload: load } = useApiGet<ApiToken[]>('/api/v1/auth/tokens');
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role | ''>('');
  const [expires, setExpires] = useState('');
  const [currentPassword, setCurrentPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [created, setCreated] = useState<(ApiToken & { token: string }) | null>(null);
  const [revoking, setRevoking] = useState<ApiToken | null>(null);
  // A revoked token's row takes the dialog's opener with it.
  const { target: headingRef, requestFocus: focusHeadingAfterClose } = useFocusAfterClose<HTMLHeadingElement>(revoking !== null);
  // The "expired" marks appear the moment a token expires.
  const now = useNowAt((tokens ?? []).flatMap((t) => (t.expires_at === null ? [] : [Date.parse(t.expires_at)])));

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setCreated(null);
    try {
      const expiresAt = expires ? new Date(expires).toISOString() : null;
      const token = await api.post<ApiToken & { token: string }>('/api/v1/auth/tokens', {
        name: name.trim(),
        role: role || null,
        expires_at: expiresAt,
        ...(currentPassword && { current_password: currentPassword })
      });
      setCurrentPassword('');
      setCreated(token);
      setName('');
      setRole('');
      setExpires('');
      await load();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const revoke = async () => {
    if (!revoking) return;
    setBusy(true);
    setError(null);
    try {
      await api.delete(`/api/v1/auth/tokens/${revoking.id}`);
      if (created?.id === revoking.id) setCreated(null);
      focusHeadingAfterClose();
      setRevoking(null);
      await load();
    } catch (err) {
      setError(err);
      setRevoking(null);
    } finally {
      setBusy(false);
    }
  };

  const expired = (t: ApiToken) => t.expires_at !== null && Date.parse(t.expires_at) <= now;

  return (
    <section className="panel" aria-labelledby="tokens-heading">
      <h2 id="tokens-heading" ref={headingRef} tabIndex={-1}>
        API tokens
      </h2>
      <p className="muted">
        For scripts: send <code>Authorization: Bearer bct_…</code>. A token acts with your current rights, optionally capped at a lower role.
      </p>
      <form onSubmit={(e) => void create(e)} aria-label="Create API token" className="row token-form">
        <label>
          Token name
          <input value={name} onChange={(e) => setName(e.target.value)} maxLength={100} required placeholder="e.g. monitoring script" />
        </label>
        <label>
          Role cap
          <select value={role} onChange={(e) => setRole(e.target.value as Role | '')}>
            <option value="">None (your role)</option>
            {ROLES.filter((r) => roleAtLeast(user.role, r)).map((r) => (
              <option key={r} value={r}>
                {roleLabel(r)}
              </option>
            ))}
          </select>
        </label>
        <label>
          Expires (optional)
          <input type="datetime-local" value={expires} onChange={(e) => setExpires(e.target.value)} />
        </label>
        <label>
          Current password
          <input type="password" value={currentPassword} onChange={(e) => setCurrentPassword(e.target.value)} maxLength={128} autoComplete="current-password" />
          <span className="muted nd-small">Needed unless you signed in within the last ten minutes.</span>
        </label>
        <button type="submit" disabled={busy || name.trim() === ''}>
          Create token
        </button>
      </form>
      <ErrorMessage error={error} />
      {created && (
        <div className="success-box token-created" role="region" aria-label="New API token">
          <p>
            Token <strong>{created.name}</strong> created. <strong>Copy it now — it will not be shown again.</strong>
          </p>
          <div className="row">
            <code className="token-secret" data-testid="token-secret">
              {created.token}
            </code>
            <CopyButton text={created.token} label="Copy token" />
            <button type="button" className="secondary small" onClick={() => setCreated(null)}>
              Done
            </button>
          </div>
        </div>
      )}
      <ErrorMessage error={loadError} />
      {tokens === null ? (
        !loadError && <div className="loading">Loading tokens…</div>
      ) : tokens.length === 0 ? (
        <p className="empty">You have no API tokens.</p>
      ) : (
        <div className="account-table">
          <table aria-label="API tokens">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Token</th>
                <th scope="col">Role cap</th>
                <th scope="col">Created</th>
                <th scope="col">Expires</th>
                <th scope="col">Last used</th>
                <th scope="col">
                  <span className="account-sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {tokens.map((t) => (
                <tr key={t.id} data-testid="token-row" data-token-id={t.id}>
                  <td>{t.name}</td>
                  <td>
                    <code>{t.prefix}…</code>
                  </td>
                  <td>{t.role ? roleLabel(t.role) : <span className="muted">none</span>}</td>
                  <td title={formatDateTime(t.created_at)}>{formatRelative(t.created_at)}</td>
                  <td>
                    {t.expires_at ? (
                      <span className={expired(t) ? 'expired' : ''}>
                        {expired(t) ? 'expired ' : ''}
                        {formatDateTime(t.expires_at)}
                      </span>
                    ) : (
                      <span className="muted">never</span>
                    )}
                  </td>
                  <td title={t.last_used_at ? formatDateTime(t.last_used_at) : undefined}>
                    {t.last_used_at ? formatRelative(t.last_used_at) : <span className="muted">never</span>}
                  </td>
                  <td>
                    <button type="button" className="danger small" onClick={() => setRevoking(t)} aria-label={`Revoke token ${t.name}`}>
                      Revoke
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Dialog title="Revoke API token" open={revoking !== null} onClose={() => setRevoking(null)}>
        <p>
          Revoke <strong>{revoking?.name}</strong>? Scripts using it stop working at once.
        </p>
        <div className="row">
          <button type="button" className="danger" onClick={() => void revoke()} disabled={busy}>
            Revoke token
          </button>
          <button type="button" className="secondary" onClick={() => setRevoking(null)}>
            Cancel
          </button>
        </div>
      </Dialog>
    </section>
  );
}
