import { useEffect, useState, type FormEvent } from 'react';
import { useNavigate, useSearchParams } from 'react-router-dom';
import { api, ApiError } from '../api/client';
import { rememberSignInNotice } from '../app/SignInNotice';
import { useAuth } from '../auth/AuthProvider';

/** Only same-site paths are followed after sign-in. */
function safeNext(next: string | null): string {
  return next && /^\/(?!\/)/.test(next) && !next.startsWith('/login') ? next : '/';
}

const RATE_LIMITED = 'Too many attempts. Wait a minute and try again.';

function describe(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 429) return RATE_LIMITED;
    if (error.code === 'invalid_credentials') return 'Invalid username or password.';
    if (error.code === 'invalid_code') return 'That code is not valid. Try the current code from your authenticator app.';
    if (error.code === 'invalid_challenge') return 'The sign-in took too long. Enter your password again.';
    return error.message;
  }
  return 'The manager cannot be reached. Check your connection and try again.';
}

/** Why a redirect (SSO callback, sign-out) sent the visitor here: `?error=…`. */
const URL_ERRORS: Record<string, string> = {
  rate_limited: RATE_LIMITED,
  sso_failed: 'Single sign-on failed. Try again, or sign in with your username and password.',
  sso_not_linked:
    'Your single sign-on account is not linked to an account on this manager. Sign in with your username and password and link it under My account, or ask an administrator.',
  signout_failed: 'Signing out could not be confirmed by the manager: your session may still be active. Sign in and sign out again.'
};

function urlError(code: string | null): string | null {
  if (code === null) return null;
  return URL_ERRORS[code] ?? 'Sign-in failed. Try again.';
}

/** Password sign-in, the MFA code step, and SSO when it is configured. */
export function LoginPage() {
  const { refresh } = useAuth();
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const next = safeNext(params.get('next'));
  // The form sign-in (POST /api/v1/auth/login-form) lands on `?step=mfa`, its challenge in an HttpOnly cookie.
  const formChallenge = params.get('step') === 'mfa';
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  /** The challenge_token of the JSON sign-in. */
  const [challenge, setChallenge] = useState<string | null>(null);
  const codeStep = challenge !== null || formChallenge;
  const [busy, setBusy] = useState(false);
  const errorCode = params.get('error');
  const [error, setError] = useState<string | null>(() => urlError(errorCode));
  const [sso, setSso] = useState<{ enabled: boolean; label: string | null } | null>(null);

  // Also when the page is already open (a failed sign-out arrives here after the page shows).
  const [shownErrorCode, setShownErrorCode] = useState(errorCode);
  if (errorCode !== shownErrorCode) {
    setShownErrorCode(errorCode);
    setError(urlError(errorCode));
  }

  useEffect(() => {
    api.get<{ enabled: boolean; label: string | null }>('/api/v1/auth/oidc/status').then(setSso, () => setSso(null));
  }, []);

  const finish = async (target = next) => {
    await refresh();
    void navigate(target, { replace: true });
  };

  const leaveCodeStep = () => {
    setChallenge(null);
    if (formChallenge) {
      setParams(
        (current) => {
          current.delete('step');
          return current;
        },
        { replace: true }
      );
    }
  };

  /** Back: the form sign-in's pending challenge ends on the server too (a shared browser's next user must not inherit it). */
  const cancelCodeStep = () => {
    if (formChallenge) api.delete('/api/v1/auth/mfa/verify').catch(() => undefined);
    leaveCodeStep();
  };

  const submitPassword = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const result = await api.post<{ mfa_required?: boolean; challenge_token?: string; failed_sign_ins_since_last_login?: number }>('/api/v1/auth/login', {
        username,
        password
      });
      if (result.mfa_required && result.challenge_token) setChallenge(result.challenge_token);
      else {
        rememberSignInNotice(result.failed_sign_ins_since_last_login);
        await finish();
      }
    } catch (err) {
      setError(describe(err));
    } finally {
      setBusy(false);
    }
  };

  const submitCode = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      // Without challenge_token the server takes the form sign-in's challenge from its cookie.
      const body = challenge === null ? { code: code.trim() } : { challenge_token: challenge, code: code.trim() };
      const result = await api.post<{ failed_sign_ins_since_last_login?: number; next?: string | null }>('/api/v1/auth/mfa/verify', body);
      rememberSignInNotice(result.failed_sign_ins_since_last_login);
      // The form sign-in's `next` was kept with its challenge.
      await finish(result.next ? safeNext(result.next) : next);
    } catch (err) {
      // The challenge is gone (or the account can no longer sign in): back to the password step.
      if (err instanceof ApiError && (err.code === 'invalid_challenge' || err.code === 'invalid_credentials')) leaveCodeStep();
      setError(describe(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="login">
      <div className="login-card">
        <h1>bilbycast manager</h1>
        {!codeStep ? (
          <form onSubmit={(e) => void submitPassword(e)} aria-label="Sign in">
            <label>
              Username
              <input name="username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} required autoFocus />
            </label>
            <label>
              Password
              <input name="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
            </label>
            {error && (
              <div className="error-box" role="alert">
                {error}
              </div>
            )}
            <button type="submit" disabled={busy}>
              {busy ? 'Signing in…' : 'Sign in'}
            </button>
            {sso?.enabled && (
              <a className="button secondary" href={`/api/v1/auth/oidc/login?next=${encodeURIComponent(next)}`}>
                {sso.label ?? 'Sign in with SSO'}
              </a>
            )}
          </form>
        ) : (
          <form onSubmit={(e) => void submitCode(e)} aria-label="Verification code">
            <p>Enter the 6-digit code from your authenticator app, or one of your recovery codes.</p>
            <label>
              Code
              <input name="code" inputMode="numeric" autoComplete="one-time-code" value={code} onChange={(e) => setCode(e.target.value)} required autoFocus />
            </label>
            {error && (
              <div className="error-box" role="alert">
                {error}
              </div>
            )}
            <button type="submit" disabled={busy}>
              {busy ? 'Checking…' : 'Verify'}
            </button>
            <button type="button" className="secondary" onClick={cancelCodeStep}>
              Back
            </button>
          </form>
        )}
      </div>
    </main>
  );
}
