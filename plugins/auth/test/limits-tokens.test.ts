import crypto from 'node:crypto';
import { testDatabases } from '@bilbycast/tests';
import { ACCOUNT_BACKOFF_AFTER_FAILURES, LOCKOUT_AFTER_FAILURES, LOGIN_FAILURES_PER_IP, LoginLimits } from '../src/services/login-limits';
import { currentTotp } from '../src/services/totp';
import { Browser, PASSWORD, authManager, seedUser } from './auth-harness';

/** The code of the next TOTP time step (the current one was used at enrolment and is never accepted twice). */
async function nextTotp(secret: string): Promise<string> {
  return currentTotp(secret, new Date(Date.now() + 30_000));
}

describe.each(testDatabases())('rate limits, lockout and API tokens on %s', (kind) => {
  let env: Awaited<ReturnType<typeof authManager>>;
  beforeEach(async () => {
    env = await authManager(kind);
  });
  afterEach(() => env.close());

  it('answers 429 with Retry-After after 5 failed logins from one IP, for every username, while other IPs go on', async () => {
    await seedUser(env.manager, 'hank', 'viewer');
    const browser = new Browser(env.manager);
    for (let i = 0; i < 5; i++) expect((await browser.login(`ghost${i}`, 'x', '10.9.9.9')).statusCode).toBe(401);
    const limited = await browser.login('hank', PASSWORD, '10.9.9.9');
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.result).toMatchObject({ error_code: 'rate_limited' });
    expect((await browser.login('hank', PASSWORD, '10.9.9.10')).statusCode).toBe(200);
  });

  it('believes X-Forwarded-For only when told to and only from a trusted proxy (limits and audit follow the client)', async () => {
    const failedLogin = (manager: typeof env.manager, peer: string, forwardedFor: string) =>
      new Browser(manager).request('POST', '/api/v1/auth/login', { username: 'ghost', password: 'x' }, { 'x-test-ip': peer, 'x-forwarded-for': forwardedFor });
    const auditIps = async (manager: typeof env.manager) =>
      (await manager.context.db('audit_log').where({ action: 'auth.login_failed' }).orderBy('id')).map((row: { ip: string }) => row.ip);

    // Off by default: the header is ignored and every client behind the proxy shares its address.
    for (let i = 0; i < 5; i++) expect((await failedLogin(env.manager, '10.0.0.5', `203.0.113.${i}`)).statusCode).toBe(401);
    expect((await failedLogin(env.manager, '10.0.0.5', '203.0.113.99')).statusCode).toBe(429);
    expect(new Set(await auditIps(env.manager))).toEqual(new Set(['10.0.0.5']));

    const proxied = await authManager(kind, { trust_proxy_header: true, trusted_proxies: ['10.0.0.4', '10.0.0.5'] });
    try {
      // The client is the rightmost address that is not a trusted proxy (10.0.0.4 is one).
      for (let i = 0; i < 5; i++) expect((await failedLogin(proxied.manager, '10.0.0.5', '203.0.113.7, 10.0.0.4')).statusCode).toBe(401);
      expect((await failedLogin(proxied.manager, '10.0.0.5', '203.0.113.7, 10.0.0.4')).statusCode).toBe(429);
      // Another client behind the same proxy is not limited; one cannot forge its way in by prepending.
      expect((await failedLogin(proxied.manager, '10.0.0.5', '198.51.100.1, 203.0.113.8')).statusCode).toBe(401);
      // A peer that is not a trusted proxy is itself the client, whatever it claims — another host
      // on the same private network included (issue: trusting every private address let any of
      // them rotate the header past the per-address limit).
      expect((await failedLogin(proxied.manager, '192.0.2.50', '203.0.113.9')).statusCode).toBe(401);
      for (let i = 0; i < 5; i++) expect((await failedLogin(proxied.manager, '10.0.0.77', `203.0.113.${100 + i}`)).statusCode).toBe(401);
      expect((await failedLogin(proxied.manager, '10.0.0.77', '203.0.113.200')).statusCode).toBe(429);
      expect(await auditIps(proxied.manager)).toEqual([...Array(5).fill('203.0.113.7'), '203.0.113.8', '192.0.2.50', ...Array(5).fill('10.0.0.77')]);
    } finally {
      await proxied.close();
    }
  });

  it('locks an account after 5 consecutive wrong passwords from one address — for that address only — with the same generic 401', async () => {
    const id = await seedUser(env.manager, 'ivy', 'viewer');
    const attempt = (password: string, ip: string) => new Browser(env.manager).login('ivy', password, ip);
    // The per-address login limit (5 a minute) is lifted between runs, so only the account lock is at play.
    const liftIpLimits = () => env.manager.context.db('auth_rate_limits').where('key', 'like', 'login_ip%').delete();
    for (let i = 0; i < 4; i++) expect((await attempt('wrong', '10.2.0.1')).statusCode).toBe(401);
    expect((await attempt(PASSWORD, '10.2.0.1')).statusCode).toBe(200);
    await liftIpLimits();
    for (let i = 0; i < 5; i++) expect((await attempt('wrong', '10.2.0.1')).statusCode).toBe(401);
    await liftIpLimits();
    const locked = await attempt(PASSWORD, '10.2.0.1');
    expect(locked.statusCode).toBe(401);
    expect(locked.result).toMatchObject({ message: 'Invalid credentials' });
    expect(await env.manager.context.db('audit_log').where({ action: 'auth.lockout', user_id: id })).toHaveLength(1);
    // The owner, elsewhere, is not locked out by it.
    expect((await attempt(PASSWORD, '10.2.0.2')).statusCode).toBe(200);
    // The lock lives in the shared database table; once it expires the address works again.
    await env.manager.context
      .db('auth_rate_limits')
      .where('key', 'like', 'login_account_ip%')
      .update({ expire: Date.now() - 1000 });
    expect((await attempt(PASSWORD, '10.2.0.1')).statusCode).toBe(200);
  });

  it('backs an account off after 50 wrong passwords from many addresses, except for addresses the owner signed in from; the owner is told', async () => {
    const id = await seedUser(env.manager, 'ines', 'super_admin');
    // The owner's usual address.
    const first = await new Browser(env.manager).login('ines', PASSWORD, '192.0.2.10');
    expect(first.result).toMatchObject({ failed_sign_ins_since_last_login: 0 });
    // An attacker on 60 addresses, in parallel: exactly 50 are checked, the rest find it backed off.
    await Promise.all(Array.from({ length: 60 }, (_, n) => new Browser(env.manager).login('ines', 'Wrong-Passw0rd', `203.0.113.${n + 1}`)));
    const reasons = (await env.manager.context.db('audit_log').where({ action: 'auth.login_failed', user_id: id })).map((r) => JSON.parse(r.details).reason);
    expect(reasons.filter((r) => r === 'wrong_password')).toHaveLength(50);
    expect(reasons.filter((r) => r === 'locked')).toHaveLength(10);
    expect((await env.manager.context.db('audit_log').where({ action: 'auth.lockout', user_id: id })).map((r) => JSON.parse(r.details).scope)).toEqual([
      'account'
    ]);
    // Even the right password from a new address is refused while it is backed off…
    expect((await new Browser(env.manager).login('ines', PASSWORD, '198.51.100.1')).statusCode).toBe(401);
    // …but the owner, from where they signed in before, gets in, and is told about the attempts.
    const owner = await new Browser(env.manager).login('ines', PASSWORD, '192.0.2.10');
    expect(owner.statusCode).toBe(200);
    expect(owner.result).toMatchObject({ failed_sign_ins_since_last_login: 61 });
    expect((await new Browser(env.manager).login('ines', PASSWORD, '192.0.2.10')).result).toMatchObject({ failed_sign_ins_since_last_login: 0 });
    // A password reset (someone else may have known the old one) forgets the known addresses.
    await seedUser(env.manager, 'ivan', 'super_admin');
    const admin = new Browser(env.manager);
    await admin.login('ivan', PASSWORD, '192.0.2.99');
    expect(await env.manager.context.db('auth_known_addresses').where({ user_id: id })).toHaveLength(1);
    expect((await admin.request('PUT', `/api/v1/users/${id}`, { password: 'Reset-Passw0rd-2' })).statusCode).toBe(200);
    expect(await env.manager.context.db('auth_known_addresses').where({ user_id: id })).toHaveLength(0);
  });

  it('keeps the account backed off when sign-ins in flight at that moment are refunded afterwards', async () => {
    const id = await seedUser(env.manager, 'ida', 'operator');
    const limits = new LoginLimits(env.manager.context.db, env.manager.context.database);
    const wrong = async (ip: string) => {
      const taken = await limits.takeAccountAttempt(id, ip);
      expect(taken.locked).toBe(false);
      return limits.recordFailure({ userId: id, ip, attempts: taken.attempts, accountAttempts: taken.accountAttempts, wrongPassword: true });
    };
    for (let n = 1; n <= ACCOUNT_BACKOFF_AFTER_FAILURES - 3; n++) await wrong(`203.0.113.${n}`);
    // The owner's two sign-ins are counted, then the attacker's last allowed attempt backs the account off…
    await limits.takeAccountAttempt(id, '192.0.2.30');
    await limits.takeAccountAttempt(id, '192.0.2.30');
    expect(await wrong('203.0.113.200')).toEqual({ lockedNow: 'account' });
    // …and only then are the owner's right passwords settled (refunded).
    await limits.recordSuccess('192.0.2.30', id);
    await limits.recordSuccess('192.0.2.30', id);
    expect((await limits.takeAccountAttempt(id, '198.51.100.7')).locked).toBe(true);
  });

  it('backs the account off when the failure settled past the limit comes from a known address after the one at the limit was refunded', async () => {
    const id = await seedUser(env.manager, 'ilse', 'operator');
    const limits = new LoginLimits(env.manager.context.db, env.manager.context.database);
    const settle = async (ip: string, taken: { attempts: number; accountAttempts: number }, wrongPassword: boolean) =>
      limits.recordFailure({ userId: id, ip, attempts: taken.attempts, accountAttempts: taken.accountAttempts, wrongPassword });
    for (let n = 1; n <= ACCOUNT_BACKOFF_AFTER_FAILURES - 2; n++) await settle(`203.0.113.${n}`, await limits.takeAccountAttempt(id, `203.0.113.${n}`), true);
    await limits.rememberAddress('192.0.2.30', id);
    const owner = await limits.takeAccountAttempt(id, '192.0.2.30');
    const atLimit = await limits.takeAccountAttempt(id, '203.0.113.201');
    // Past the limit, but from a known address: still checked — and wrong.
    const known = await limits.takeAccountAttempt(id, '192.0.2.30');
    expect(known).toMatchObject({ locked: false, accountAttempts: ACCOUNT_BACKOFF_AFTER_FAILURES + 1 });
    expect(await settle('203.0.113.201', atLimit, false)).toEqual({ lockedNow: 'none' });
    expect(await settle('192.0.2.30', known, true)).toEqual({ lockedNow: 'account' });
    await limits.recordSuccess('192.0.2.30', id);
    expect(owner.locked).toBe(false);
    expect((await limits.takeAccountAttempt(id, '198.51.100.8')).locked).toBe(true);
  });

  it('the failure that backs the account off and is its address’s fifth also locks that address out (a known one too)', async () => {
    const id = await seedUser(env.manager, 'ulla', 'operator');
    const limits = new LoginLimits(env.manager.context.db, env.manager.context.database);
    const wrong = async (ip: string) => {
      const taken = await limits.takeAccountAttempt(id, ip);
      return limits.recordFailure({ userId: id, ip, attempts: taken.attempts, accountAttempts: taken.accountAttempts, wrongPassword: true });
    };
    await limits.rememberAddress('192.0.2.40', id);
    for (let n = 1; n <= ACCOUNT_BACKOFF_AFTER_FAILURES - LOCKOUT_AFTER_FAILURES; n++) await wrong(`203.0.113.${n}`);
    for (let n = 1; n <= LOCKOUT_AFTER_FAILURES - 2; n++) expect(await wrong('192.0.2.40')).toEqual({ lockedNow: 'none' });
    // Two attempts from the address in flight: the later one is its fifth and the account's last allowed.
    const earlier = await limits.takeAccountAttempt(id, '192.0.2.40');
    const last = await limits.takeAccountAttempt(id, '192.0.2.40');
    expect(last).toMatchObject({ attempts: LOCKOUT_AFTER_FAILURES, accountAttempts: ACCOUNT_BACKOFF_AFTER_FAILURES });
    const settle = (taken: typeof last, wrongPassword: boolean) =>
      limits.recordFailure({ userId: id, ip: '192.0.2.40', attempts: taken.attempts, accountAttempts: taken.accountAttempts, wrongPassword });
    expect(await settle(last, true)).toEqual({ lockedNow: 'account' });
    // The earlier one turns out not to count (refunded)…
    expect(await settle(earlier, false)).toEqual({ lockedNow: 'none' });
    // …and the address stays locked out: the account's backoff spares known addresses, its own lockout does not.
    expect((await limits.takeAccountAttempt(id, '192.0.2.40')).locked).toBe(true);
  });

  it('a right password without the second factor does not make an address known, and failed codes are reported too', async () => {
    const id = await seedUser(env.manager, 'otis', 'operator');
    const browser = new Browser(env.manager);
    await browser.login('otis', PASSWORD, '192.0.2.20');
    const secret = ((await browser.request('POST', '/api/v1/auth/mfa/totp/setup')).result as { secret: string }).secret;
    expect((await browser.request('POST', '/api/v1/auth/mfa/totp/confirm', { code: await currentTotp(secret) })).statusCode).toBe(200);
    await env.manager.context.db('auth_known_addresses').where({ user_id: id }).delete();
    // Someone with the password but no code, from elsewhere: challenged, a wrong code, never known.
    const thief = new Browser(env.manager);
    const challenge = ((await thief.login('otis', PASSWORD, '203.0.113.50')).result as { challenge_token: string }).challenge_token;
    expect(
      (await thief.request('POST', '/api/v1/auth/mfa/verify', { challenge_token: challenge, code: '000000' }, { 'x-test-ip': '203.0.113.50' })).statusCode
    ).toBe(401);
    expect(await env.manager.context.db('auth_known_addresses').where({ user_id: id })).toHaveLength(0);
    // The owner completes both steps, is told about the wrong code, and their address is known.
    const owner = new Browser(env.manager);
    const ownChallenge = ((await owner.login('otis', PASSWORD, '192.0.2.20')).result as { challenge_token: string }).challenge_token;
    const done = await owner.request(
      'POST',
      '/api/v1/auth/mfa/verify',
      { challenge_token: ownChallenge, code: await nextTotp(secret) },
      { 'x-test-ip': '192.0.2.20' }
    );
    expect(done.statusCode).toBe(200);
    expect(done.result).toMatchObject({ failed_sign_ins_since_last_login: 1 });
    expect((await env.manager.context.db('auth_known_addresses').where({ user_id: id })).map((r) => r.ip)).toEqual(['192.0.2.20']);
  });

  it('checks at most 5 of many parallel logins from one IP; the others are answered 429', async () => {
    await seedUser(env.manager, 'hal', 'viewer');
    const answers = await Promise.all(Array.from({ length: 20 }, () => new Browser(env.manager).login('hal', 'Wrong-Passw0rd', '10.9.8.7')));
    const statuses = answers.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 401)).toHaveLength(LOGIN_FAILURES_PER_IP);
    expect(statuses.filter((s) => s === 429)).toHaveLength(20 - LOGIN_FAILURES_PER_IP);
  });

  it('checks at most 5 of many parallel wrong passwords for one account from one address; the others find it locked', async () => {
    const id = await seedUser(env.manager, 'iris', 'viewer');
    // One address (its own login limit lifted, so the account lock decides).
    await env.manager.context.db('auth_rate_limits').where('key', 'like', 'login_ip%').delete();
    const browsers = Array.from({ length: 20 }, () => new Browser(env.manager));
    await Promise.all(browsers.slice(0, 5).map((b) => b.login('iris', 'Wrong-Passw0rd', '10.3.0.1')));
    await env.manager.context.db('auth_rate_limits').where('key', 'like', 'login_ip%').delete();
    await Promise.all(browsers.slice(5, 9).map((b) => b.login('iris', 'Wrong-Passw0rd', '10.3.0.1')));
    const reasons = (await env.manager.context.db('audit_log').where({ action: 'auth.login_failed', user_id: id })).map((r) => JSON.parse(r.details).reason);
    expect(reasons.filter((r) => r === 'wrong_password')).toHaveLength(LOCKOUT_AFTER_FAILURES);
    expect(reasons.filter((r) => r === 'locked')).toHaveLength(4);
    expect(await env.manager.context.db('audit_log').where({ action: 'auth.lockout', user_id: id })).toHaveLength(1);
    await env.manager.context.db('auth_rate_limits').where('key', 'like', 'login_ip%').delete();
    expect((await new Browser(env.manager).login('iris', PASSWORD, '10.3.0.1')).statusCode).toBe(401);
    expect((await new Browser(env.manager).login('iris', PASSWORD, '10.3.1.1')).statusCode).toBe(200);
  });

  it('answers 429 after 5 wrong current passwords on change-password, and the right one is refused too until the window ends', async () => {
    await seedUser(env.manager, 'ivan', 'viewer');
    const browser = new Browser(env.manager);
    await browser.login('ivan');
    const change = (current: string) => browser.request('POST', '/api/v1/auth/change-password', { current_password: current, new_password: 'N3w-Password' });
    for (let i = 0; i < 5; i++) expect((await change('Wrong-Passw0rd')).result).toMatchObject({ error_code: 'wrong_password' });
    const limited = await change('Wrong-Passw0rd');
    expect(limited.statusCode).toBe(429);
    expect(limited.result).toMatchObject({ error_code: 'rate_limited' });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await change(PASSWORD)).statusCode).toBe(429);
    // The counter lives in the shared table; once its window ends the right password works.
    await env.manager.context
      .db('auth_rate_limits')
      .where('key', 'like', 'reauth_user%')
      .update({ expire: Date.now() - 1000 });
    expect((await change(PASSWORD)).statusCode).toBe(200);
  });

  it('mints no token once the session asking for it has been ended by a reset that landed mid-request', async () => {
    const userId = await seedUser(env.manager, 'racer', 'operator');
    const browser = new Browser(env.manager);
    await browser.login('racer');
    // The reset lands after this request was authenticated, before its token is made.
    env.manager.server.ext('onPreHandler', async (request, h) => {
      if (request.path === '/api/v1/auth/tokens' && request.method === 'post') {
        await env.manager.context.services.get('sessions')!.revokeAllForUser(userId);
      }
      return h.continue;
    });
    const res = await browser.request('POST', '/api/v1/auth/tokens', { name: 'late', current_password: PASSWORD });
    expect([res.statusCode, (res.result as { error_code: string }).error_code]).toEqual([401, 'session_ended']);
    expect(await env.manager.context.db('auth_api_tokens').where({ user_id: userId })).toHaveLength(0);
    expect(await env.manager.context.db('audit_log').where({ action: 'auth.token_create' })).toHaveLength(0);
  });

  it('creates a token shown once, authenticates with it without cookies or CSRF, caps its role, and revokes it', async () => {
    await seedUser(env.manager, 'jack', 'admin');
    const browser = new Browser(env.manager);
    await browser.login('jack');
    const created = await browser.request('POST', '/api/v1/auth/tokens', { name: 'ci script', role: 'viewer' });
    expect(created.statusCode).toBe(201);
    const { token, id } = created.result as { token: string; id: string };
    expect(token).toMatch(/^bct_/);
    const listed = (await browser.request('GET', '/api/v1/auth/tokens')).result as Record<string, unknown>[];
    expect(listed).toEqual([expect.objectContaining({ id, name: 'ci script', role: 'viewer', prefix: token.slice(0, 12) })]);
    expect(JSON.stringify(listed)).not.toContain(token);
    expect(JSON.stringify(await env.manager.context.db('auth_api_tokens').select())).not.toContain(token);

    const bearer = (method: string, url: string, payload?: object) =>
      env.manager.server.inject({ method, url, payload, headers: { authorization: `Bearer ${token}` } });
    expect((await bearer('GET', '/api/v1/auth/me')).statusCode).toBe(200);
    expect((await bearer('PUT', '/api/v1/auth/me', { display_name: 'Jack (script)' })).result).toMatchObject({ error_code: 'session_required' });
    const capped = await bearer('GET', '/api/v1/audit');
    expect(capped.statusCode).toBe(403);
    expect(capped.result).toMatchObject({ error_code: 'insufficient_role', required_role: 'admin' });

    expect((await browser.request('DELETE', `/api/v1/auth/tokens/${id}`)).statusCode).toBe(204);
    expect((await bearer('GET', '/api/v1/auth/me')).statusCode).toBe(401);
    expect((await env.manager.server.inject({ url: '/api/v1/auth/me', headers: { authorization: 'Bearer bct_forged' } })).statusCode).toBe(401);
    const actions = (await env.manager.context.db('audit_log').select('action')).map((r) => r.action);
    expect(actions).toEqual(expect.arrayContaining(['auth.token_create', 'auth.token_revoke']));
  });

  it('never lets a token exceed what its owner has now', async () => {
    const id = await seedUser(env.manager, 'kate', 'admin');
    const browser = new Browser(env.manager);
    await browser.login('kate');
    const { token } = (await browser.request('POST', '/api/v1/auth/tokens', { name: 'full' })).result as { token: string };
    const audit = () => env.manager.server.inject({ url: '/api/v1/audit', headers: { authorization: `Bearer ${token}` } });
    expect((await audit()).statusCode).toBe(200);
    await env.manager.context.db('users').where({ id }).update({ role: 'operator' });
    expect((await audit()).statusCode).toBe(403);
    await env.manager.context.db('users').where({ id }).update({ is_active: false });
    expect((await audit()).statusCode).toBe(401);
  });

  it("a token — a viewer-limited one of a super_admin, or a full one — cannot change its owner's account; a session may", async () => {
    const ownerId = await seedUser(env.manager, 'kyle', 'super_admin');
    const browser = new Browser(env.manager);
    await browser.login('kyle');
    for (const role of ['viewer', null]) {
      const { token } = (await browser.request('POST', '/api/v1/auth/tokens', { name: `token ${role}`, role })).result as { token: string };
      const asToken = (method: string, url: string, payload?: object) =>
        env.manager.server.inject({ method, url, payload, headers: { authorization: `Bearer ${token}` } });
      const attempts: [string, string, object?][] = [
        ['PUT', '/api/v1/auth/me', { email: 'attacker@idp.example' }],
        ['POST', '/api/v1/auth/change-password', { current_password: PASSWORD, new_password: 'Other-Passw0rd' }],
        ['POST', '/api/v1/auth/mfa/totp/setup'],
        ['POST', '/api/v1/auth/mfa/totp/confirm', { code: '123456' }],
        ['POST', '/api/v1/auth/mfa/totp/disable', { password: PASSWORD, code: '123456' }],
        ['POST', '/api/v1/auth/tokens', { name: 'more' }],
        ['DELETE', `/api/v1/auth/tokens/${crypto.randomUUID()}`],
        ['DELETE', `/api/v1/auth/sessions/${crypto.randomUUID()}`]
      ];
      for (const [method, url, payload] of attempts) {
        const res = await asToken(method, url, payload);
        expect([method, url, res.statusCode, (res.result as { error_code?: string }).error_code]).toEqual([method, url, 403, 'session_required']);
      }
    }
    // Nothing changed: same email, no MFA, only the two tokens the session made.
    const owner = await env.manager.context.db('users').where({ id: ownerId }).first();
    expect(owner.email).toBeNull();
    expect(await env.manager.context.db('auth_mfa').where({ user_id: ownerId })).toHaveLength(0);
    expect(await env.manager.context.db('auth_api_tokens').where({ user_id: ownerId })).toHaveLength(2);
    // The session may, within its role.
    expect(await browser.request('POST', '/api/v1/auth/tokens', { name: 'admin', role: 'admin' })).toMatchObject({
      statusCode: 201,
      result: { role: 'admin' }
    });
    const viewer = new Browser(env.manager);
    await seedUser(env.manager, 'vera', 'viewer');
    await viewer.login('vera');
    expect((await viewer.request('POST', '/api/v1/auth/tokens', { name: 'above', role: 'operator' })).result).toMatchObject({ error_code: 'role_above_own' });
  });

  it('a new email and MFA enrolment need the current password once a session is older than ten minutes', async () => {
    const userId = await seedUser(env.manager, 'rita', 'operator');
    const browser = new Browser(env.manager);
    await browser.login('rita');
    // Fresh from signing in: no password asked.
    expect((await browser.request('PUT', '/api/v1/auth/me', { email: 'rita@example.com' })).statusCode).toBe(200);
    await env.manager.context
      .db('auth_sessions')
      .where({ user_id: userId })
      .update({ created_at: new Date(Date.now() - 11 * 60_000).toISOString() });
    const stale = await browser.request('PUT', '/api/v1/auth/me', { email: 'attacker@example.com' });
    expect(stale.statusCode).toBe(403);
    expect(stale.result).toMatchObject({ error_code: 'reauthentication_required' });
    expect((await browser.request('PUT', '/api/v1/auth/me', { email: 'other@example.com', current_password: 'wrong' })).result).toMatchObject({
      error_code: 'wrong_password'
    });
    // The display name alone, or the same email again, needs nothing.
    expect((await browser.request('PUT', '/api/v1/auth/me', { display_name: 'Rita', email: 'rita@example.com' })).statusCode).toBe(200);
    expect((await browser.request('PUT', '/api/v1/auth/me', { email: 'rita@new.example', current_password: PASSWORD })).result).toMatchObject({
      email: 'rita@new.example'
    });
    expect((await browser.request('POST', '/api/v1/auth/mfa/totp/setup')).result).toMatchObject({ error_code: 'reauthentication_required' });
    expect((await browser.request('POST', '/api/v1/auth/mfa/totp/setup', { current_password: PASSWORD })).statusCode).toBe(200);
    expect((await env.manager.context.db('users').where({ id: userId }).first()).email).toBe('rita@new.example');
  });

  it("a password reset by an admin, or disabling, ends the user's API tokens too; a self-service change revokes them unless asked to keep them", async () => {
    const userId = await seedUser(env.manager, 'tess', 'operator');
    await seedUser(env.manager, 'ada', 'admin');
    const tess = new Browser(env.manager);
    await tess.login('tess');
    const admin = new Browser(env.manager);
    await admin.login('ada');
    const mint = async () => ((await tess.request('POST', '/api/v1/auth/tokens', { name: 'script' })).result as { token: string }).token;
    const works = async (token: string) =>
      (await env.manager.server.inject({ url: '/api/v1/auth/me', headers: { authorization: `Bearer ${token}` } })).statusCode === 200;

    // Self-service: revoked by default…
    let token = await mint();
    const changed = await tess.request('POST', '/api/v1/auth/change-password', { current_password: PASSWORD, new_password: 'Second-Passw0rd' });
    expect(changed.result).toMatchObject({ success: true, api_tokens_revoked: 1 });
    expect(await works(token)).toBe(false);
    // …kept when asked.
    token = await mint();
    const kept = await tess.request('POST', '/api/v1/auth/change-password', {
      current_password: 'Second-Passw0rd',
      new_password: 'Third-Passw0rd',
      keep_api_tokens: true
    });
    expect(kept.result).toMatchObject({ success: true, api_tokens_revoked: 0 });
    expect(await works(token)).toBe(true);

    // An admin's reset ends them, as it ends the sessions.
    expect((await admin.request('PUT', `/api/v1/users/${userId}`, { password: 'Reset-Passw0rd' })).statusCode).toBe(200);
    expect(await works(token)).toBe(false);
    expect((await tess.request('GET', '/api/v1/auth/me')).statusCode).toBe(401);

    // Disabling ends tokens made before, which do not come back with re-enabling.
    await tess.login('tess', 'Reset-Passw0rd');
    token = await mint();
    expect((await admin.request('PUT', `/api/v1/users/${userId}`, { is_active: false })).statusCode).toBe(200);
    expect((await admin.request('PUT', `/api/v1/users/${userId}`, { is_active: true })).statusCode).toBe(200);
    expect(await works(token)).toBe(false);
    expect(await env.manager.context.db('auth_api_tokens').where({ user_id: userId })).toHaveLength(0);
  });

  it('a token is minted only in a recent sign-in or with the current password: a stolen old cookie cannot mint one', async () => {
    const userId = await seedUser(env.manager, 'mick', 'admin');
    const browser = new Browser(env.manager);
    await browser.login('mick');
    expect((await browser.request('POST', '/api/v1/auth/tokens', { name: 'fresh' })).statusCode).toBe(201);
    await env.manager.context
      .db('auth_sessions')
      .where({ user_id: userId })
      .update({ created_at: new Date(Date.now() - 11 * 60_000).toISOString() });
    expect((await browser.request('POST', '/api/v1/auth/tokens', { name: 'stale' })).result).toMatchObject({ error_code: 'reauthentication_required' });
    expect((await browser.request('POST', '/api/v1/auth/tokens', { name: 'stale', current_password: 'nope' })).result).toMatchObject({
      error_code: 'wrong_password'
    });
    expect((await browser.request('POST', '/api/v1/auth/tokens', { name: 'stale', current_password: PASSWORD })).statusCode).toBe(201);
  });

  it('counts IPv6 clients by their /64, so rotating addresses within it gets no more attempts', async () => {
    await seedUser(env.manager, 'nils', 'viewer');
    for (let i = 1; i <= LOGIN_FAILURES_PER_IP; i++) expect((await new Browser(env.manager).login('nils', 'wrong', `2001:db8:5:6::${i}`)).statusCode).toBe(401);
    expect((await new Browser(env.manager).login('nils', 'wrong', '2001:db8:5:6::99')).statusCode).toBe(429);
    expect((await new Browser(env.manager).login('nils', PASSWORD, '2001:db8:5:7::1')).statusCode).toBe(200);
  });

  it('refuses an expiry past year 9999 with a validation error, and accepts the last instant of 9999', async () => {
    await seedUser(env.manager, 'lena', 'viewer');
    const browser = new Browser(env.manager);
    await browser.login('lena');
    const far = await browser.request('POST', '/api/v1/auth/tokens', { name: 'far', expires_at: '+010000-01-01T00:00:00Z' });
    expect(far.statusCode).toBe(400);
    expect(far.result).toMatchObject({ error_code: 'validation_error' });
    const last = await browser.request('POST', '/api/v1/auth/tokens', { name: 'last', expires_at: '9999-12-31T23:59:59.999Z' });
    expect(last).toMatchObject({ statusCode: 201, result: { expires_at: '9999-12-31T23:59:59.999Z' } });
  });

  it('rejects bad token requests with 4xx', async () => {
    await seedUser(env.manager, 'liam', 'viewer');
    const browser = new Browser(env.manager);
    await browser.login('liam');
    for (const payload of [
      {},
      { name: '' },
      { name: 'x'.repeat(101) },
      { name: 'a', role: 'god' },
      { name: 'a', expires_at: '2001-01-01T00:00:00Z' },
      { name: 'a', expires_at: '2099-04-31' },
      { name: 'a\u0007' }
    ]) {
      expect((await browser.request('POST', '/api/v1/auth/tokens', payload)).statusCode).toBe(400);
    }
    expect((await browser.request('DELETE', '/api/v1/auth/tokens/not-a-uuid')).statusCode).toBe(400);
    expect((await browser.request('DELETE', '/api/v1/auth/tokens/8a6e0804-2bd0-4672-b79d-d97027f9071b')).statusCode).toBe(404);
  });
});
