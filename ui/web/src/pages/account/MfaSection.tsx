import { useState, type FormEvent } from 'react';
import { api } from '../../api/client';
import type { User } from '../../api/types';
import { useAuth } from '../../auth/AuthProvider';
import { CopyButton } from '../../components/CopyButton';
import { ErrorMessage } from '../../components/ErrorMessage';
import { useBusyAction } from '../../components/useBusyAction';

interface Setup {
  secret: string;
  otpauth_url: string;
  qr_svg: string;
}

/** The QR code as an image: the SVG document in a data: URL (the CSP allows img-src data:). */
function qrDataUrl(svg: string): string {
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
}

/**
 * TOTP two-factor sign-in: enrol (QR code or the secret typed in, then a code from the app),
 * the recovery codes shown once, new recovery codes, and disabling with password + code.
 */
export function MfaSection({ user }: { user: User }) {
  const { refresh } = useAuth();
  const [setup, setSetup] = useState<Setup | null>(null);
  const [code, setCode] = useState('');
  const [recoveryCodes, setRecoveryCodes] = useState<string[] | null>(null);
  const [password, setPassword] = useState('');
  const [setupPassword, setSetupPassword] = useState('');
  const [disableCode, setDisableCode] = useState('');
  const { busy, error, run: runAction } = useBusyAction();
  const [notice, setNotice] = useState<string | null>(null);
  const enabled = Boolean(user.mfa_enabled);

  const run = (action: () => Promise<void>) => {
    setNotice(null);
    return runAction(action);
  };

  const begin = (e: FormEvent) => {
    e.preventDefault();
    return run(async () => {
      setSetup(await api.post<Setup>('/api/v1/auth/mfa/totp/setup', setupPassword ? { current_password: setupPassword } : {}));
      setSetupPassword('');
      setCode('');
    });
  };

  const confirm = (e: FormEvent) => {
    e.preventDefault();
    return run(async () => {
      const result = await api.post<{ recovery_codes: string[] }>('/api/v1/auth/mfa/totp/confirm', { code: code.trim() });
      setRecoveryCodes(result.recovery_codes);
      setSetup(null);
      setCode('');
      await refresh();
    });
  };

  // One form proves password + code for either change; the button pressed says which.
  const changeEnabled = (e: FormEvent) => {
    e.preventDefault();
    // Turning MFA off must be asked for by its own button; anything else (Enter, a browser that
    // does not say which button) makes new recovery codes.
    const regenerate = ((e.nativeEvent as SubmitEvent).submitter as HTMLButtonElement | null)?.value !== 'disable';
    return run(async () => {
      const proof = { password, code: disableCode.trim() };
      if (regenerate) {
        const result = await api.post<{ recovery_codes: string[] }>('/api/v1/auth/mfa/recovery-codes', proof);
        setRecoveryCodes(result.recovery_codes);
      } else {
        await api.post('/api/v1/auth/mfa/totp/disable', proof);
        setRecoveryCodes(null);
        setNotice('Two-factor sign-in is off. Your password alone now signs you in.');
      }
      setPassword('');
      setDisableCode('');
      await refresh();
    });
  };

  return (
    <section className="panel" aria-labelledby="mfa-heading">
      <h2 id="mfa-heading">Two-factor authentication</h2>
      <p>
        Status:{' '}
        <span className={`badge ${enabled ? 'status-online' : 'status-offline'}`} data-testid="mfa-status">
          {enabled ? 'On' : 'Off'}
        </span>{' '}
        <span className="muted">{enabled ? 'Signing in asks for a code from your authenticator app.' : 'Signing in needs only your password.'}</span>
      </p>

      {recoveryCodes && (
        <div className="recovery-codes" role="region" aria-label="Recovery codes">
          <div className="success-box">Two-factor sign-in is on.</div>
          <p>
            <strong>Save these recovery codes now — they will not be shown again.</strong> Each one signs you in once if you lose your authenticator app.
          </p>
          <ul data-testid="recovery-codes">
            {recoveryCodes.map((c) => (
              <li key={c}>
                <code>{c}</code>
              </li>
            ))}
          </ul>
          <div className="row">
            <CopyButton text={recoveryCodes.join('\n')} label="Copy all" />
            <button type="button" onClick={() => setRecoveryCodes(null)}>
              I have saved them
            </button>
          </div>
        </div>
      )}

      {!enabled && !setup && (
        <form onSubmit={(e) => void begin(e)} aria-label="Set up two-factor sign-in" className="account-form">
          <label>
            Current password
            <input type="password" value={setupPassword} onChange={(e) => setSetupPassword(e.target.value)} maxLength={128} autoComplete="current-password" />
            <span className="muted nd-small">Needed unless you signed in within the last ten minutes.</span>
          </label>
          <div className="row">
            <button type="submit" disabled={busy}>
              Set up authenticator app
            </button>
          </div>
        </form>
      )}

      {!enabled && setup && (
        <div className="mfa-setup">
          <ol>
            <li>
              Scan this QR code with your authenticator app:
              <div className="qr">
                <img src={qrDataUrl(setup.qr_svg)} alt="QR code for your authenticator app" width={200} height={200} />
              </div>
            </li>
            <li>
              Or enter this key by hand:{' '}
              <code className="totp-secret" data-testid="totp-secret">
                {setup.secret}
              </code>{' '}
              <CopyButton text={setup.secret} label="Copy key" /> <a href={setup.otpauth_url}>Open in authenticator app</a>
            </li>
            <li>Enter the 6-digit code the app shows:</li>
          </ol>
          <form onSubmit={(e) => void confirm(e)} aria-label="Confirm authenticator" className="account-form">
            <label>
              Code from your app
              <input value={code} onChange={(e) => setCode(e.target.value)} inputMode="numeric" autoComplete="one-time-code" required maxLength={32} />
            </label>
            <div className="row">
              <button type="submit" disabled={busy}>
                {busy ? 'Checking…' : 'Enable two-factor sign-in'}
              </button>
              <button type="button" className="secondary" onClick={() => setSetup(null)}>
                Cancel
              </button>
            </div>
          </form>
        </div>
      )}

      {enabled && (
        <form onSubmit={(e) => void changeEnabled(e)} aria-label="Change two-factor sign-in" className="account-form">
          <p data-testid="recovery-codes-left" className={(user.recovery_codes_left ?? 0) <= 2 ? 'severity-warning' : 'muted'}>
            {user.recovery_codes_left ?? 0} unused recovery code{user.recovery_codes_left === 1 ? '' : 's'} left.
          </p>
          <p className="muted">
            To make new recovery codes (the old ones stop working) or to turn two-factor sign-in off, confirm with your password and a current code (or a
            recovery code).
          </p>
          <label>
            Your password
            <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="current-password" required />
          </label>
          <label>
            Authenticator or recovery code
            <input value={disableCode} onChange={(e) => setDisableCode(e.target.value)} autoComplete="one-time-code" required maxLength={32} />
          </label>
          <div className="row">
            <button type="submit" value="regenerate" className="secondary" disabled={busy}>
              New recovery codes
            </button>
            <button type="submit" value="disable" className="danger" disabled={busy}>
              {busy ? 'Working…' : 'Disable two-factor sign-in'}
            </button>
          </div>
        </form>
      )}
      <ErrorMessage error={error} />
      {notice && (
        <div className="success-box" role="status">
          {notice}
        </div>
      )}
    </section>
  );
}
