import { createManager, type Manager } from '@bilbycast/core';
import { LogCapture, createTestDatabase, testConfig, testDatabases, type TestDatabase } from '@bilbycast/tests';
import users from '@bilbycast/users';
import auth from '../src';
import { MFA_FAILURES_PER_USER } from '../src/services/login-limits';
import { currentTotp } from '../src/services/totp';
import { Browser, PASSWORD, seedUser } from './auth-harness';

const STEP_MS = 30_000;
const COOKIE = 'bilbycast_mfa_challenge';
const FORM_HEADERS = { 'content-type': 'application/x-www-form-urlencoded' };
/** What a challenge token looks like (`mfa_` and 32 random bytes in base64url). */
const CHALLENGE_TOKEN = /mfa_[A-Za-z0-9_-]{40,}/;

const setCookie = (res: { headers: Record<string, unknown> }, name: string) =>
  ([] as string[]).concat((res.headers['set-cookie'] as string[] | string | undefined) ?? []).find((c) => c.startsWith(`${name}=`));

describe.each(testDatabases())('the form login of an MFA user on %s', (kind) => {
  let database: TestDatabase;
  let manager: Manager;
  let logs: LogCapture;
  let secret: string;

  beforeEach(async () => {
    database = await createTestDatabase(kind);
    logs = new LogCapture();
    // Request logging on, to check what it records.
    manager = await createManager({ config: testConfig(database, { log_level: 'info' }), plugins: [users, auth], logDestination: logs });
    await manager.initialize();
    await seedUser(manager, 'mona', 'operator');
    const enrolling = new Browser(manager);
    await enrolling.login('mona');
    secret = ((await enrolling.request('POST', '/api/v1/auth/mfa/totp/setup')).result as { secret: string }).secret;
    expect((await enrolling.request('POST', '/api/v1/auth/mfa/totp/confirm', { code: await currentTotp(secret) })).statusCode).toBe(200);
  });
  afterEach(async () => {
    await manager.stop();
    await database.cleanup();
  });

  /** A browser past the password step of the form login, on its way to `next`. */
  async function passwordStep(next = '/events', headers: Record<string, string> = {}) {
    const browser = new Browser(manager);
    const res = await browser.request('POST', '/api/v1/auth/login-form', new URLSearchParams({ username: 'mona', password: PASSWORD, next }).toString(), {
      ...FORM_HEADERS,
      ...headers
    });
    return { browser, res };
  }
  const verify = (browser: Browser, payload: object, headers: Record<string, string> = {}) =>
    browser.request('POST', '/api/v1/auth/mfa/verify', payload, headers);
  const nextCode = () => currentTotp(secret, new Date(Date.now() + STEP_MS));

  it('goes to the code step with the challenge in a sealed HttpOnly cookie, in no URL or log line; a TOTP then signs in and goes to next', async () => {
    const { browser, res } = await passwordStep('/events');
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/login?step=mfa');
    expect(browser.cookies.has('session')).toBe(false);
    const cookie = setCookie(res, COOKIE)!;
    expect(cookie).toMatch(/^bilbycast_mfa_challenge=Fe26\.2\*/); // iron-sealed
    for (const attribute of ['HttpOnly', 'SameSite=Strict', 'Path=/api/v1/auth/mfa/verify', 'Max-Age=300']) expect(cookie).toContain(`; ${attribute}`);
    expect(cookie).not.toMatch(CHALLENGE_TOKEN);
    const sealed = browser.cookies.get(COOKIE)!;

    // A wrong code keeps the user on the code step, cookie and all.
    const wrong = await verify(browser, { code: '000000' });
    expect([wrong.statusCode, (wrong.result as { error_code: string }).error_code]).toEqual([401, 'invalid_code']);
    expect(setCookie(wrong, COOKIE)).toBeUndefined();

    const ok = await verify(browser, { code: await nextCode() });
    expect(ok.statusCode).toBe(200);
    expect(ok.result).toMatchObject({ user: { username: 'mona', mfa_enabled: true }, csrf_token: expect.any(String), next: '/events' });
    expect(browser.cookies.has('session')).toBe(true);
    expect(browser.cookies.has(COOKIE)).toBe(false);
    expect((await browser.request('GET', '/api/v1/auth/me')).statusCode).toBe(200);
    // The challenge is used up: the old cookie is refused and cleared.
    const replay = await new Browser(manager).request('POST', '/api/v1/auth/mfa/verify', { code: await nextCode() }, { cookie: `${COOKIE}=${sealed}` });
    expect([replay.statusCode, (replay.result as { error_code: string }).error_code]).toEqual([401, 'invalid_challenge']);
    expect(setCookie(replay, COOKIE)).toMatch(/Max-Age=0/);

    // The request log saw the redirect (its Location included) and never the challenge.
    const redirect = logs.entries().find((e) => (e.req as { url?: string } | undefined)?.url === '/api/v1/auth/login-form');
    expect((redirect?.res as { headers?: Record<string, string> } | undefined)?.headers?.location).toBe('/login?step=mfa');
    expect(logs.text).not.toMatch(CHALLENGE_TOKEN);
    expect(logs.text).not.toContain(sealed);
  });

  it('sends a missing, expired or forged challenge back to the password step (401 invalid_challenge) and clears its cookie', async () => {
    const none = await verify(new Browser(manager), { code: await nextCode() });
    expect([none.statusCode, (none.result as { error_code: string }).error_code]).toEqual([401, 'invalid_challenge']);

    const expired = await passwordStep();
    await manager.context.db('auth_mfa_challenges').update({ expires_at: new Date(Date.now() - 1000).toISOString() });
    const late = await verify(expired.browser, { code: await nextCode() });
    expect([late.statusCode, (late.result as { error_code: string }).error_code]).toEqual([401, 'invalid_challenge']);
    expect(expired.browser.cookies.has(COOKIE)).toBe(false);

    const forged = new Browser(manager);
    forged.cookies.set(COOKIE, 'Fe26.2**not-a-sealed-challenge');
    const refused = await verify(forged, { code: await nextCode() });
    expect([refused.statusCode, (refused.result as { error_code: string }).error_code]).toEqual([401, 'invalid_challenge']);
    expect(forged.cookies.has(COOKIE)).toBe(false);
    expect(await manager.context.db('auth_sessions')).toHaveLength(1); // only the enrolment's
  });

  it('a pending code step ends with Back (its challenge too) and with any other sign-in in the browser', async () => {
    // Back: the challenge row goes, so the cookie is no use even if copied.
    const first = await passwordStep();
    const sealed = first.browser.cookies.get(COOKIE)!;
    const cancelled = await first.browser.request('DELETE', '/api/v1/auth/mfa/verify');
    expect(cancelled.statusCode).toBe(204);
    expect(first.browser.cookies.has(COOKIE)).toBe(false);
    first.browser.cookies.set(COOKIE, sealed);
    expect((await verify(first.browser, { code: await nextCode() })).result).toMatchObject({ error_code: 'invalid_challenge' });
    expect(first.browser.cookies.has(COOKIE)).toBe(false);

    // The next person at a shared browser signs in (or fails to): mona's code step is over.
    await seedUser(manager, 'nils', 'viewer');
    for (const login of [
      (b: Browser) => b.login('nils', 'Wrong-Passw0rd'),
      (b: Browser) => b.login('nils'),
      (b: Browser) => b.request('POST', '/api/v1/auth/login-form', new URLSearchParams({ username: 'nils', password: PASSWORD }).toString(), FORM_HEADERS)
    ]) {
      const { browser } = await passwordStep();
      expect(browser.cookies.has(COOKIE)).toBe(true);
      await login(browser);
      expect(browser.cookies.has(COOKIE)).toBe(false);
    }
  });

  it('an unreadable or duplicated challenge cookie is cleared with the refusal', async () => {
    const { browser } = await passwordStep();
    const res = await manager.server.inject({
      method: 'POST',
      url: '/api/v1/auth/mfa/verify',
      payload: { code: await nextCode() },
      headers: { cookie: `${COOKIE}=${browser.cookies.get(COOKIE)}; ${COOKIE}=${browser.cookies.get(COOKIE)}` }
    });
    expect(res.result).toMatchObject({ error_code: 'invalid_challenge' });
    expect(setCookie(res, COOKIE)).toMatch(/Max-Age=0|Expires=Thu, 01 Jan 1970/);
  });

  it('counts wrong codes towards the same per-user limit as the JSON code step', async () => {
    const { browser } = await passwordStep();
    for (let i = 0; i < MFA_FAILURES_PER_USER; i++) expect((await verify(browser, { code: '000000' })).statusCode).toBe(401);
    const limited = await verify(browser, { code: await nextCode() });
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBeDefined();
    expect(browser.cookies.has('session')).toBe(false);
    // The limit is the user's, whichever way the challenge comes.
    const { challenge_token } = (await new Browser(manager).login('mona')).result as { challenge_token: string };
    expect((await verify(new Browser(manager), { challenge_token, code: await nextCode() })).statusCode).toBe(429);
  });

  it('refuses both steps from another site (login CSRF) and answers malformed input with a 4xx', async () => {
    const crossSite = await passwordStep('/events', { origin: 'https://evil.example' });
    expect([crossSite.res.statusCode, (crossSite.res.result as { error_code: string }).error_code]).toEqual([403, 'cross_site_request']);
    expect(crossSite.browser.cookies.has(COOKIE)).toBe(false);

    const { browser } = await passwordStep();
    const foreigners: Record<string, string>[] = [{ origin: 'https://evil.example' }, { 'sec-fetch-site': 'cross-site' }];
    for (const foreign of foreigners) {
      const res = await verify(browser, { code: await nextCode() }, foreign);
      expect([res.statusCode, (res.result as { error_code: string }).error_code]).toEqual([403, 'cross_site_request']);
    }
    for (const payload of [{}, { code: '' }, { code: 'x'.repeat(33) }, { code: '123456', challenge_token: 42 }, { code: '123456', extra: true }]) {
      const res = await verify(browser, payload);
      expect([JSON.stringify(payload), res.statusCode]).toEqual([JSON.stringify(payload), 400]);
    }
    // None of that used the challenge up.
    expect((await verify(browser, { code: await nextCode() })).result).toMatchObject({ next: '/events' });
  });
});
