import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createManager, type Manager } from '@bilbycast/core';
import { createTestDatabase, selfSignedCertificate, startOidcProvider, testConfig, testDatabases, type OidcTestProvider } from '@bilbycast/tests';
import users from '@bilbycast/users';
import type { ServerInjectResponse } from '@hapi/hapi';
import auth from '../src';
import { Browser, PASSWORD, authManager, seedUser } from './auth-harness';

const PROXY = '10.0.0.5';
const OUTSIDER = '192.0.2.50';
const PROXIED = { trust_proxy_header: true, trusted_proxies: ['10.0.0.4', PROXY] };
const HSTS = 'max-age=63072000; includeSubDomains';

function setCookies(res: ServerInjectResponse, names: RegExp): string[] {
  return ([] as string[]).concat(res.headers['set-cookie'] ?? []).filter((cookie) => names.test(cookie));
}

/** A password sign-in from `peer` carrying `headers`: the session and csrf cookies it set, and its HSTS header. */
async function signIn(manager: Manager, peer: string, headers: Record<string, string> = {}) {
  const res = await new Browser(manager).request('POST', '/api/v1/auth/login', { username: 'rosa', password: PASSWORD }, { 'x-test-ip': peer, ...headers });
  expect(res.statusCode).toBe(200);
  const cookies = setCookies(res, /^(session|csrf_token)=/);
  expect(cookies).toHaveLength(2);
  return { secure: cookies.map((cookie) => /; Secure(;|$)/.test(cookie)), hsts: res.headers['strict-transport-security'] };
}

const SECURE = { secure: [true, true], hsts: HSTS };
const PLAIN = { secure: [false, false], hsts: undefined };
const SECURE_WITHOUT_HSTS = { secure: [true, true], hsts: undefined };

describe.each(testDatabases())('X-Forwarded-Proto from a trusted proxy on %s', (kind) => {
  let env: Awaited<ReturnType<typeof authManager>> | undefined;
  const start = async (config: Parameters<typeof authManager>[1]) => {
    env = await authManager(kind, config);
    await seedUser(env.manager, 'rosa', 'viewer');
    return env.manager;
  };
  afterEach(async () => {
    await env?.close();
    env = undefined;
  });

  it('marks the session and csrf cookies Secure and sends HSTS on a request the proxy received over HTTPS', async () => {
    const manager = await start(PROXIED);
    expect(await signIn(manager, PROXY, { 'x-forwarded-proto': 'https' })).toEqual(SECURE);
    expect(await signIn(manager, `::ffff:${PROXY}`, { 'x-forwarded-proto': 'HTTPS' })).toEqual(SECURE);
    // Only the last value counts: the one the nearest proxy set or appended.
    expect(await signIn(manager, PROXY, { 'x-forwarded-proto': 'http, https' })).toEqual(SECURE);
    const health = await manager.server.inject({ url: '/health', headers: { 'x-forwarded-proto': 'https' }, remoteAddress: PROXY });
    expect(health.headers['strict-transport-security']).toBe(HSTS);

    // Signing out through the proxy clears the cookies with the same attributes.
    const browser = new Browser(manager);
    await browser.request('POST', '/api/v1/auth/login', { username: 'rosa', password: PASSWORD }, { 'x-test-ip': PROXY, 'x-forwarded-proto': 'https' });
    const out = await browser.request('POST', '/api/v1/auth/logout', undefined, { 'x-test-ip': PROXY, 'x-forwarded-proto': 'https' });
    expect(out.statusCode).toBe(200);
    const cleared = setCookies(out, /^(session|csrf_token)=;/);
    expect(cleared).toHaveLength(2);
    for (const cookie of cleared) expect(cookie).toMatch(/; Secure(;|$)/);
  });

  it('changes nothing when the header comes from a peer that is not a trusted proxy, or the proxy says http last', async () => {
    const manager = await start(PROXIED);
    expect(await signIn(manager, OUTSIDER, { 'x-forwarded-proto': 'https' })).toEqual(PLAIN);
    expect(await signIn(manager, OUTSIDER, { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.7' })).toEqual(PLAIN);
    // A client's own "https" is to the left of what the proxy appends.
    expect(await signIn(manager, PROXY, { 'x-forwarded-proto': 'https, http' })).toEqual(PLAIN);
    expect(await signIn(manager, PROXY, { 'x-forwarded-proto': 'https-ish' })).toEqual(PLAIN);
    expect(await signIn(manager, PROXY)).toEqual(PLAIN);
  });

  it('changes nothing with trust_proxy_header off, even from a listed proxy', async () => {
    const manager = await start({ trusted_proxies: [PROXY] });
    expect(await signIn(manager, PROXY, { 'x-forwarded-proto': 'https' })).toEqual(PLAIN);
  });

  it('keeps behind_https as it was: Secure cookies on every request, no HSTS', async () => {
    const manager = await start({ behind_https: true });
    expect(await signIn(manager, OUTSIDER)).toEqual(SECURE_WITHOUT_HSTS);
    expect(await signIn(manager, OUTSIDER, { 'x-forwarded-proto': 'https' })).toEqual(SECURE_WITHOUT_HSTS);
  });

  it('keeps TLS as it was: Secure cookies and HSTS on every request', async () => {
    const certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bilbycast-cert-'));
    try {
      const { cert, key } = selfSignedCertificate(certDir);
      const manager = await start({ tls_cert: cert, tls_key: key });
      expect(await signIn(manager, OUTSIDER)).toEqual(SECURE);
      expect(await signIn(manager, OUTSIDER, { 'x-forwarded-proto': 'http' })).toEqual(SECURE);
    } finally {
      fs.rmSync(certDir, { recursive: true, force: true });
    }
  });
});

describe('single sign-on cookies through a trusted proxy', () => {
  const REDIRECT = 'http://127.0.0.1:9/api/v1/auth/oidc/callback';
  let provider: OidcTestProvider;
  beforeAll(async () => {
    provider = await startOidcProvider({ redirectUris: [REDIRECT], tokenEndpointAuthMethod: 'client_secret_post', accounts: [] });
  });
  afterAll(() => provider.stop());

  it("marks bell's state cookie and the nonce cookie Secure only on requests the proxy received over HTTPS", async () => {
    const database = await createTestDatabase('sqlite');
    const oidc = { issuer: provider.issuer, client_id: provider.clientId, redirect_url: REDIRECT };
    const manager = await createManager({ config: testConfig(database, PROXIED), plugins: [users, { plugin: auth, options: { oidc } }] });
    try {
      await manager.initialize();
      const startSso = async (peer: string) => {
        const res = await manager.server.inject({ url: '/api/v1/auth/oidc/login', headers: { 'x-forwarded-proto': 'https' }, remoteAddress: peer });
        expect(res.statusCode).toBe(302);
        const cookies = setCookies(res, /^bilbycast_oidc_(state|nonce)=/);
        expect(cookies).toHaveLength(2);
        return cookies.map((cookie) => /; Secure(;|$)/.test(cookie));
      };
      expect(await startSso(PROXY)).toEqual([true, true]);
      expect(await startSso(OUTSIDER)).toEqual([false, false]);
    } finally {
      await manager.stop();
      await database.cleanup();
    }
  });
});
