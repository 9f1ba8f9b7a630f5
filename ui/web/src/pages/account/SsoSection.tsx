import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { useSearchParams } from 'react-router-dom';
import { api } from '../../api/client';
import { ErrorMessage } from '../../components/ErrorMessage';
import { SsoIdentityTable, type SsoIdentity } from '../../components/SsoIdentityTable';

/** Why the provider's answer linked nothing (`/account?sso_error=…`, set by the manager's SSO callback). */
const LINK_ERRORS: Record<string, string> = {
  linked_elsewhere: 'That identity provider account is already linked to another user.',
  link_session_ended: 'Your session ended before the identity provider answered. Sign in and try again.',
  sso_failed: 'Single sign-on failed; nothing was linked. Try again, or ask an administrator.'
};

/**
 * Single sign-on identities: which identity provider accounts can sign in as you, linking one
 * (an explicit act: the manager never links by email), and removing one.
 */
export function SsoSection({ mfaEnabled }: { mfaEnabled: boolean }) {
  const [params, setParams] = useSearchParams();
  const [status, setStatus] = useState<{ enabled: boolean; label: string | null } | null>(null);
  const [identities, setIdentities] = useState<SsoIdentity[] | null>(null);
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const linkedNow = params.get('sso') === 'linked';
  const linkError = params.get('sso_error');

  const load = useCallback(
    () =>
      Promise.all([
        api.get<{ enabled: boolean; label: string | null }>('/api/v1/auth/oidc/status'),
        api.get<SsoIdentity[]>('/api/v1/auth/sso-identities')
      ]).then(
        ([sso, list]) => {
          setStatus(sso);
          setIdentities(list);
        },
        (err: unknown) => setError(err)
      ),
    []
  );

  useEffect(() => {
    void load();
  }, [load]);

  const dismiss = () => {
    const next = new URLSearchParams(params);
    next.delete('sso');
    next.delete('sso_error');
    setParams(next, { replace: true });
  };

  const link = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const proof = { ...(password ? { current_password: password } : {}), ...(code.trim() ? { code: code.trim() } : {}) };
      const { location } = await api.post<{ location: string }>('/api/v1/auth/sso-identities/link', proof);
      // Off to the identity provider; it sends the browser back to this page.
      window.location.assign(location);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  const remove = async (identity: SsoIdentity) => {
    setError(null);
    dismiss();
    try {
      await api.delete(`/api/v1/auth/sso-identities?issuer=${encodeURIComponent(identity.issuer)}&subject=${encodeURIComponent(identity.subject)}`);
      await load();
    } catch (err) {
      setError(err);
    }
  };

  // Nothing to show on a manager without single sign-on, unless identities linked earlier remain.
  if (!status || !identities || (!status.enabled && identities.length === 0)) return error ? <ErrorMessage error={error} /> : null;
  const label = status.label ?? 'single sign-on';
  return (
    <section className="panel" aria-labelledby="sso-heading">
      <h2 id="sso-heading">Single sign-on</h2>
      <p className="muted">Identity provider accounts linked here sign you in without your password. Only you or an administrator can link one.</p>
      {linkedNow && (
        <div className="success-box" role="status">
          Your {label} account is linked.
        </div>
      )}
      {linkError && (
        <div className="error-box" role="alert">
          {LINK_ERRORS[linkError] ?? LINK_ERRORS.sso_failed}
        </div>
      )}
      {identities.length === 0 ? (
        <p>No identity provider account is linked to you.</p>
      ) : (
        <SsoIdentityTable label="Linked identities" identities={identities} onRemove={(identity) => void remove(identity)} />
      )}
      {status.enabled && (
        <form onSubmit={(e) => void link(e)} aria-label="Link an identity provider account" className="account-form">
          <p className="muted">A linked account signs you in without your password or second factor, so linking one asks for both.</p>
          <label>
            Current password
            <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} maxLength={128} autoComplete="current-password" />
          </label>
          {mfaEnabled && (
            <label>
              Authenticator or recovery code
              <input value={code} onChange={(e) => setCode(e.target.value)} maxLength={32} autoComplete="one-time-code" />
            </label>
          )}
          <button type="submit" disabled={busy}>
            Link {label} account
          </button>
        </form>
      )}
      <ErrorMessage error={error} />
    </section>
  );
}
