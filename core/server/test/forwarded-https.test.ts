import { createTestDatabase, testConfig, type TestDatabase } from '@bilbycast/tests';
import type { Plugin } from '@hapi/hapi';
import { createManager, type Manager } from '../src';
import { forwardedHttpsResolver } from '../src/http/client-address';

const PROXIES = ['10.0.0.4', '10.0.0.5', 'fd00::1'];

describe('forwarded HTTPS', () => {
  const proxied = forwardedHttpsResolver(true, PROXIES);

  it('is believed only from a trusted proxy, with trust_proxy_header on', () => {
    expect(proxied('10.0.0.5', 'https')).toBe(true);
    expect(proxied('::ffff:10.0.0.5', 'https')).toBe(true);
    expect(proxied('fd00::1', 'https')).toBe(true);
    expect(proxied('192.0.2.50', 'https')).toBe(false);
    expect(proxied('10.0.0.6', 'https')).toBe(false);
    expect(forwardedHttpsResolver(false, PROXIES)('10.0.0.5', 'https')).toBe(false);
  });

  it('takes the last value (the nearest proxy), https only, in any case', () => {
    expect(proxied('10.0.0.5', 'HTTPS')).toBe(true);
    expect(proxied('10.0.0.5', 'http, https')).toBe(true);
    expect(proxied('10.0.0.5', ['http', ' https '])).toBe(true);
    expect(proxied('10.0.0.5', 'https, http')).toBe(false);
    expect(proxied('10.0.0.5', 'http')).toBe(false);
    expect(proxied('10.0.0.5', 'wss')).toBe(false);
    expect(proxied('10.0.0.5', '')).toBe(false);
    expect(proxied('10.0.0.5', undefined)).toBe(false);
  });
});

/** Sets a cookie whose definition says it is not Secure, and tells what the core made of the request. */
const cookieSetter: Plugin<unknown> = {
  name: 'cookie-setter',
  register(server) {
    server.state('plain', { isSecure: false, isHttpOnly: true, isSameSite: 'Lax', path: '/' });
    server.route({
      method: 'GET',
      path: '/cookie',
      options: { auth: false, plugins: { bilbycast: { access: 'public' } } },
      handler: (request, h) => h.response({ forwardedHttps: request.forwardedHttps }).state('plain', 'value')
    });
  }
};

describe('cookies on a request a trusted proxy received over HTTPS', () => {
  let database: TestDatabase;
  let manager: Manager;
  beforeEach(async () => {
    database = await createTestDatabase('sqlite');
    manager = await createManager({ config: testConfig(database, { trust_proxy_header: true, trusted_proxies: PROXIES }), plugins: [cookieSetter] });
    await manager.initialize();
  });
  afterEach(async () => {
    await manager.stop();
    await database.cleanup();
  });

  const fetchCookie = async (remoteAddress: string, forwardedProto: string) => {
    const res = await manager.server.inject({ url: '/cookie', headers: { 'x-forwarded-proto': forwardedProto }, remoteAddress });
    return { forwardedHttps: (res.result as { forwardedHttps: boolean }).forwardedHttps, cookie: String(res.headers['set-cookie']) };
  };

  it('are marked Secure whatever their definition says', async () => {
    const { forwardedHttps, cookie } = await fetchCookie('10.0.0.5', 'https');
    expect(forwardedHttps).toBe(true);
    expect(cookie).toBe('plain=value; Secure; HttpOnly; SameSite=Lax; Path=/');
  });

  it('are left alone when the header comes from anyone else or says http', async () => {
    for (const [peer, proto] of [
      ['192.0.2.50', 'https'],
      ['10.0.0.5', 'http']
    ]) {
      const { forwardedHttps, cookie } = await fetchCookie(peer, proto);
      expect(forwardedHttps).toBe(false);
      expect(cookie).toBe('plain=value; HttpOnly; SameSite=Lax; Path=/');
    }
  });
});
