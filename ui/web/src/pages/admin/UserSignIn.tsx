import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api } from '../../api/client';
import { useAuth } from '../../auth/AuthProvider';
import type { User } from '../../api/types';
import { ErrorMessage } from '../../components/ErrorMessage';
import { SsoIdentityTable, type SsoIdentity } from '../../components/SsoIdentityTable';
import { useBusyAction } from '../../components/useBusyAction';

/**
 * An administrator's help with another user's sign-in: reset a lost second factor, and see, link
 * or remove the identity provider accounts that sign in as them. Every change is audited.
 */
export function UserSignIn({ user, onChanged, onClose }: { user: User; onChanged: (message: string) => void; onClose: () => void }) {
  const { can } = useAuth();
  const path = `/api/v1/users/${user.id}/sso-identities`;
  const [identities, setIdentities] = useState<SsoIdentity[] | null>(null);
  const [ssoEnabled, setSsoEnabled] = useState(false);
  const [subject, setSubject] = useState('');
  const [confirmReset, setConfirmReset] = useState(false);
  const { busy, error, setError, run } = useBusyAction();

  const load = useCallback(
    () =>
      Promise.all([api.get<SsoIdentity[]>(path), api.get<{ enabled: boolean }>('/api/v1/auth/oidc/status')]).then(
        ([list, status]) => {
          setIdentities(list);
          setSsoEnabled(status.enabled);
        },
        (err: unknown) => setError(err)
      ),
    [path, setError]
  );

  useEffect(() => {
    void load();
  }, [load]);

  const resetMfa = () =>
    run(async () => {
      await api.delete(`/api/v1/users/${user.id}/mfa`);
      setConfirmReset(false);
      onChanged(`MFA of “${user.username}” reset: they sign in with their password alone until they enrol again.`);
    });

  const link = (e: FormEvent) => {
    e.preventDefault();
    return run(async () => {
      await api.post(path, { subject: subject.trim() });
      setSubject('');
      await load();
    });
  };

  const remove = (identity: SsoIdentity) =>
    run(async () => {
      await api.delete(`${path}?issuer=${encodeURIComponent(identity.issuer)}&subject=${encodeURIComponent(identity.subject)}`);
      await load();
      onChanged(`Identity ${identity.subject} removed from “${user.username}”; their sessions were ended.`);
    });

  return (
    <div className="user-sign-in">
      <h3>Two-factor authentication</h3>
      {user.mfa_enabled ? (
        confirmReset ? (
          <div>
            <p className="confirm-text">
              Reset the MFA of <strong>{user.username}</strong>? Their authenticator app and recovery codes stop working, and their password alone signs them in
              until they enrol again. Do this only once you are sure who asked.
            </p>
            <div className="dialog-actions">
              <button type="button" className="secondary" onClick={() => setConfirmReset(false)}>
                Cancel
              </button>
              <button type="button" className="danger" disabled={busy} onClick={() => void resetMfa()}>
                Reset MFA
              </button>
            </div>
          </div>
        ) : (
          <p>
            On.{' '}
            <button type="button" className="secondary small" onClick={() => setConfirmReset(true)}>
              Reset MFA…
            </button>
          </p>
        )
      ) : (
        <p className="muted">Off.</p>
      )}

      <h3>Single sign-on identities</h3>
      {identities === null ? (
        <div className="loading">Loading…</div>
      ) : identities.length === 0 ? (
        <p className="muted">None linked.</p>
      ) : (
        <SsoIdentityTable
          label={`Single sign-on identities of ${user.username}`}
          identities={identities}
          disabled={busy}
          onRemove={(identity) => void remove(identity)}
        />
      )}
      {/* Only a super_admin links an identity for someone else (it signs in past password and MFA). */}
      {ssoEnabled && can('super_admin') && (
        <form onSubmit={(e) => void link(e)} aria-label="Link an identity" className="row">
          <label>
            Subject at the identity provider
            <input value={subject} onChange={(e) => setSubject(e.target.value)} maxLength={255} required />
          </label>
          <button type="submit" disabled={busy || subject.trim() === ''}>
            Link
          </button>
        </form>
      )}
      <ErrorMessage error={error} />
      <div className="dialog-actions">
        <button type="button" className="secondary" onClick={onClose}>
          Close
        </button>
      </div>
    </div>
  );
}
