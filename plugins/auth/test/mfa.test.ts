import crypto from 'node:crypto';
import { testDatabases } from '@bilbycast/tests';
import { normaliseRecoveryCode } from '../src/services/recovery-codes';
import { MFA_FAILURES_PER_USER } from '../src/services/login-limits';
import { currentTotp } from '../src/services/totp';
import { Browser, PASSWORD, authManager, seedUser } from './auth-harness';

const STEP_MS = 30_000;

describe.each(testDatabases())('TOTP MFA on %s', (kind) => {
  let env: Awaited<ReturnType<typeof authManager>>;
  beforeEach(async () => {
    env = await authManager(kind);
  });
  afterEach(() => env.close());

  /** Enrols `username` and returns the TOTP secret and recovery codes. */
  async function enrol(browser: Browser): Promise<{ secret: string; recovery: string[] }> {
    const setup = await browser.request('POST', '/api/v1/auth/mfa/totp/setup');
    expect(setup.statusCode).toBe(200);
    const { secret, otpauth_url, qr_svg } = setup.result as { secret: string; otpauth_url: string; qr_svg: string };
    expect(otpauth_url).toContain(`secret=${secret}`);
    expect(qr_svg).toMatch(/^<svg/);
    expect((await browser.request('GET', '/api/v1/auth/me')).result).toMatchObject({ mfa_enabled: false });
    expect((await browser.request('POST', '/api/v1/auth/mfa/totp/confirm', { code: '000000' })).result).toMatchObject({ error_code: 'invalid_code' });
    const confirm = await browser.request('POST', '/api/v1/auth/mfa/totp/confirm', { code: await currentTotp(secret) });
    expect(confirm.statusCode).toBe(200);
    const recovery = (confirm.result as { recovery_codes: string[] }).recovery_codes;
    expect(recovery).toHaveLength(10);
    return { secret, recovery };
  }

  it('enrols, then a login needs the code step; TOTP and recovery codes complete it once each', async () => {
    const userId = await seedUser(env.manager, 'mona', 'operator');
    await seedUser(env.manager, 'boss', 'admin');
    const browser = new Browser(env.manager);
    await browser.login('mona');
    const { secret, recovery } = await enrol(browser);
    expect((await browser.request('GET', '/api/v1/auth/me')).result).toMatchObject({ mfa_enabled: true });
    // The users API reports it too (through the auth plugin's mfa service).
    const admin = new Browser(env.manager);
    await admin.login('boss');
    expect((await admin.request('GET', `/api/v1/users/${userId}`)).result).toMatchObject({ mfa_enabled: true });
    const listed = (await admin.request('GET', '/api/v1/users')).result as { username: string; mfa_enabled: boolean }[];
    expect(listed.map((u) => [u.username, u.mfa_enabled]).sort()).toEqual([
      ['boss', false],
      ['mona', true]
    ]);
    // Secrets are encrypted at rest, recovery codes stored only as hashes.
    const stored = await env.manager.context.db('auth_mfa').where({ user_id: userId }).first();
    expect(stored.totp_secret).toMatch(/^bcsec:v1:/);
    expect(JSON.stringify(stored)).not.toContain(secret);
    for (const code of recovery) expect(JSON.stringify(stored)).not.toContain(code);
    // Keyed hashes, under a per-user key that is itself encrypted: the database alone cannot check a guess.
    expect(stored.recovery_code_key).toMatch(/^bcsec:v1:/);
    const storedHashes = JSON.parse(stored.recovery_code_hashes) as string[];
    expect(storedHashes.every((h) => /^h1:[0-9a-f]{64}$/.test(h))).toBe(true);
    const plainSha256 = crypto.createHash('sha256').update(normaliseRecoveryCode(recovery[0])).digest('hex');
    expect(storedHashes.some((h) => h.includes(plainSha256))).toBe(false);
    await browser.request('POST', '/api/v1/auth/logout');

    const fresh = new Browser(env.manager);
    const first = await fresh.login('mona');
    expect(first.statusCode).toBe(200);
    const { mfa_required, challenge_token } = first.result as { mfa_required: boolean; challenge_token: string };
    expect(mfa_required).toBe(true);
    expect(fresh.cookies.has('session')).toBe(false);
    expect((await fresh.request('GET', '/api/v1/auth/me')).statusCode).toBe(401);

    // The code used at confirmation is not accepted again; the next step's code is.
    const replay = await fresh.request('POST', '/api/v1/auth/mfa/verify', { challenge_token, code: await currentTotp(secret) });
    expect(replay.statusCode).toBe(401);
    const next = await currentTotp(secret, new Date(Date.now() + STEP_MS));
    const verified = await fresh.request('POST', '/api/v1/auth/mfa/verify', { challenge_token, code: next });
    expect(verified.statusCode).toBe(200);
    expect(verified.result).toMatchObject({ user: { username: 'mona', mfa_enabled: true }, csrf_token: expect.any(String) });
    expect((await fresh.request('GET', '/api/v1/auth/me')).statusCode).toBe(200);
    // The challenge is single use.
    expect((await fresh.request('POST', '/api/v1/auth/mfa/verify', { challenge_token, code: next })).result).toMatchObject({ error_code: 'invalid_challenge' });

    const third = new Browser(env.manager);
    const challenge = ((await third.login('mona')).result as { challenge_token: string }).challenge_token;
    expect((await third.request('POST', '/api/v1/auth/mfa/verify', { challenge_token: challenge, code: recovery[0].toUpperCase() })).statusCode).toBe(200);
    const again = ((await new Browser(env.manager).login('mona')).result as { challenge_token: string }).challenge_token;
    expect((await third.request('POST', '/api/v1/auth/mfa/verify', { challenge_token: again, code: recovery[0] })).statusCode).toBe(401);

    const actions = (await env.manager.context.db('audit_log').select('action')).map((r) => r.action);
    expect(actions).toEqual(expect.arrayContaining(['auth.mfa_enable', 'auth.mfa_recovery_code_used', 'auth.mfa_failed']));
  });

  it('disables only with the password and a valid code', async () => {
    await seedUser(env.manager, 'nate', 'viewer');
    const browser = new Browser(env.manager);
    await browser.login('nate');
    const { secret } = await enrol(browser);
    const code = await currentTotp(secret, new Date(Date.now() + STEP_MS));
    expect((await browser.request('POST', '/api/v1/auth/mfa/totp/disable', { password: 'Wrong-Pass1', code })).result).toMatchObject({
      error_code: 'wrong_password'
    });
    expect((await browser.request('POST', '/api/v1/auth/mfa/totp/disable', { password: PASSWORD, code: '123456' })).result).toMatchObject({
      error_code: 'invalid_code'
    });
    expect((await browser.request('POST', '/api/v1/auth/mfa/totp/disable', { password: PASSWORD, code })).statusCode).toBe(200);
    expect((await browser.request('GET', '/api/v1/auth/me')).result).toMatchObject({ mfa_enabled: false });
    expect((await new Browser(env.manager).login('nate')).result).toMatchObject({ user: { username: 'nate' } });
    expect((await browser.request('POST', '/api/v1/auth/mfa/totp/disable', { password: PASSWORD, code })).result).toMatchObject({
      error_code: 'mfa_not_enabled'
    });
  });

  it('replaces all recovery codes only with the password and a valid code; the old ones stop working', async () => {
    await seedUser(env.manager, 'rita', 'viewer');
    const browser = new Browser(env.manager);
    await browser.login('rita');
    const { recovery } = await enrol(browser);
    expect((await browser.request('GET', '/api/v1/auth/me')).result).toMatchObject({ recovery_codes_left: 10 });
    const path = '/api/v1/auth/mfa/recovery-codes';
    expect((await browser.request('POST', path, { password: 'Wrong-Pass1', code: recovery[0] })).result).toMatchObject({ error_code: 'wrong_password' });
    expect((await browser.request('POST', path, { password: PASSWORD, code: '123456' })).result).toMatchObject({ error_code: 'invalid_code' });
    expect((await browser.request('POST', path, { password: PASSWORD })).statusCode).toBe(400);
    const made = await browser.request('POST', path, { password: PASSWORD, code: recovery[0] });
    expect(made.statusCode).toBe(200);
    const fresh = (made.result as { recovery_codes: string[] }).recovery_codes;
    expect(fresh).toHaveLength(10);
    expect(fresh.some((c) => recovery.includes(c))).toBe(false);
    expect((await browser.request('GET', '/api/v1/auth/me')).result).toMatchObject({ recovery_codes_left: 10 });
    expect(await env.manager.context.db('audit_log').where({ action: 'auth.mfa_recovery_codes' })).toHaveLength(1);

    // An old code no longer completes a login; a new one does, once.
    const signIn = async (code: string) => {
      const fresher = new Browser(env.manager);
      const { challenge_token } = (await fresher.login('rita')).result as { challenge_token: string };
      return fresher.request('POST', '/api/v1/auth/mfa/verify', { challenge_token, code });
    };
    expect((await signIn(recovery[1])).statusCode).toBe(401);
    expect((await signIn(fresh[0])).statusCode).toBe(200);
    expect((await browser.request('GET', '/api/v1/auth/me')).result).toMatchObject({ recovery_codes_left: 9 });

    // Without MFA there is nothing to replace.
    expect((await browser.request('POST', '/api/v1/auth/mfa/totp/disable', { password: PASSWORD, code: fresh[1] })).statusCode).toBe(200);
    expect((await browser.request('POST', path, { password: PASSWORD, code: fresh[2] })).result).toMatchObject({ error_code: 'mfa_not_enabled' });
    expect((await browser.request('GET', '/api/v1/auth/me')).result).toMatchObject({ recovery_codes_left: 0 });
  });

  it('a code step reached with the old password cannot be finished after a password reset or change', async () => {
    const userId = await seedUser(env.manager, 'olga', 'viewer');
    await seedUser(env.manager, 'boss', 'admin');
    const owner = new Browser(env.manager);
    await owner.login('olga');
    const { secret, recovery } = await enrol(owner);
    const code = await currentTotp(secret, new Date(Date.now() + STEP_MS));
    // An administrator's reset (the thief's codes are recovery codes: no clock, and valid).
    const first = await (async () => {
      const thief = new Browser(env.manager);
      const started = (await thief.login('olga')).result as { challenge_token: string };
      return { thief, challenge_token: started.challenge_token };
    })();
    const admin = new Browser(env.manager);
    await admin.login('boss');
    expect((await admin.request('PUT', `/api/v1/users/${userId}`, { password: 'Reset-Passw0rd' })).statusCode).toBe(200);
    const refused = await first.thief.request('POST', '/api/v1/auth/mfa/verify', { challenge_token: first.challenge_token, code: recovery[0] });
    expect([refused.statusCode, (refused.result as { error_code: string }).error_code]).toEqual([401, 'invalid_challenge']);
    // The owner's own change.
    const owner2 = new Browser(env.manager);
    const { challenge_token } = (await owner2.login('olga', 'Reset-Passw0rd')).result as { challenge_token: string };
    expect((await owner2.request('POST', '/api/v1/auth/mfa/verify', { challenge_token, code })).statusCode).toBe(200);
    const second = await (async () => {
      const thief = new Browser(env.manager);
      const started = (await thief.login('olga', 'Reset-Passw0rd')).result as { challenge_token: string };
      return { thief, challenge_token: started.challenge_token };
    })();
    expect(
      (await owner2.request('POST', '/api/v1/auth/change-password', { current_password: 'Reset-Passw0rd', new_password: 'Owner-Passw0rd' })).statusCode
    ).toBe(200);
    const late = await second.thief.request('POST', '/api/v1/auth/mfa/verify', { challenge_token: second.challenge_token, code: recovery[1] });
    expect([late.statusCode, (late.result as { error_code: string }).error_code]).toEqual([401, 'invalid_challenge']);
    expect(await env.manager.context.db('auth_sessions').where({ user_id: userId })).toHaveLength(1);
  });

  it('answers 429 after 5 wrong codes for a user, without locking the password', async () => {
    await seedUser(env.manager, 'olga', 'viewer');
    const browser = new Browser(env.manager);
    await browser.login('olga');
    const { secret } = await enrol(browser);
    const challenge = ((await new Browser(env.manager).login('olga')).result as { challenge_token: string }).challenge_token;
    for (let i = 0; i < 5; i++) {
      expect((await browser.request('POST', '/api/v1/auth/mfa/verify', { challenge_token: challenge, code: '999999' })).statusCode).toBe(401);
    }
    const limited = await browser.request('POST', '/api/v1/auth/mfa/verify', {
      challenge_token: challenge,
      code: await currentTotp(secret, new Date(Date.now() + STEP_MS))
    });
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBeDefined();
    // The password step is not locked by wrong codes.
    expect((await new Browser(env.manager).login('olga')).result).toMatchObject({ mfa_required: true });
  });

  it('checks at most 5 of many parallel wrong codes for one challenge; the others are answered 429', async () => {
    await seedUser(env.manager, 'otto', 'viewer');
    const browser = new Browser(env.manager);
    await browser.login('otto');
    await enrol(browser);
    const challenge = ((await new Browser(env.manager).login('otto')).result as { challenge_token: string }).challenge_token;
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        env.manager.server.inject({ method: 'POST', url: '/api/v1/auth/mfa/verify', payload: { challenge_token: challenge, code: '999999' } })
      )
    );
    const statuses = answers.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 401)).toHaveLength(MFA_FAILURES_PER_USER);
    expect(statuses.filter((s) => s === 429)).toHaveLength(20 - MFA_FAILURES_PER_USER);
  });

  it('answers 429 after 5 failed attempts to disable, even with the right password and code', async () => {
    await seedUser(env.manager, 'pia', 'viewer');
    const browser = new Browser(env.manager);
    await browser.login('pia');
    const { secret } = await enrol(browser);
    const disable = (password: string, code: string) => browser.request('POST', '/api/v1/auth/mfa/totp/disable', { password, code });
    for (let i = 0; i < 3; i++) expect((await disable('Wrong-Pass1', '123456')).result).toMatchObject({ error_code: 'wrong_password' });
    for (let i = 0; i < 2; i++) expect((await disable(PASSWORD, '123456')).result).toMatchObject({ error_code: 'invalid_code' });
    const limited = await disable(PASSWORD, await currentTotp(secret, new Date(Date.now() + STEP_MS)));
    expect(limited.statusCode).toBe(429);
    expect(limited.result).toMatchObject({ error_code: 'rate_limited' });
    expect(limited.headers['retry-after']).toBeDefined();
    expect((await browser.request('GET', '/api/v1/auth/me')).result).toMatchObject({ mfa_enabled: true });
  });

  it('refuses the code step when the account was disabled or expired after the password step', async () => {
    const id = await seedUser(env.manager, 'quinn', 'viewer');
    const browser = new Browser(env.manager);
    await browser.login('quinn');
    const { recovery } = await enrol(browser);
    for (const [n, change] of [{ is_active: false }, { is_active: true, expires_at: '2020-01-01T00:00:00.000Z' }].entries()) {
      await env.manager.context.db('users').where({ id }).update({ is_active: true, expires_at: null });
      const fresh = new Browser(env.manager);
      const challenge = ((await fresh.login('quinn')).result as { challenge_token: string }).challenge_token;
      await env.manager.context.db('users').where({ id }).update(change);
      const refused = await fresh.request('POST', '/api/v1/auth/mfa/verify', { challenge_token: challenge, code: recovery[n] });
      expect(refused.statusCode).toBe(401);
      expect(refused.result).toMatchObject({ error_code: 'invalid_credentials' });
      expect(fresh.cookies.has('session')).toBe(false);
    }
    expect(await env.manager.context.db('auth_sessions').where({ user_id: id })).toHaveLength(1);
    expect(await env.manager.context.db('audit_log').where({ action: 'auth.login', user_id: id })).toHaveLength(1);
    const failures = await env.manager.context.db('audit_log').where({ action: 'auth.login_failed', user_id: id });
    expect(failures.map((f) => JSON.parse(f.details))).toEqual([
      { reason: 'account_unusable', step: 'mfa' },
      { reason: 'account_unusable', step: 'mfa' }
    ]);
  });

  it('rejects malformed MFA requests with 4xx', async () => {
    for (const payload of [{}, { challenge_token: 'x' }, { challenge_token: 'x'.repeat(101), code: '1' }, { challenge_token: 'mfa_unknown', code: '123456' }]) {
      const res = await env.manager.server.inject({ method: 'POST', url: '/api/v1/auth/mfa/verify', payload });
      expect(res.statusCode).toBeGreaterThanOrEqual(400);
      expect(res.statusCode).toBeLessThan(500);
    }
  });

  it('a recovery code stored before codes were keyed (plain SHA-256) still completes a login once', async () => {
    const userId = await seedUser(env.manager, 'olga', 'operator');
    const browser = new Browser(env.manager);
    await browser.login('olga');
    const { recovery } = await enrol(browser);
    // As an older version stored them: no key, plain hashes.
    const legacy = recovery.map((code) => crypto.createHash('sha256').update(normaliseRecoveryCode(code)).digest('hex'));
    await env.manager.context
      .db('auth_mfa')
      .where({ user_id: userId })
      .update({ recovery_code_key: null, recovery_code_hashes: JSON.stringify(legacy) });
    const verify = async () => {
      const fresh = new Browser(env.manager);
      const { challenge_token } = (await fresh.login('olga')).result as { challenge_token: string };
      return fresh.request('POST', '/api/v1/auth/mfa/verify', { challenge_token, code: recovery[2] });
    };
    expect((await verify()).statusCode).toBe(200);
    expect((await verify()).statusCode).toBe(401);
  });
});
