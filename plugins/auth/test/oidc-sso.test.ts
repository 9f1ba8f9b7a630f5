import { createManager, type Manager } from '@bilbycast/core';
import { createTestDatabase, signInAtOidcProvider, startOidcProvider, testConfig, testDatabases, type OidcTestProvider, type TestDatabase } from '@bilbycast/tests';
import users from '@bilbycast/users';
import auth from '../src';
import { OidcAccounts, type OidcOutcome } from '../src/services/oidc-accounts';
import { Browser, seedUser } from './auth-harness';

// The provider redirects the "browser" here; tests replay that request with server.inject.
const REDIRECT = 'http://127.0.0.1:9/api/v1/auth/oidc/callback';

describe.each(testDatabases())('OIDC single sign-on on %s', (kind) => {
  let provider: OidcTestProvider;
  let database: TestDatabase;
  let manager: Manager;

  beforeAll(async () => {
    provider = await startOidcProvider({
      redirectUris: [REDIRECT],
      tokenEndpointAuthMethod: 'client_secret_post',
      accounts: [
        { sub: 'alice-sub', email: 'alice@example.com', email_verified: true, name: 'Alice', groups: ['staff', 'broadcast-admins'] },
        { sub: 'bob-sub', email: 'bob@example.com', email_verified: false, name: 'Bob' },
        { sub: 'carol-sub', email: 'carol@example.com', email_verified: true, name: 'Carol' }
      ]
    });
  });
  afterAll(() => provider.stop());

  beforeEach(async () => {
    database = await createTestDatabase(kind);
    manager = await createManager({
      config: testConfig(database),
      plugins: [
        users,
        {
          plugin: auth,
          options: {
            oidc: {
              issuer: provider.issuer,
              client_id: provider.clientId,
              redirect_url: REDIRECT,
              scopes: ['openid', 'email', 'profile', 'groups'],
              label: 'Company SSO',
              role_claim: 'groups',
              role_map: { 'broadcast-admins': 'admin', staff: 'operator' }
            }
          }
        }
      ]
    });
    await manager.initialize();
    await seedUser(manager, 'root', 'super_admin');
    await seedUser(manager, 'alice', 'viewer', { email: 'Alice@Example.com' });
    await seedUser(manager, 'bob', 'viewer', { email: 'bob@example.com' });
  });
  afterEach(async () => {
    await manager.stop();
    await database.cleanup();
  });

  async function configureSecret(secret = provider.clientSecret) {
    const admin = new Browser(manager);
    await admin.login('root');
    const res = await admin.request('PUT', '/api/v1/auth/oidc/client-secret', { client_secret: secret });
    expect(res.statusCode).toBe(200);
  }

  /** Starts SSO in `browser`, signs in at the provider as `accountId`, and returns the callback URL. */
  async function throughProvider(browser: Browser, accountId: string, next = '/nodes'): Promise<URL> {
    const start = await browser.request('GET', `/api/v1/auth/oidc/login?next=${encodeURIComponent(next)}`);
    expect(start.statusCode).toBe(302);
    const location = String(start.headers.location);
    expect(location.startsWith(provider.issuer)).toBe(true);
    const url = new URL(location);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('nonce')).toBeTruthy();
    expect(url.searchParams.get('state')).toBeTruthy();
    return signInAtOidcProvider(location, { accountId });
  }

  const callback = (browser: Browser, url: URL) => browser.request('GET', `${url.pathname}${url.search}`);

  it('is disabled until the client secret is set, which is stored encrypted and never returned', async () => {
    expect((await manager.server.inject('/api/v1/auth/oidc/status')).result).toEqual({ enabled: false, label: 'Company SSO' });
    await configureSecret();
    expect((await manager.server.inject('/api/v1/auth/oidc/status')).result).toEqual({ enabled: true, label: 'Company SSO' });
    const stored = await manager.context.db('auth_oidc_client').first();
    expect(stored.client_secret).toMatch(/^bcsec:v1:/);
    expect(stored.client_secret).not.toContain(provider.clientSecret);
    const admin = new Browser(manager);
    await admin.login('root');
    const config = await admin.request('GET', '/api/v1/auth/oidc/config');
    expect(config.result).toMatchObject({ client_id: provider.clientId, client_secret_set: true });
    expect(JSON.stringify(config.result)).not.toContain(provider.clientSecret);
    const viewer = new Browser(manager);
    await viewer.login('alice');
    expect((await viewer.request('PUT', '/api/v1/auth/oidc/client-secret', { client_secret: 'x' })).statusCode).toBe(403);
  });

  it('signs in, binds the account by verified email, maps the role, and returns to next', async () => {
    await configureSecret();
    const browser = new Browser(manager);
    const back = await throughProvider(browser, 'alice-sub');
    const done = await callback(browser, back);
    expect(done.statusCode).toBe(303);
    expect(done.headers.location).toBe('/nodes');
    const me = await browser.request('GET', '/api/v1/auth/me');
    expect(me.statusCode).toBe(200);
    expect(me.result).toMatchObject({ username: 'alice', role: 'admin' });
    const binding = await manager.context.db('auth_oidc_identities').where({ subject: 'alice-sub' }).first();
    expect(binding).toMatchObject({ issuer: provider.issuer });
    const actions = (await manager.context.db('audit_log').select('action')).map((r) => r.action);
    expect(actions).toEqual(expect.arrayContaining(['auth.oidc_bind', 'auth.login']));
    // Local login keeps working.
    expect((await new Browser(manager).login('alice')).statusCode).toBe(200);
  });

  it('refuses a forged state, a nonce from another login, an unverified email and an unknown account', async () => {
    await configureSecret();
    const forged = new Browser(manager);
    const back = await throughProvider(forged, 'alice-sub');
    back.searchParams.set('state', 'forged-state-value');
    const refused = await callback(forged, back);
    expect(refused.statusCode).toBe(303);
    expect(refused.headers.location).toBe('/login?error=sso_failed');
    expect(forged.cookies.has('session')).toBe(false);

    // A nonce cookie from a second, unrelated login does not match this login's ID token.
    const victim = new Browser(manager);
    const victimBack = await throughProvider(victim, 'alice-sub');
    const other = new Browser(manager);
    await other.request('GET', '/api/v1/auth/oidc/login');
    victim.cookies.set('bilbycast_oidc_nonce', other.cookies.get('bilbycast_oidc_nonce')!);
    const mismatch = await callback(victim, victimBack);
    expect(mismatch.headers.location).toBe('/login?error=sso_failed');
    expect(victim.cookies.has('session')).toBe(false);

    const bob = new Browser(manager);
    expect((await callback(bob, await throughProvider(bob, 'bob-sub'))).headers.location).toBe('/login?error=sso_failed');
    const carol = new Browser(manager);
    expect((await callback(carol, await throughProvider(carol, 'carol-sub'))).headers.location).toBe('/login?error=sso_no_account');

    const reasons = (await manager.context.db('audit_log').where({ action: 'auth.oidc_failed' })).map((r) => JSON.parse(r.details).reason);
    expect(reasons).toEqual(expect.arrayContaining(['provider', 'nonce_mismatch', 'email_not_verified', 'no_account']));
  });

  it('keeps the role of the last active super_admin instead of demoting them through the role map, and audits it', async () => {
    await configureSecret();
    const { db } = manager.context;
    await db('users').where({ username_key: 'alice' }).update({ role: 'super_admin' });
    await db('users').where({ username_key: 'root' }).update({ role: 'admin' });
    const signIn = async () => {
      const browser = new Browser(manager);
      expect((await callback(browser, await throughProvider(browser, 'alice-sub'))).headers.location).toBe('/nodes');
      return (await browser.request('GET', '/api/v1/auth/me')).result;
    };
    expect(await signIn()).toMatchObject({ username: 'alice', role: 'super_admin' });
    const refused = await db('audit_log').where({ action: 'auth.oidc_role_refused' });
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ username: 'alice', outcome: 'failure' });
    expect(JSON.parse(refused[0].details)).toEqual({ role: 'super_admin', mapped_role: 'admin', reason: 'last_super_admin' });
    // With another active super_admin, the mapping applies as before.
    await db('users').where({ username_key: 'root' }).update({ role: 'super_admin' });
    expect(await signIn()).toMatchObject({ username: 'alice', role: 'admin' });
  });

  it('keeps subjects that differ only in letter case apart (they are case-sensitive), on both databases', async () => {
    const { db } = manager.context;
    const first = await seedUser(manager, 'case-one', 'viewer');
    const second = await seedUser(manager, 'case-two', 'viewer');
    const issuer = 'https://idp.case.example';
    await db('auth_oidc_identities').insert({ issuer, subject: 'Case-Sub', user_id: first, created_at: new Date().toISOString() });
    await db('auth_oidc_identities').insert({ issuer, subject: 'case-sub', user_id: second, created_at: new Date().toISOString() });
    expect((await db('auth_oidc_identities').where({ issuer, subject: 'case-sub' })).map((r) => r.user_id)).toEqual([second]);
    expect(await db('auth_oidc_identities').where({ issuer, subject: 'CASE-SUB' })).toHaveLength(0);
  });

  it('binds no account when several users share the verified email, and says so as for an unknown account', async () => {
    await configureSecret();
    await seedUser(manager, 'carol', 'viewer', { email: 'carol@example.com' });
    await seedUser(manager, 'carol.b', 'admin', { email: 'Carol@Example.com' });
    const browser = new Browser(manager);
    expect((await callback(browser, await throughProvider(browser, 'carol-sub'))).headers.location).toBe('/login?error=sso_no_account');
    expect(browser.cookies.has('session')).toBe(false);
    expect(await manager.context.db('auth_oidc_identities').where({ subject: 'carol-sub' })).toHaveLength(0);
    const reasons = (await manager.context.db('audit_log').where({ action: 'auth.oidc_failed' })).map((r) => JSON.parse(r.details).reason);
    expect(reasons).toEqual(['ambiguous_email']);
  });

  it('takes a binding made meanwhile by a concurrent first login of the same subject, creating no second user', async () => {
    const { db, secrets, audit } = manager.context;
    const settings = { issuer: provider.issuer, client_id: provider.clientId, redirect_url: REDIRECT, scopes: ['openid'], label: 'SSO', role_map: {}, default_role: 'viewer' as const };
    for (const [auto_create, sub, email] of [[false, 'alice-sub', 'alice@example.com'], [true, 'dana-sub', 'dana@example.com']] as const) {
      const accounts = new OidcAccounts(db, secrets, audit, { ...settings, auto_create });
      const claims = { sub, email, email_verified: true, name: 'Someone' };
      const lookup = accounts.usersByEmail.bind(accounts);
      let first: OidcOutcome | undefined;
      // The other login runs to completion between this one's email lookup and its binding.
      jest.spyOn(accounts, 'usersByEmail').mockImplementationOnce(async (address) => {
        const found = await lookup(address);
        first = await accounts.resolve(claims, '127.0.0.1');
        return found;
      });
      const second = await accounts.resolve(claims, '127.0.0.1');
      expect(first).toHaveProperty('user.id');
      expect(second).toEqual(first);
      expect(await db('auth_oidc_identities').where({ subject: sub })).toHaveLength(1);
      expect(await db('users').whereRaw('lower(email) = ?', [email])).toHaveLength(1);
      expect(await db('audit_log').where({ action: 'auth.oidc_bind' }).andWhere('details', 'like', `%${sub}%`)).toHaveLength(1);
    }
  });

  it('creates an account for a verified email with auto_create, with the default role, and reuses its binding', async () => {
    const { config } = manager.context;
    await manager.stop();
    manager = await createManager({
      config,
      plugins: [
        users,
        { plugin: auth, options: { oidc: { issuer: provider.issuer, client_id: provider.clientId, redirect_url: REDIRECT, auto_create: true, default_role: 'operator' } } }
      ]
    });
    await manager.initialize();
    await configureSecret();
    for (let round = 0; round < 2; round++) {
      const carol = new Browser(manager);
      const done = await callback(carol, await throughProvider(carol, 'carol-sub', '/'));
      expect(done.headers.location).toBe('/');
      expect((await carol.request('GET', '/api/v1/auth/me')).result).toMatchObject({ username: 'carol', email: 'carol@example.com', role: 'operator', display_name: 'Carol' });
    }
    expect(await manager.context.db('users').where({ username_key: 'carol' })).toHaveLength(1);
    expect(await manager.context.db('auth_oidc_identities').where({ subject: 'carol-sub' })).toHaveLength(1);
  });
});
