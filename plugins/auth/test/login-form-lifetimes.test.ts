import { createManager } from '@bilbycast/core';
import { createTestDatabase, testConfig, testDatabases } from '@bilbycast/tests';
import users from '@bilbycast/users';
import auth from '../src';
import { safeNext } from '../src/routes/login';
import { Browser, PASSWORD, authManager, seedUser } from './auth-harness';

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const FORM_HEADERS = { 'content-type': 'application/x-www-form-urlencoded' };

describe('safeNext', () => {
  it.each([
    ['/nodes', '/nodes'],
    ['/nodes/abc?tab=flows', '/nodes/abc?tab=flows'],
    ['//evil.example.com', '/'],
    ['https://evil.example.com/', '/'],
    ['/\\evil.example.com', '/'],
    ['javascript:alert(1)', '/'],
    ['', '/'],
    [undefined, '/']
  ])('%s -> %s', (next, expected) => {
    expect(safeNext(next)).toBe(expected);
  });
});

describe.each(testDatabases())('form login and session lifetimes on %s', (kind) => {
  let env: Awaited<ReturnType<typeof authManager>>;
  beforeEach(async () => {
    env = await authManager(kind);
    await seedUser(env.manager, 'pia', 'viewer');
  });
  afterEach(() => env.close());

  it('refuses a sign-in posted from another site (login CSRF), by the form or the API; same-site and non-browser clients sign in', async () => {
    for (const [url, payload, headers] of [
      ['/api/v1/auth/login-form', form({ username: 'pia', password: PASSWORD, next: '/events' }), FORM_HEADERS],
      ['/api/v1/auth/login', { username: 'pia', password: PASSWORD }, {}]
    ] as [string, object, Record<string, string>][]) {
      const foreigners: Record<string, string>[] = [{ origin: 'https://evil.example' }, { 'sec-fetch-site': 'cross-site' }, { origin: 'null' }];
      for (const foreign of foreigners) {
        const browser = new Browser(env.manager);
        const res = await browser.request('POST', url, payload, { ...headers, ...foreign });
        expect([url, res.statusCode, (res.result as { error_code?: string }).error_code]).toEqual([url, 403, 'cross_site_request']);
        expect(browser.cookies.has('session')).toBe(false);
      }
      const own = new Browser(env.manager);
      const same = await own.request('POST', url, payload, {
        ...headers,
        origin: `http://${env.manager.server.info.host}:${env.manager.server.info.port}`,
        host: `${env.manager.server.info.host}:${env.manager.server.info.port}`,
        'sec-fetch-site': 'same-origin'
      });
      expect(same.statusCode).toBeLessThan(400);
      expect(own.cookies.has('session')).toBe(true);
    }
    // Behind a reverse proxy: a rewritten Host is fine when the browser says same-origin, and a default port is no difference.
    const proxied: Record<string, string>[] = [
      { host: '127.0.0.1:8080', origin: 'https://manager.example', 'sec-fetch-site': 'same-origin' },
      { host: 'manager.example:443', origin: 'https://manager.example' }
    ];
    for (const headers of proxied) {
      expect((await new Browser(env.manager).request('POST', '/api/v1/auth/login', { username: 'pia', password: PASSWORD }, headers)).statusCode).toBe(200);
    }
    expect(
      (await new Browser(env.manager).request('POST', '/api/v1/auth/login', { username: 'pia', password: PASSWORD }, { 'sec-fetch-site': 'same-site' }))
        .statusCode
    ).toBe(403);
    expect(
      (await new Browser(env.manager).request('POST', '/api/v1/auth/mfa/verify', { challenge_token: 'x', code: '123456' }, { origin: 'https://evil.example' }))
        .result
    ).toMatchObject({
      error_code: 'cross_site_request'
    });
  });

  it('redirects with 303 to a safe next, or to the login page with an error', async () => {
    const browser = new Browser(env.manager);
    const ok = await browser.request('POST', '/api/v1/auth/login-form', form({ username: 'pia', password: PASSWORD, next: '/events' }), FORM_HEADERS);
    expect(ok.statusCode).toBe(303);
    expect(ok.headers.location).toBe('/events');
    expect(browser.cookies.has('session')).toBe(true);

    const offsite = await new Browser(env.manager).request(
      'POST',
      '/api/v1/auth/login-form',
      form({ username: 'pia', password: PASSWORD, next: '//evil.example.com' }),
      FORM_HEADERS
    );
    expect(offsite.headers.location).toBe('/');
    const bad = await new Browser(env.manager).request('POST', '/api/v1/auth/login-form', form({ username: 'pia', password: 'nope' }), FORM_HEADERS);
    expect([bad.statusCode, bad.headers.location]).toEqual([303, '/login?error=invalid']);
    const malformed = await new Browser(env.manager).request('POST', '/api/v1/auth/login-form', form({ username: 'x'.repeat(200) }), FORM_HEADERS);
    expect([malformed.statusCode, malformed.headers.location]).toEqual([303, '/login?error=invalid']);

    for (let i = 0; i < 5; i++) {
      await new Browser(env.manager).request('POST', '/api/v1/auth/login-form', form({ username: 'pia', password: 'nope' }), {
        ...FORM_HEADERS,
        'x-test-ip': '10.7.7.7'
      });
    }
    const limited = await new Browser(env.manager).request('POST', '/api/v1/auth/login-form', form({ username: 'pia', password: PASSWORD }), {
      ...FORM_HEADERS,
      'x-test-ip': '10.7.7.7'
    });
    expect(limited.headers.location).toBe('/login?error=rate_limited');
  });

  it('ends a session after its idle time and after its absolute lifetime', async () => {
    const idle = new Browser(env.manager);
    await idle.login('pia');
    const absolute = new Browser(env.manager);
    await absolute.login('pia');
    const [first, second] = await env.manager.context.db('auth_sessions').orderBy('created_at').select('id');
    await env.manager.context
      .db('auth_sessions')
      .where({ id: first.id })
      .update({ last_seen_at: new Date(Date.now() - 9 * 3_600_000).toISOString() });
    await env.manager.context
      .db('auth_sessions')
      .where({ id: second.id })
      .update({ expires_at: new Date(Date.now() - 1000).toISOString() });
    const results = [(await idle.request('GET', '/api/v1/auth/me')).statusCode, (await absolute.request('GET', '/api/v1/auth/me')).statusCode];
    expect(results.sort()).toEqual([401, 401]);
    expect(await env.manager.context.db('auth_sessions').count({ n: '*' })).toEqual([{ n: 0 }]);
  });
});

describe('cookies behind HTTPS', () => {
  it('marks both cookies Secure when the manager is told it sits behind HTTPS', async () => {
    const database = await createTestDatabase('sqlite');
    const manager = await createManager({ config: testConfig(database, { behind_https: true }), plugins: [users, auth] });
    await manager.initialize();
    await seedUser(manager, 'quin', 'viewer');
    const res = await new Browser(manager).login('quin');
    const cookies = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
    expect(cookies.filter((c) => /^(session|csrf_token)=/.test(c))).toHaveLength(2);
    for (const cookie of cookies.filter((c) => /^(session|csrf_token)=/.test(c))) expect(cookie).toMatch(/; Secure/);
    await manager.stop();
    await database.cleanup();
  });
});
