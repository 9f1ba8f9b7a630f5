import { testDatabases } from '@bilbycast/tests';
import { Browser, PASSWORD, authManager, seedUser } from './auth-harness';

describe.each(testDatabases())('login, sessions and CSRF on %s', (kind) => {
  let env: Awaited<ReturnType<typeof authManager>>;
  beforeEach(async () => {
    env = await authManager(kind);
  });
  afterEach(() => env.close());

  it('signs in with the session and csrf cookies and returns the user and CSRF token, never secrets', async () => {
    await seedUser(env.manager, 'Alice', 'operator');
    const browser = new Browser(env.manager);
    const res = await browser.login('alice');
    expect(res.statusCode).toBe(200);
    const body = res.result as { user: Record<string, unknown>; csrf_token: string };
    expect(body.user).toMatchObject({ username: 'Alice', role: 'operator', is_active: true, mfa_enabled: false });
    expect(body.user).not.toHaveProperty('password_hash');
    expect(body.csrf_token).toMatch(/^[0-9a-f]{32}$/);
    const setCookie = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
    const session = setCookie.find((c) => c.startsWith('session='))!;
    expect(session).toMatch(/HttpOnly/);
    expect(session).toMatch(/SameSite=Lax/);
    expect(session).toMatch(/Path=\//);
    expect(session).not.toMatch(/Secure/);
    const csrf = setCookie.find((c) => c.startsWith('csrf_token='))!;
    expect(csrf).not.toMatch(/HttpOnly/);
    expect(browser.cookies.get('csrf_token')).toBe(body.csrf_token);

    const me = await browser.request('GET', '/api/v1/auth/me');
    expect(me.statusCode).toBe(200);
    expect(me.result).toMatchObject({ username: 'Alice' });
    const audit = await env.manager.context.db('audit_log').where({ action: 'auth.login' });
    expect(audit).toHaveLength(1);
  });

  it('answers unknown users, wrong passwords, disabled and expired accounts with the same 401', async () => {
    await seedUser(env.manager, 'bob', 'viewer');
    await seedUser(env.manager, 'disabled', 'viewer', { is_active: false });
    await seedUser(env.manager, 'expired', 'viewer', { expires_at: '2020-01-01T00:00:00.000Z' });
    const attempts: [string, string][] = [
      ['nobody', PASSWORD],
      ['bob', 'Wrong-Passw0rd'],
      ['disabled', PASSWORD],
      ['expired', PASSWORD]
    ];
    for (const [username, password] of attempts) {
      const res = await new Browser(env.manager).login(username, password, `10.1.0.${attempts.findIndex((a) => a[0] === username)}`);
      expect(res.statusCode).toBe(401);
      expect(res.result).toEqual({ statusCode: 401, error: 'Unauthorized', message: 'Invalid credentials', error_code: 'invalid_credentials' });
      expect(res.headers['set-cookie'] ?? []).not.toEqual(expect.arrayContaining([expect.stringMatching(/^session=[^;]/)]));
    }
    const failures = await env.manager.context.db('audit_log').where({ action: 'auth.login_failed' });
    expect(failures.map((f) => f.username).sort()).toEqual(['bob', 'disabled', 'expired', 'nobody']);
  });

  it('rejects oversize and malformed credentials with 400 before hashing', async () => {
    const browser = new Browser(env.manager);
    for (const payload of [
      { username: 'x'.repeat(65), password: 'p' },
      { username: 'a', password: 'p'.repeat(129) },
      { username: 'a' },
      { username: 5, password: [] }
    ]) {
      const res = await browser.request('POST', '/api/v1/auth/login', payload);
      expect(res.statusCode).toBe(400);
      expect(res.result).toMatchObject({ error_code: 'validation_error' });
    }
    const notJson = await browser.request('POST', '/api/v1/auth/login', '{"username":');
    expect(notJson.statusCode).toBe(400);
    expect(notJson.result).toMatchObject({ error_code: 'bad_request' });
    expect(await env.manager.context.db('audit_log').where({ action: 'auth.login_failed' })).toHaveLength(0);
  });

  it('logs out: the same cookie is refused afterwards and both cookies are cleared', async () => {
    await seedUser(env.manager, 'carol', 'viewer');
    const browser = new Browser(env.manager);
    await browser.login('carol');
    const stolen = browser.cookieHeader;
    const out = await browser.request('POST', '/api/v1/auth/logout');
    expect(out.statusCode).toBe(200);
    expect(browser.cookies.has('session')).toBe(false);
    const replay = await env.manager.server.inject({ url: '/api/v1/auth/me', headers: { cookie: stolen } });
    expect(replay.statusCode).toBe(401);
  });

  it('requires the CSRF header on cookie-authenticated writes (logout included), not on login', async () => {
    await seedUser(env.manager, 'dave', 'viewer');
    const browser = new Browser(env.manager);
    await browser.login('dave');
    const missing = await browser.request('POST', '/api/v1/auth/logout', undefined, {}, false);
    expect(missing.statusCode).toBe(403);
    const wrong = await browser.request('PUT', '/api/v1/auth/me', { display_name: 'D' }, { 'x-csrf-token': 'f'.repeat(32) }, false);
    expect(wrong.statusCode).toBe(403);
    expect((await browser.request('PUT', '/api/v1/auth/me', { display_name: 'Dave D' })).statusCode).toBe(200);
    // Anonymous writes to a protected route are 401 (authentication is checked before CSRF).
    const anonymous = await env.manager.server.inject({ method: 'POST', url: '/api/v1/auth/logout' });
    expect(anonymous.statusCode).toBe(401);
  });

  it('applies a role change, a disabled account and a deleted user on the very next request', async () => {
    const id = await seedUser(env.manager, 'erin', 'admin');
    const browser = new Browser(env.manager);
    await browser.login('erin');
    expect((await browser.request('GET', '/api/v1/audit')).statusCode).toBe(200);
    await env.manager.context.db('users').where({ id }).update({ role: 'viewer' });
    expect((await browser.request('GET', '/api/v1/audit')).statusCode).toBe(403);
    await env.manager.context.db('users').where({ id }).update({ is_active: false });
    expect((await browser.request('GET', '/api/v1/auth/me')).statusCode).toBe(401);
  });

  it('lists sessions, ends one, and change-password keeps this session but ends the others', async () => {
    await seedUser(env.manager, 'frank', 'viewer');
    const laptop = new Browser(env.manager);
    const phone = new Browser(env.manager);
    await laptop.login('frank');
    await phone.login('frank');
    const list = (await laptop.request('GET', '/api/v1/auth/sessions')).result as { id: string; current: boolean }[];
    expect(list).toHaveLength(2);
    expect(list.filter((s) => s.current)).toHaveLength(1);

    const weak = await laptop.request('POST', '/api/v1/auth/change-password', { current_password: PASSWORD, new_password: 'short' });
    expect(weak.statusCode).toBe(400);
    expect(weak.result).toMatchObject({ error_code: 'weak_password' });
    const wrong = await laptop.request('POST', '/api/v1/auth/change-password', { current_password: 'nope', new_password: 'N3w-Password' });
    expect(wrong.result).toMatchObject({ error_code: 'wrong_password' });

    const oldCookie = laptop.cookieHeader;
    const changed = await laptop.request('POST', '/api/v1/auth/change-password', { current_password: PASSWORD, new_password: 'N3w-Password' });
    expect(changed.statusCode).toBe(200);
    expect(changed.result).toEqual({ success: true, other_sessions_ended: 1, api_tokens_revoked: 0 });
    expect((await laptop.request('GET', '/api/v1/auth/me')).statusCode).toBe(200);
    // The laptop continues in a fresh session: a copy of its old cookie no longer works.
    expect(laptop.cookieHeader).not.toBe(oldCookie);
    expect((await env.manager.server.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { cookie: oldCookie } })).statusCode).toBe(401);
    expect((await phone.request('GET', '/api/v1/auth/me')).statusCode).toBe(401);
    expect((await new Browser(env.manager).login('frank', 'N3w-Password')).statusCode).toBe(200);

    const mine = (await laptop.request('GET', '/api/v1/auth/sessions')).result as { id: string; current: boolean }[];
    const other = mine.find((s) => !s.current)!;
    expect((await laptop.request('DELETE', `/api/v1/auth/sessions/${other.id}`)).statusCode).toBe(204);
    expect((await laptop.request('DELETE', `/api/v1/auth/sessions/${other.id}`)).statusCode).toBe(404);
  });

  it('change-password refuses the current password and the last five, never an administrator’s reset, which still joins the history', async () => {
    const id = await seedUser(env.manager, 'hugo', 'viewer');
    const browser = new Browser(env.manager);
    await browser.login('hugo');
    let current = PASSWORD;
    const change = async (next: string) => {
      const res = await browser.request('POST', '/api/v1/auth/change-password', { current_password: current, new_password: next });
      if (res.statusCode === 200) current = next;
      return res;
    };
    const passwords = Array.from({ length: 6 }, (_, n) => `Hist0ry-Pass-${n + 1}`);
    for (const next of passwords) expect((await change(next)).statusCode).toBe(200);
    // Current: 6; remembered: 5, 4, 3, 2, 1; the first one (PASSWORD) has been forgotten.
    for (const reused of [passwords[5], passwords[0], passwords[3]]) {
      const refused = await change(reused);
      expect(refused.statusCode).toBe(400);
      expect(refused.result).toMatchObject({ error_code: 'password_reused', message: expect.stringContaining('last 5') });
    }
    expect(await env.manager.context.db('user_password_history').where({ user_id: id })).toHaveLength(5);
    // Each refusal counts against the re-authentication limit (5), a successful change does not.
    expect((await change(passwords[1])).statusCode).toBe(400);
    expect((await change(PASSWORD)).statusCode).toBe(200);

    // An administrator may reset to any password (learning nothing about earlier ones)…
    await seedUser(env.manager, 'hilde', 'super_admin');
    const admin = new Browser(env.manager);
    await admin.login('hilde');
    expect((await admin.request('PUT', `/api/v1/users/${id}`, { password: passwords[5] })).statusCode).toBe(200);
    // …and the password the reset replaced cannot come back through the user's own change.
    const user = new Browser(env.manager);
    expect((await user.login('hugo', passwords[5])).statusCode).toBe(200);
    const back = () => user.request('POST', '/api/v1/auth/change-password', { current_password: passwords[5], new_password: PASSWORD });
    expect((await back()).result).toMatchObject({ error_code: 'password_reused' });
    // Five refusals: guessing earlier passwords is limited like guessing the current one.
    expect((await back()).statusCode).toBe(429);
  });

  it('PUT /auth/me edits only display name and email', async () => {
    await seedUser(env.manager, 'gina', 'viewer');
    const browser = new Browser(env.manager);
    await browser.login('gina');
    for (const payload of [{ role: 'super_admin' }, { is_active: false }, { allowed_node_ids: null }, {}]) {
      expect((await browser.request('PUT', '/api/v1/auth/me', payload)).statusCode).toBe(400);
    }
    const ok = await browser.request('PUT', '/api/v1/auth/me', { display_name: 'Gina G', email: 'gina@example.com' });
    expect(ok.result).toMatchObject({ display_name: 'Gina G', email: 'gina@example.com', role: 'viewer' });
  });

  it('relaxes the CSP for the API documentation page only, not for paths that merely start like it', async () => {
    const docs = await env.manager.server.inject('/documentation');
    expect(docs.statusCode).toBe(200);
    expect(docs.headers['content-security-policy']).toMatch(/script-src 'self' 'unsafe-inline'/);
    for (const url of ['/documentationx', '/documentation/../api/v1/auth/me', '/documentation-evil', '/swaggerui/swagger-ui.css']) {
      expect((await env.manager.server.inject(url)).headers['content-security-policy']).toMatch(/script-src 'self';/);
    }
  });

  it('sends security headers on every response', async () => {
    for (const url of ['/health', '/api/v1/auth/me', '/api/v1/nope']) {
      const res = await env.manager.server.inject(url);
      expect(res.headers['content-security-policy']).toMatch(/script-src 'self';/);
      expect(res.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
    }
  });
});
