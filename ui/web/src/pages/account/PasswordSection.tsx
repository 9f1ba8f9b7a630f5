import { useState, type FormEvent } from 'react';
import { api, ApiError } from '../../api/client';
import { ErrorMessage } from '../../components/ErrorMessage';

/** Change your password (POST /api/v1/auth/change-password); the server ends your other sessions and, unless kept, your API tokens. */
export function PasswordSection({ onChanged }: { onChanged: () => void }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [keepTokens, setKeepTokens] = useState(false);
  const [done, setDone] = useState<{ sessions: number; tokens: number } | null>(null);
  const mismatch = confirm !== '' && next !== confirm;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setDone(null);
    if (next !== confirm) {
      setError(new Error('The new password and its confirmation do not match.'));
      return;
    }
    setBusy(true);
    try {
      const result = await api.post<{ success: boolean; other_sessions_ended: number; api_tokens_revoked: number }>('/api/v1/auth/change-password', {
        current_password: current,
        new_password: next,
        keep_api_tokens: keepTokens
      });
      setDone({ sessions: result.other_sessions_ended, tokens: result.api_tokens_revoked });
      setKeepTokens(false);
      setCurrent('');
      setNext('');
      setConfirm('');
      onChanged();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const problems = error instanceof ApiError && Array.isArray(error.body.problems) ? (error.body.problems as string[]) : [];

  return (
    <section className="panel" aria-labelledby="password-heading">
      <h2 id="password-heading">Change password</h2>
      <p className="muted">
        At least 8 characters, with an upper-case letter, a lower-case letter and a digit. Changing your password signs out all your other sessions and revokes
        your API tokens (unless you keep them); this session stays signed in.
      </p>
      <form onSubmit={(e) => void submit(e)} aria-label="Change password" className="account-form">
        <label>
          Current password
          <input type="password" value={current} onChange={(e) => setCurrent(e.target.value)} autoComplete="current-password" required />
        </label>
        <label>
          New password
          <input type="password" value={next} onChange={(e) => setNext(e.target.value)} autoComplete="new-password" required />
        </label>
        <label>
          Confirm new password
          <input
            type="password"
            value={confirm}
            onChange={(e) => setConfirm(e.target.value)}
            autoComplete="new-password"
            required
            aria-invalid={mismatch || undefined}
          />
        </label>
        {mismatch && <div className="muted">The passwords do not match yet.</div>}
        <label className="checkbox">
          <input type="checkbox" checked={keepTokens} onChange={(e) => setKeepTokens(e.target.checked)} />
          Keep my API tokens (revoke them if the old password may be known to someone else)
        </label>
        <ErrorMessage error={error} />
        {problems.length > 0 && (
          <ul className="policy-problems" aria-label="Password policy problems">
            {problems.map((p) => (
              <li key={p}>The new password {p}.</li>
            ))}
          </ul>
        )}
        {done !== null && (
          <div className="success-box" role="status">
            Password changed.{' '}
            {done.sessions === 0
              ? 'You had no other sessions.'
              : `${done.sessions === 1 ? '1 other session was' : `${done.sessions} other sessions were`} signed out.`}
            {done.tokens > 0 && ` ${done.tokens === 1 ? '1 API token was' : `${done.tokens} API tokens were`} revoked.`}
          </div>
        )}
        <div className="row">
          <button type="submit" disabled={busy}>
            {busy ? 'Changing…' : 'Change password'}
          </button>
        </div>
      </form>
    </section>
  );
}
