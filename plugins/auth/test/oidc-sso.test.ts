import { createManager, type Manager } from '@bilbycast/core';
import {
  createTestDatabase,
  signInAtOidcProvider,
  startOidcProvider,
  testConfig,
  testDatabases,
  type OidcTestProvider,
  type TestDatabase
} from '@bilbycast/tests';
import users from '@bilbycast/users';
import auth from '../src';
import { OidcAccounts, type OidcOutcome } from '../src/services/oidc-accounts';
import { SsoIdentityStore } from '../src/services/sso-identities';
import { currentTotp } from '../src/services/totp';
import { Browser, PASSWORD, seedUser } from './auth-harness';

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

  /** Asks to link in `browser` (with `proof`); the URL that starts the link flow. */
  async function startLink(browser: Browser, proof: object = { current_password: PASSWORD }): Promise<string> {
    const started = await browser.request('POST', '/api/v1/auth/sso-identities/link', proof);
    expect(started.statusCode).toBe(200);
    const location = (started.result as { location: string }).location;
    expect(location).toMatch(/^\/api\/v1\/auth\/oidc\/login\?next=%2Faccount&link=[\w-]{22}$/);
    return location;
  }

  /** Goes through the provider as `accountId` from `startUrl`; the manager's answer to the callback. */
  async function flow(browser: Browser, startUrl: string, accountId: string) {
    const start = await browser.request('GET', startUrl);
    expect(start.statusCode).toBe(302);
    return callback(browser, await signInAtOidcProvider(String(start.headers.location), { accountId }));
  }

  /** Links the provider account `accountId` to the user signed in in `browser`; the final redirect. */
  async function linkThroughProvider(browser: Browser, accountId: string, proof?: object) {
    return flow(browser, await startLink(browser, proof), accountId);
  }

  it('never links an account by its email: a first SSO login of a matching email is refused, and binds nothing', async () => {
    await configureSecret();
    const browser = new Browser(manager);
    const done = await callback(browser, await throughProvider(browser, 'alice-sub'));
    expect(done.headers.location).toBe('/login?error=sso_not_linked');
    expect(browser.cookies.has('session')).toBe(false);
    expect(await manager.context.db('auth_oidc_identities')).toHaveLength(0);
    const refused = await manager.context.db('audit_log').where({ action: 'auth.oidc_failed' });
    expect(refused.map((r) => JSON.parse(r.details).reason)).toEqual(['not_linked']);
  });

  it("cannot be used to take over an account by setting its email to an attacker's identity provider email", async () => {
    await configureSecret();
    // The attacker controls `carol-sub` at the provider and, somehow, the victim's email field.
    await manager.context.db('users').where({ username_key: 'root' }).update({ email: 'carol@example.com' });
    const attacker = new Browser(manager);
    expect((await callback(attacker, await throughProvider(attacker, 'carol-sub'))).headers.location).toBe('/login?error=sso_not_linked');
    expect(attacker.cookies.has('session')).toBe(false);
    expect(await manager.context.db('auth_oidc_identities')).toHaveLength(0);
  });

  it('links an identity by an explicit act of the signed-in user, who then signs in with it, with the mapped role', async () => {
    await configureSecret();
    const alice = new Browser(manager);
    await alice.login('alice');
    expect((await alice.request('GET', '/api/v1/auth/sso-identities')).result).toEqual([]);
    const linked = await linkThroughProvider(alice, 'alice-sub');
    expect(linked.statusCode).toBe(303);
    expect(linked.headers.location).toBe('/account?sso=linked');
    // Linking signs nobody in anew: the same session goes on, and the intent is used up.
    expect(alice.cookies.has('bilbycast_oidc_link')).toBe(false);
    expect((await alice.request('GET', '/api/v1/auth/me')).result).toMatchObject({ username: 'alice', role: 'viewer' });
    const identities = (await alice.request('GET', '/api/v1/auth/sso-identities')).result as { issuer: string; subject: string }[];
    expect(identities).toEqual([{ issuer: provider.issuer, subject: 'alice-sub', source: 'user', created_at: expect.any(String) }]);
    const audit = await manager.context.db('audit_log').where({ action: 'auth.oidc_link' });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ username: 'alice' });
    expect(JSON.parse(audit[0].details)).toEqual({ issuer: provider.issuer, subject: 'alice-sub', source: 'user' });

    const sso = new Browser(manager);
    const done = await callback(sso, await throughProvider(sso, 'alice-sub'));
    expect(done.headers.location).toBe('/nodes');
    expect((await sso.request('GET', '/api/v1/auth/me')).result).toMatchObject({ username: 'alice', role: 'admin' });
    // Local login keeps working.
    expect((await new Browser(manager).login('alice')).statusCode).toBe(200);
  });

  it('asks for every factor the account has — the password even in a fresh session, and a code with MFA — and refuses API tokens and an unconfigured provider', async () => {
    const alice = new Browser(manager);
    await alice.login('alice');
    // No client secret yet: single sign-on is not available.
    const unconfigured = await alice.request('POST', '/api/v1/auth/sso-identities/link', {});
    expect([unconfigured.statusCode, (unconfigured.result as { error_code: string }).error_code]).toEqual([409, 'sso_not_configured']);
    await configureSecret();
    // A fresh session is not enough (it may be a stolen cookie).
    const fresh = await alice.request('POST', '/api/v1/auth/sso-identities/link', {});
    expect([fresh.statusCode, (fresh.result as { error_code: string }).error_code]).toEqual([403, 'reauthentication_required']);
    expect(alice.cookies.has('bilbycast_oidc_link')).toBe(false);
    const wrong = await alice.request('POST', '/api/v1/auth/sso-identities/link', { current_password: 'Not-it-1' });
    expect([wrong.statusCode, (wrong.result as { error_code: string }).error_code]).toEqual([400, 'wrong_password']);

    // With MFA on, a code too.
    const { secret } = (await alice.request('POST', '/api/v1/auth/mfa/totp/setup', {})).result as { secret: string };
    expect((await alice.request('POST', '/api/v1/auth/mfa/totp/confirm', { code: await currentTotp(secret) })).statusCode).toBe(200);
    const noCode = await alice.request('POST', '/api/v1/auth/sso-identities/link', { current_password: PASSWORD });
    expect([noCode.statusCode, (noCode.result as { error_code: string }).error_code]).toEqual([403, 'mfa_code_required']);
    const badCode = await alice.request('POST', '/api/v1/auth/sso-identities/link', { current_password: PASSWORD, code: '000000' });
    expect([badCode.statusCode, (badCode.result as { error_code: string }).error_code]).toEqual([400, 'invalid_code']);
    const next = await currentTotp(secret, new Date(Date.now() + 30_000));
    expect((await linkThroughProvider(alice, 'alice-sub', { current_password: PASSWORD, code: next })).headers.location).toBe('/account?sso=linked');

    const created = await alice.request('POST', '/api/v1/auth/tokens', { name: 'script', current_password: PASSWORD });
    expect(created.statusCode).toBe(201);
    const bearer = { authorization: `Bearer ${(created.result as { token: string }).token}` };
    for (const [method, url] of [
      ['GET', '/api/v1/auth/sso-identities'],
      ['POST', '/api/v1/auth/sso-identities/link'],
      ['DELETE', `/api/v1/auth/sso-identities?issuer=${encodeURIComponent(provider.issuer)}&subject=alice-sub`]
    ]) {
      const res = await manager.server.inject({ method, url, headers: bearer, payload: method === 'POST' ? {} : undefined });
      expect([method, url, res.statusCode, (res.result as { error_code: string }).error_code]).toEqual([method, url, 403, 'session_required']);
    }
    expect(await manager.context.db('auth_oidc_identities')).toHaveLength(1);
  });

  it('a passwordless account links with a recent sign-in; the provider is asked for a fresh sign-in', async () => {
    await configureSecret();
    const alice = new Browser(manager);
    await alice.login('alice');
    await manager.context.db('users').where({ username_key: 'alice' }).update({ password_hash: null });
    const start = await alice.request('GET', await startLink(alice, {}));
    expect(new URL(String(start.headers.location)).searchParams.get('prompt')).toBe('login');
    // A plain SSO login does not force the provider's sign-in page.
    expect(new URL(String((await new Browser(manager).request('GET', '/api/v1/auth/oidc/login')).headers.location)).searchParams.get('prompt')).toBeNull();
    await manager.context.db('auth_sessions').update({ created_at: new Date(Date.now() - 3_600_000).toISOString() });
    const stale = await alice.request('POST', '/api/v1/auth/sso-identities/link', {});
    expect([stale.statusCode, (stale.result as { error_code: string }).error_code]).toEqual([403, 'reauthentication_required']);
  });

  it('links only from the flow the link request started: an abandoned intent turns no later SSO login into a link', async () => {
    await configureSecret();
    const alice = new Browser(manager);
    await alice.login('alice');
    await startLink(alice);
    // Later, a login forced on this browser (or a colleague's at a shared desk) with another provider account.
    const later = await callback(alice, await throughProvider(alice, 'carol-sub'));
    expect(later.headers.location).toBe('/login?error=sso_not_linked');
    expect(alice.cookies.has('bilbycast_oidc_link')).toBe(false);
    expect(await manager.context.db('auth_oidc_identities')).toHaveLength(0);
    // Signing out ends an unfinished link too.
    await startLink(alice);
    expect(alice.cookies.has('bilbycast_oidc_link')).toBe(true);
    await alice.request('POST', '/api/v1/auth/logout');
    expect(alice.cookies.has('bilbycast_oidc_link')).toBe(false);
  });

  it('refuses a link whose intent is replayed in another session or outlives its session, and an identity linked to someone else', async () => {
    await configureSecret();
    // The intent cookie names the session that asked: carried into another signed-in browser, it links nothing.
    const alice = new Browser(manager);
    await alice.login('alice');
    const aliceLink = await startLink(alice);
    const root = new Browser(manager);
    await root.login('root');
    root.cookies.set('bilbycast_oidc_link', alice.cookies.get('bilbycast_oidc_link')!);
    const replayed = await flow(root, aliceLink, 'carol-sub');
    expect(replayed.headers.location).toBe('/account?sso_error=link_session_ended');
    // Signed out before the provider answered (the intent kept, as if copied back): nothing is linked either.
    const intent = alice.cookies.get('bilbycast_oidc_link')!;
    await alice.request('POST', '/api/v1/auth/logout');
    alice.cookies.set('bilbycast_oidc_link', intent);
    const ended = await flow(alice, aliceLink, 'carol-sub');
    expect(ended.headers.location).toBe('/account?sso_error=link_session_ended');
    expect(await manager.context.db('auth_oidc_identities')).toHaveLength(0);

    // An identity already linked to alice cannot be linked to bob.
    const alice2 = new Browser(manager);
    await alice2.login('alice');
    expect((await linkThroughProvider(alice2, 'carol-sub')).headers.location).toBe('/account?sso=linked');
    const bob = new Browser(manager);
    await bob.login('bob');
    expect((await linkThroughProvider(bob, 'carol-sub')).headers.location).toBe('/account?sso_error=linked_elsewhere');
    expect((await manager.context.db('auth_oidc_identities')).map((r) => r.subject)).toEqual(['carol-sub']);
    const failures = await manager.context.db('audit_log').where({ action: 'auth.oidc_link_failed' }).orderBy('id');
    expect(failures.map((r) => JSON.parse(r.details).reason)).toEqual(['link_session_ended', 'link_session_ended', 'linked_elsewhere']);
    // Each names the user who asked.
    const ids = Object.fromEntries((await manager.context.db('users').select('id', 'username')).map((u) => [u.username, u.id]));
    expect(failures.map((r) => r.target_id)).toEqual([ids.alice, ids.alice, ids.bob]);
  });

  it('removes an own identity, but not the only way a passwordless account signs in', async () => {
    await configureSecret();
    const { db } = manager.context;
    const alice = new Browser(manager);
    await alice.login('alice');
    await linkThroughProvider(alice, 'alice-sub');
    const query = (subject: string) => `/api/v1/auth/sso-identities?issuer=${encodeURIComponent(provider.issuer)}&subject=${subject}`;
    const missing = await alice.request('DELETE', query('nobody-sub'));
    expect([missing.statusCode, (missing.result as { error_code: string }).error_code]).toEqual([404, 'sso_identity_not_found']);
    // Without a password, the last identity stays.
    await db('users').where({ username_key: 'alice' }).update({ password_hash: null });
    const last = await alice.request('DELETE', query('alice-sub'));
    expect([last.statusCode, (last.result as { error_code: string }).error_code]).toEqual([409, 'last_sign_in_method']);
    expect(await db('auth_oidc_identities')).toHaveLength(1);
    // An identity at another issuer (an old provider) is no way in, so it does not count.
    const aliceId = (await db('users').where({ username_key: 'alice' }).first()).id;
    await db('auth_oidc_identities').insert({
      issuer: 'https://old-idp.example',
      subject: 'alice-old',
      user_id: aliceId,
      source: 'admin',
      created_at: new Date().toISOString()
    });
    expect((await alice.request('DELETE', query('alice-sub'))).statusCode).toBe(409);
    // With a second identity at the provider, one may go.
    await db('auth_oidc_identities').insert({
      issuer: provider.issuer,
      subject: 'alice-2',
      user_id: aliceId,
      source: 'admin',
      created_at: new Date().toISOString()
    });
    expect((await alice.request('DELETE', query('alice-sub'))).statusCode).toBe(204);
    expect((await db('auth_oidc_identities')).map((r) => r.subject).sort()).toEqual(['alice-2', 'alice-old']);
    expect(await db('audit_log').where({ action: 'auth.oidc_unlink' })).toHaveLength(1);
    // The removed identity signs in no more.
    const sso = new Browser(manager);
    expect((await callback(sso, await throughProvider(sso, 'alice-sub'))).headers.location).toBe('/login?error=sso_not_linked');
  });

  it('refuses a forged state, a nonce from another login and an identity linked to nobody', async () => {
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

    const carol = new Browser(manager);
    expect((await callback(carol, await throughProvider(carol, 'carol-sub'))).headers.location).toBe('/login?error=sso_not_linked');

    const reasons = (await manager.context.db('audit_log').where({ action: 'auth.oidc_failed' })).map((r) => JSON.parse(r.details).reason);
    expect(reasons).toEqual(expect.arrayContaining(['provider', 'nonce_mismatch', 'not_linked']));
  });

  it('keeps the role of the last active super_admin instead of demoting them through the role map, and audits it', async () => {
    await configureSecret();
    const { db } = manager.context;
    const alice = await db('users').where({ username_key: 'alice' }).first();
    await db('auth_oidc_identities').insert({ issuer: provider.issuer, subject: 'alice-sub', user_id: alice.id, created_at: new Date().toISOString() });
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

  /** The relying party's account side with auto_create on, on the test manager's database and accounts service. */
  function autoCreatingAccounts() {
    const { db, secrets, audit, services } = manager.context;
    const settings = { issuer: provider.issuer, client_id: provider.clientId, redirect_url: REDIRECT, scopes: ['openid'], label: 'SSO', role_map: {} };
    const users = services.get('accounts')!;
    const accounts = new OidcAccounts(db, secrets, audit, { ...settings, auto_create: true, default_role: 'viewer' }, new SsoIdentityStore(db, users), users);
    return { users, accounts };
  }

  it('with auto_create, takes the user a concurrent first login of the same subject created, creating no second one', async () => {
    const { db } = manager.context;
    const { users, accounts } = autoCreatingAccounts();
    const claims = { sub: 'dana-sub', email: 'dana@example.com', email_verified: true, name: 'Someone' };
    const lookup = users.byEmail.bind(users);
    let first: OidcOutcome | undefined;
    // The other login runs to completion between this one's email lookup and its own user's creation.
    jest.spyOn(users, 'byEmail').mockImplementationOnce(async (address) => {
      const found = await lookup(address);
      first = await accounts.resolve(claims, '127.0.0.1');
      return found;
    });
    const second = await accounts.resolve(claims, '127.0.0.1');
    expect(first).toHaveProperty('user.id');
    expect(second).toEqual(first);
    expect(await db('auth_oidc_identities').where({ subject: 'dana-sub' })).toHaveLength(1);
    expect(await db('users').whereRaw('lower(email) = ?', ['dana@example.com'])).toHaveLength(1);
    expect(await db('audit_log').where({ action: 'auth.oidc_link' }).andWhere('details', 'like', '%dana-sub%')).toHaveLength(1);
  });

  it('with auto_create, two first logins of different subjects with one verified email create one user; the later is refused', async () => {
    const { db } = manager.context;
    const { users, accounts } = autoCreatingAccounts();
    const claims = (sub: string) => ({ sub, email: 'Shared@Example.com', email_verified: true, name: sub });
    const lookup = users.byEmail.bind(users);
    let first: OidcOutcome | undefined;
    // The other identity's login runs to completion between this one's email lookup and its user's creation.
    jest.spyOn(users, 'byEmail').mockImplementationOnce(async (address) => {
      const found = await lookup(address);
      first = await accounts.resolve(claims('shared-one'), '127.0.0.1');
      return found;
    });
    const second = await accounts.resolve(claims('shared-two'), '127.0.0.1');
    expect(first).toHaveProperty('user.username', 'Shared');
    expect(second).toEqual({ refused: 'not_linked' });
    expect(await db('users').whereRaw('lower(email) = ?', ['shared@example.com'])).toHaveLength(1);
    expect(await db('auth_oidc_identities').whereIn('subject', ['shared-one', 'shared-two'])).toHaveLength(1);
  });

  it('with auto_create and no user at all, parallel first logins with one email create one user (MariaDB: the deadlock is retried)', async () => {
    const { db } = manager.context;
    await db('users').delete();
    const { users, accounts } = autoCreatingAccounts();
    const claims = (sub: string) => ({ sub, email: 'first@example.com', email_verified: true, name: sub });
    if (kind === 'mysql') {
      // The first two creations both take their (gap) locks before either inserts: a deadlock every time.
      const create = users.createSsoUser.bind(users);
      let arrived = 0;
      let release = () => undefined as void;
      const bothLocked = new Promise<void>((resolve) => (release = resolve));
      jest.spyOn(users, 'createSsoUser').mockImplementation(async (trx, input) => {
        if (arrived < 2) {
          await trx('users').whereRaw('lower(email) = ?', [input.email.toLowerCase()]).forUpdate().first('id');
          if (++arrived === 2) release();
          await bothLocked;
        }
        return create(trx, input);
      });
    }
    const outcomes = await Promise.all([
      accounts.resolve(claims('first-one'), '127.0.0.1'),
      accounts.resolve(claims('first-two'), '127.0.0.1'),
      accounts.resolve(claims('first-one'), '127.0.0.1')
    ]);
    const created = await db('users').whereRaw('lower(email) = ?', ['first@example.com']);
    expect(created).toHaveLength(1);
    const links = await db('auth_oidc_identities').where({ user_id: created[0].id });
    expect(links).toHaveLength(1);
    // Whoever won, the same subject got the same user and the other subject was refused.
    const winner = links[0].subject as string;
    const expected = (sub: string) => (sub === winner ? { user: expect.objectContaining({ id: created[0].id }) } : { refused: 'not_linked' });
    expect(outcomes).toEqual([expected('first-one'), expected('first-two'), expected('first-one')]);
  });

  it('creates an account for a verified email with auto_create, with the default role, and reuses its binding', async () => {
    const { config } = manager.context;
    await manager.stop();
    manager = await createManager({
      config,
      plugins: [
        users,
        {
          plugin: auth,
          options: { oidc: { issuer: provider.issuer, client_id: provider.clientId, redirect_url: REDIRECT, auto_create: true, default_role: 'operator' } }
        }
      ]
    });
    await manager.initialize();
    await configureSecret();
    for (let round = 0; round < 2; round++) {
      const carol = new Browser(manager);
      const done = await callback(carol, await throughProvider(carol, 'carol-sub', '/'));
      expect(done.headers.location).toBe('/');
      expect((await carol.request('GET', '/api/v1/auth/me')).result).toMatchObject({
        username: 'carol',
        email: 'carol@example.com',
        role: 'operator',
        display_name: 'Carol'
      });
    }
    expect(await manager.context.db('users').where({ username_key: 'carol' })).toHaveLength(1);
    expect(await manager.context.db('auth_oidc_identities').where({ subject: 'carol-sub' })).toHaveLength(1);

    // An existing account's email is not a way in, and creates no second account; an unverified email creates nothing.
    const alice = new Browser(manager);
    expect((await callback(alice, await throughProvider(alice, 'alice-sub'))).headers.location).toBe('/login?error=sso_not_linked');
    const bob = new Browser(manager);
    expect((await callback(bob, await throughProvider(bob, 'bob-sub'))).headers.location).toBe('/login?error=sso_failed');
    expect(
      (await manager.context.db('users').whereRaw('lower(email) in (?, ?)', ['alice@example.com', 'bob@example.com'])).map((u) => u.username).sort()
    ).toEqual(['alice', 'bob']);
    expect(await manager.context.db('auth_oidc_identities')).toHaveLength(1);
    const reasons = (await manager.context.db('audit_log').where({ action: 'auth.oidc_failed' })).map((r) => JSON.parse(r.details).reason);
    expect(reasons).toEqual(['not_linked', 'email_not_verified']);
  });
});
