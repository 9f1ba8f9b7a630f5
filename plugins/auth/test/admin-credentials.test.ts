// An administrator's help with another user's sign-in (the users plugin's routes over the auth
// plugin's services): resetting a lost second factor, and linking or removing SSO identities.
import crypto from 'node:crypto';
import { createManager, type Manager } from '@bilbycast/core';
import { createTestDatabase, testConfig, testDatabases, type TestDatabase } from '@bilbycast/tests';
import users from '@bilbycast/users';
import auth from '../src';
import { currentTotp } from '../src/services/totp';
import { Browser, seedUser } from './auth-harness';

const ISSUER = 'https://idp.example.test';
const NODE_A = crypto.randomUUID();
const NODE_B = crypto.randomUUID();

describe.each(testDatabases())('administrators and other users’ credentials on %s', (kind) => {
  let database: TestDatabase;
  let manager: Manager;
  const ids: Record<string, string> = {};

  beforeEach(async () => {
    database = await createTestDatabase(kind);
    manager = await createManager({
      config: testConfig(database),
      plugins: [
        users,
        { plugin: auth, options: { oidc: { issuer: ISSUER, client_id: 'manager', redirect_url: 'http://127.0.0.1:9/api/v1/auth/oidc/callback' } } }
      ]
    });
    await manager.initialize();
    ids.root = await seedUser(manager, 'root', 'super_admin');
    ids.root2 = await seedUser(manager, 'root2', 'super_admin');
    ids.admin = await seedUser(manager, 'admin', 'admin');
    ids.scoped = await seedUser(manager, 'scoped', 'admin', { allowed_node_ids: JSON.stringify([NODE_A]) });
    ids.alice = await seedUser(manager, 'alice', 'operator', { allowed_node_ids: JSON.stringify([NODE_A]) });
    ids.bob = await seedUser(manager, 'bob', 'operator', { allowed_node_ids: JSON.stringify([NODE_B]) });
  });
  afterEach(async () => {
    await manager.stop();
    await database.cleanup();
  });

  async function signedIn(username: string): Promise<Browser> {
    const browser = new Browser(manager);
    expect((await browser.login(username)).statusCode).toBe(200);
    return browser;
  }

  async function enrol(username: string): Promise<string> {
    const browser = await signedIn(username);
    const { secret } = (await browser.request('POST', '/api/v1/auth/mfa/totp/setup')).result as { secret: string };
    expect((await browser.request('POST', '/api/v1/auth/mfa/totp/confirm', { code: await currentTotp(secret) })).statusCode).toBe(200);
    return secret;
  }

  const errorOf = (res: { statusCode: number; result: unknown }) => [res.statusCode, (res.result as { error_code?: string } | null)?.error_code];

  it('an admin resets a user’s lost MFA, audited; the user then signs in with the password alone', async () => {
    await enrol('alice');
    expect((await new Browser(manager).login('alice')).result).toMatchObject({ mfa_required: true });
    const admin = await signedIn('admin');
    expect((await admin.request('DELETE', `/api/v1/users/${ids.alice}/mfa`)).statusCode).toBe(204);
    expect((await admin.request('GET', `/api/v1/users/${ids.alice}`)).result).toMatchObject({ mfa_enabled: false });
    const login = await new Browser(manager).login('alice');
    expect(login.statusCode).toBe(200);
    expect(login.result).toHaveProperty('user.username', 'alice');
    const [entry] = await manager.context.db('audit_log').where({ action: 'user.mfa_reset' });
    expect(entry).toMatchObject({ username: 'admin', target_id: ids.alice });
    // Nothing left to reset.
    expect(errorOf(await admin.request('DELETE', `/api/v1/users/${ids.alice}/mfa`))).toEqual([404, 'mfa_not_enabled']);
  });

  it('only a super_admin resets a super_admin; nobody resets their own here; a limited admin only within their nodes', async () => {
    const admin = await signedIn('admin');
    await enrol('root');
    await enrol('admin');
    await enrol('bob');
    expect(errorOf(await admin.request('DELETE', `/api/v1/users/${ids.root}/mfa`))).toEqual([403, 'super_admin_required']);
    expect(errorOf(await admin.request('DELETE', `/api/v1/users/${ids.admin}/mfa`))).toEqual([403, 'self_service_required']);
    const scoped = await signedIn('scoped');
    expect(errorOf(await scoped.request('DELETE', `/api/v1/users/${ids.bob}/mfa`))).toEqual([404, 'user_not_found']);
    const operator = await signedIn('alice');
    expect((await operator.request('DELETE', `/api/v1/users/${ids.bob}/mfa`)).statusCode).toBe(403);
    expect((await manager.context.db('auth_mfa').where({ enabled: true })).map((r) => r.user_id).sort()).toEqual([ids.root, ids.admin, ids.bob].sort());
    const root2 = await signedIn('root2');
    expect((await root2.request('DELETE', `/api/v1/users/${ids.root}/mfa`)).statusCode).toBe(204);
    expect(errorOf(await admin.request('DELETE', `/api/v1/users/${crypto.randomUUID()}/mfa`))).toEqual([404, 'user_not_found']);
    expect(errorOf(await admin.request('DELETE', '/api/v1/users/not-a-uuid/mfa'))).toEqual([400, 'validation_error']);
  });

  it('an unfinished MFA enrolment is no MFA to reset', async () => {
    const alice = await signedIn('alice');
    expect((await alice.request('POST', '/api/v1/auth/mfa/totp/setup')).statusCode).toBe(200);
    const admin = await signedIn('admin');
    expect(errorOf(await admin.request('DELETE', `/api/v1/users/${ids.alice}/mfa`))).toEqual([404, 'mfa_not_enabled']);
    expect(await manager.context.db('audit_log').where({ action: 'user.mfa_reset' })).toHaveLength(0);
  });

  it('a super_admin links a user’s SSO identity; admins list and remove them under the password-reset rules, audited', async () => {
    const root = await signedIn('root');
    const admin = await signedIn('admin');
    const path = `/api/v1/users/${ids.alice}/sso-identities`;
    expect((await admin.request('GET', path)).result).toEqual([]);
    // Linking signs in past the password and MFA, with the provider's role claims: super_admin only.
    expect((await admin.request('POST', path, { subject: 'alice-at-idp' })).statusCode).toBe(403);
    const linked = await root.request('POST', path, { subject: 'alice-at-idp' });
    expect(linked.statusCode).toBe(201);
    expect(linked.result).toEqual({ issuer: ISSUER, subject: 'alice-at-idp', source: 'admin', created_at: expect.any(String) });
    expect((await root.request('POST', path, { subject: 'alice-at-idp' })).statusCode).toBe(200);
    expect(errorOf(await root.request('POST', `/api/v1/users/${ids.bob}/sso-identities`, { subject: 'alice-at-idp' }))).toEqual([
      409,
      'sso_identity_linked_elsewhere'
    ]);
    expect(errorOf(await root.request('POST', path, {}))).toEqual([400, 'validation_error']);
    expect(errorOf(await root.request('POST', path, { subject: 'x'.repeat(256) }))).toEqual([400, 'validation_error']);
    expect(errorOf(await root.request('POST', `/api/v1/users/${ids.root}/sso-identities`, { subject: 'mine' }))).toEqual([403, 'self_service_required']);
    // The user sees it among their own.
    const alice = await signedIn('alice');
    expect((await alice.request('GET', '/api/v1/auth/sso-identities')).result).toEqual([linked.result]);

    // Super admins' identities: super_admin only; other nodes' users: absent to a limited admin.
    expect(errorOf(await admin.request('GET', `/api/v1/users/${ids.root}/sso-identities`))).toEqual([403, 'super_admin_required']);
    const scoped = await signedIn('scoped');
    expect(errorOf(await scoped.request('GET', `/api/v1/users/${ids.bob}/sso-identities`))).toEqual([404, 'user_not_found']);
    expect((await scoped.request('GET', path)).statusCode).toBe(200);

    const query = (subject: string) => `${path}?issuer=${encodeURIComponent(ISSUER)}&subject=${subject}`;
    expect(errorOf(await admin.request('DELETE', query('nobody')))).toEqual([404, 'sso_identity_not_found']);
    expect(errorOf(await admin.request('DELETE', path))).toEqual([400, 'validation_error']);
    // Removing it ends the sessions it may have opened.
    expect((await admin.request('DELETE', query('alice-at-idp'))).statusCode).toBe(204);
    expect(await manager.context.db('auth_oidc_identities')).toHaveLength(0);
    expect((await alice.request('GET', '/api/v1/auth/me')).statusCode).toBe(401);
    const actions = (await manager.context.db('audit_log').whereIn('action', ['user.sso_link', 'user.sso_unlink'])).map((r) => [
      r.action,
      r.username,
      JSON.parse(r.details).subject
    ]);
    expect(actions).toEqual([
      ['user.sso_link', 'root', 'alice-at-idp'],
      ['user.sso_unlink', 'admin', 'alice-at-idp']
    ]);
  });

  it('linking an identity to a user deleted meanwhile is a 404, not a 500', async () => {
    const identities = manager.context.services.get('ssoIdentities')!;
    await expect(identities.link(crypto.randomUUID(), 'ghost-at-idp')).rejects.toMatchObject({
      output: { statusCode: 404 },
      data: { error_code: 'user_not_found' }
    });
    expect(await manager.context.db('auth_oidc_identities')).toHaveLength(0);
  });

  it('an admin does not remove the last way into an account without a password; links made by email before are marked', async () => {
    const { db } = manager.context;
    await db('users').where({ id: ids.bob }).update({ password_hash: null });
    // A link from before explicit linking (made by a matching email): the column default marks it.
    await db('auth_oidc_identities').insert({ issuer: ISSUER, subject: 'bob-at-idp', user_id: ids.bob, created_at: new Date().toISOString() });
    const admin = await signedIn('admin');
    const path = `/api/v1/users/${ids.bob}/sso-identities`;
    expect((await admin.request('GET', path)).result).toEqual([
      { issuer: ISSUER, subject: 'bob-at-idp', source: 'email_match', created_at: expect.any(String) }
    ]);
    expect(errorOf(await admin.request('DELETE', `${path}?issuer=${encodeURIComponent(ISSUER)}&subject=bob-at-idp`))).toEqual([409, 'last_sign_in_method']);
    // Once the admin has set a password, it can go.
    expect((await admin.request('PUT', `/api/v1/users/${ids.bob}`, { password: 'Fresh-Passw0rd' })).statusCode).toBe(200);
    expect((await admin.request('DELETE', `${path}?issuer=${encodeURIComponent(ISSUER)}&subject=bob-at-idp`)).statusCode).toBe(204);
  });
});
