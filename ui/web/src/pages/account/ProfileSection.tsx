import { useState, type FormEvent } from 'react';
import { api } from '../../api/client';
import type { User } from '../../api/types';
import { useAuth } from '../../auth/AuthProvider';
import { ErrorMessage } from '../../components/ErrorMessage';

/** Display name and email (PUT /api/v1/auth/me); username and role are shown, not editable. */
export function ProfileSection({ user }: { user: User }) {
  const { refresh } = useAuth();
  const [displayName, setDisplayName] = useState(user.display_name ?? '');
  const [email, setEmail] = useState(user.email ?? '');
  const [currentPassword, setCurrentPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);

  // The profile changed (saved here, or elsewhere and refreshed): the form shows it.
  const [shown, setShown] = useState({ display_name: user.display_name, email: user.email });
  if (shown.display_name !== user.display_name || shown.email !== user.email) {
    setShown({ display_name: user.display_name, email: user.email });
    setDisplayName(user.display_name ?? '');
    setEmail(user.email ?? '');
  }

  // A new email is a sensitive change: the server asks for the password unless the sign-in is recent.
  const emailChanged = (email.trim() || null) !== (user.email ?? null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setSaved(false);
    const name = displayName.trim();
    // The manager keeps a display name once set: it can be changed, not removed.
    if (!name && user.display_name) {
      setError(new Error('The display name cannot be empty. Enter a name to save the profile.'));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await api.put<User>('/api/v1/auth/me', {
        ...(name && { display_name: name }),
        email: email.trim() || null,
        ...(emailChanged && currentPassword && { current_password: currentPassword })
      });
      setCurrentPassword('');
      await refresh();
      setSaved(true);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="panel" aria-labelledby="profile-heading">
      <h2 id="profile-heading">Profile</h2>
      <dl className="account-facts">
        <dt>Username</dt>
        <dd>{user.username}</dd>
        <dt>Role</dt>
        <dd className="role">{user.role.replace('_', ' ')}</dd>
      </dl>
      <form onSubmit={(e) => void submit(e)} aria-label="Profile" className="account-form">
        <label>
          Display name
          <input value={displayName} onChange={(e) => setDisplayName(e.target.value)} maxLength={128} autoComplete="name" />
        </label>
        <label>
          Email
          <input type="email" value={email} onChange={(e) => setEmail(e.target.value)} maxLength={254} autoComplete="email" />
        </label>
        {emailChanged && (
          <label>
            Current password
            <input
              type="password"
              value={currentPassword}
              onChange={(e) => setCurrentPassword(e.target.value)}
              maxLength={128}
              autoComplete="current-password"
            />
            <span className="muted nd-small">Needed to change your email unless you signed in within the last ten minutes.</span>
          </label>
        )}
        <ErrorMessage error={error} />
        {saved && (
          <div className="success-box" role="status">
            Profile saved.
          </div>
        )}
        <div className="row">
          <button type="submit" disabled={busy}>
            {busy ? 'Saving…' : 'Save profile'}
          </button>
        </div>
      </form>
    </section>
  );
}
