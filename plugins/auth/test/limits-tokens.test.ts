import { testDatabases } from '@bilbycast/tests';
import { Browser, PASSWORD, authManager, seedUser } from './auth-harness';

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

  it('locks an account after 5 consecutive wrong passwords, with the same generic 401, and a success resets the run', async () => {
    const id = await seedUser(env.manager, 'ivy', 'viewer');
    const attempt = (password: string, n: number) => new Browser(env.manager).login('ivy', password, `10.2.0.${n}`);
    for (let i = 0; i < 4; i++) expect((await attempt('wrong', i)).statusCode).toBe(401);
    expect((await attempt(PASSWORD, 10)).statusCode).toBe(200);
    for (let i = 0; i < 5; i++) expect((await attempt('wrong', 20 + i)).statusCode).toBe(401);
    const locked = await attempt(PASSWORD, 30);
    expect(locked.statusCode).toBe(401);
    expect(locked.result).toMatchObject({ message: 'Invalid credentials' });
    expect(await env.manager.context.db('audit_log').where({ action: 'auth.lockout', user_id: id })).toHaveLength(1);
    // The lock lives in the shared database table; once it expires the account works again.
    await env.manager.context.db('auth_rate_limits').where('key', 'like', 'login_account%').update({ expire: Date.now() - 1000 });
    expect((await attempt(PASSWORD, 31)).statusCode).toBe(200);
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
    expect((await bearer('PUT', '/api/v1/auth/me', { display_name: 'Jack (script)' })).statusCode).toBe(200);
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

  it('rejects bad token requests with 4xx', async () => {
    await seedUser(env.manager, 'liam', 'viewer');
    const browser = new Browser(env.manager);
    await browser.login('liam');
    for (const payload of [{}, { name: '' }, { name: 'x'.repeat(101) }, { name: 'a', role: 'god' }, { name: 'a', expires_at: '2001-01-01T00:00:00Z' }, { name: 'a', expires_at: '2099-04-31' }, { name: 'a\u0007' }]) {
      expect((await browser.request('POST', '/api/v1/auth/tokens', payload)).statusCode).toBe(400);
    }
    expect((await browser.request('DELETE', '/api/v1/auth/tokens/not-a-uuid')).statusCode).toBe(400);
    expect((await browser.request('DELETE', '/api/v1/auth/tokens/8a6e0804-2bd0-4672-b79d-d97027f9071b')).statusCode).toBe(404);
  });
});
