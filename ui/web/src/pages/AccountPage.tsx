import { useState } from 'react';
import { useAuth } from '../auth/AuthProvider';
import { MfaSection } from './account/MfaSection';
import { PasswordSection } from './account/PasswordSection';
import { ProfileSection } from './account/ProfileSection';
import { SessionsSection } from './account/SessionsSection';
import { SsoSection } from './account/SsoSection';
import { TokensSection } from './account/TokensSection';
import './account/account.css';

/** The signed-in user's own account: profile, password, two-factor sign-in, single sign-on identities, API tokens, sessions. */
export function AccountPage() {
  const { user } = useAuth();
  // A password change ends the other sessions: the sessions list reloads.
  const [sessionsKey, setSessionsKey] = useState(0);
  if (!user) return <div className="loading">Loading…</div>;
  return (
    <div className="account-page">
      <h1>My account</h1>
      <div className="account-grid">
        <ProfileSection user={user} />
        <PasswordSection onChanged={() => setSessionsKey((k) => k + 1)} />
      </div>
      <MfaSection user={user} />
      <SsoSection mfaEnabled={Boolean(user.mfa_enabled)} />
      <TokensSection user={user} />
      <SessionsSection reloadKey={sessionsKey} />
    </div>
  );
}
