// A password reset (or a disable) that lands while a sign-in is under way: the sign-in must not
// end with a session the reset did not end.
import { hashPassword } from '@bilbycast/users';
import { testDatabases } from '@bilbycast/tests';
import { currentTotp } from '../src/services/totp';
import { Browser, PASSWORD, authManager, seedUser } from './auth-harness';

/** Run once right after the next password check, as if it had landed during the argon2 work. */
let afterNextPasswordCheck: (() => Promise<void>) | undefined;
jest.mock('@bilbycast/users', () => {
  const actual = jest.requireActual('@bilbycast/users');
  return {
    ...actual,
    verifyPassword: async (hash: string, password: string) => {
      const ok = await actual.verifyPassword(hash, password);
      const hook = afterNextPasswordCheck;
      afterNextPasswordCheck = undefined;
      await hook?.();
      return ok;
    }
  };
});

describe.each(testDatabases())('sign-ins racing a reset on %s', (kind) => {
  let env: Awaited<ReturnType<typeof authManager>>;
  beforeEach(async () => {
    env = await authManager(kind);
  });
  afterEach(async () => {
    afterNextPasswordCheck = undefined;
    await env.close();
  });

  function resetDuringNextPasswordCheck(reset: () => Promise<void>) {
    afterNextPasswordCheck = reset;
  }

  async function adminReset(userId: string) {
    await env.manager.context
      .db('users')
      .where({ id: userId })
      .update({ password_hash: await hashPassword('Reset-Passw0rd') });
    await env.manager.context.services.get('sessions')!.revokeAllForUser(userId);
  }

  it('a password login checked just before a reset gets no session (JSON and form)', async () => {
    const userId = await seedUser(env.manager, 'paula', 'viewer');
    resetDuringNextPasswordCheck(() => adminReset(userId));
    const late = await new Browser(env.manager).login('paula');
    expect([late.statusCode, (late.result as { error_code: string }).error_code]).toEqual([401, 'invalid_credentials']);
    expect(await env.manager.context.db('auth_sessions').where({ user_id: userId })).toHaveLength(0);

    await env.manager.context
      .db('users')
      .where({ id: userId })
      .update({ password_hash: await hashPassword(PASSWORD) });
    resetDuringNextPasswordCheck(() => adminReset(userId));
    const form = await env.manager.server.inject({
      method: 'POST',
      url: '/api/v1/auth/login-form',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `username=paula&password=${encodeURIComponent(PASSWORD)}&next=%2Fevents`
    });
    expect([form.statusCode, form.headers.location]).toEqual([303, '/login?error=invalid']);
    expect(await env.manager.context.db('auth_sessions').where({ user_id: userId })).toHaveLength(0);
    // With the new password, signing in works.
    expect((await new Browser(env.manager).login('paula', 'Reset-Passw0rd')).statusCode).toBe(200);
  });

  it('a code step whose password step was passed before a reset signs nobody in', async () => {
    const userId = await seedUser(env.manager, 'quinn', 'viewer');
    const owner = new Browser(env.manager);
    await owner.login('quinn');
    const { secret } = (await owner.request('POST', '/api/v1/auth/mfa/totp/setup')).result as { secret: string };
    const confirmed = await owner.request('POST', '/api/v1/auth/mfa/totp/confirm', { code: await currentTotp(secret) });
    const recovery = (confirmed.result as { recovery_codes: string[] }).recovery_codes;

    // The reset lands after the password check but before the challenge is made.
    resetDuringNextPasswordCheck(() => adminReset(userId));
    const thief = new Browser(env.manager);
    const { challenge_token } = (await thief.login('quinn')).result as { challenge_token: string };
    const verified = await thief.request('POST', '/api/v1/auth/mfa/verify', { challenge_token, code: recovery[0] });
    expect([verified.statusCode, (verified.result as { error_code: string }).error_code]).toEqual([401, 'invalid_credentials']);
    expect(await env.manager.context.db('auth_sessions').where({ user_id: userId })).toHaveLength(0);
    const [failure] = await env.manager.context.db('audit_log').where({ action: 'auth.login_failed', user_id: userId });
    expect(JSON.parse(failure.details)).toEqual({ reason: 'credentials_changed', step: 'mfa' });
  });
});
