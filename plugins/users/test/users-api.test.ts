import { testDatabases } from '@bilbycast/tests';
import { UserDirectory, verifyPassword } from '../src';
import { credentialsFor, ROOT, startUsersApi, type UsersApi } from './harness';

const NODE_A = '0f8fad5b-d9cb-469f-a165-70867728950e';
const NODE_B = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';
const USER_FIELDS = [
  'allowed_node_ids',
  'created_at',
  'display_name',
  'email',
  'expires_at',
  'id',
  'is_active',
  'last_login_at',
  'mfa_enabled',
  'role',
  'updated_at',
  'username'
];
const inAYear = () => new Date(Date.now() + 365 * 86_400_000).toISOString();

describe.each(testDatabases())('users API on %s', (kind) => {
  let api: UsersApi;
  let rootId: string;
  beforeEach(async () => {
    api = await startUsersApi(kind);
    rootId = (await api.manager.context.db('users').where({ username: ROOT.username }).first()).id;
  });
  afterEach(() => api.stop());

  it('creates, lists newest first, reads, updates and deletes a user', async () => {
    const expires = inAYear();
    const created = await api.call(ROOT.username, 'POST', '/api/v1/users', {
      username: 'Alice.Ops',
      password: 'Alice-pass-1',
      display_name: 'Zoë Ålice 日本 😀',
      email: 'alice@example.local',
      role: 'operator',
      expires_at: expires,
      allowed_node_ids: [NODE_A, NODE_B.toUpperCase()]
    });
    expect(created.statusCode).toBe(201);
    const alice = created.body;
    expect(created.headers.location).toBe(`/api/v1/users/${alice.id}`);
    expect(Object.keys(alice).sort()).toEqual(USER_FIELDS);
    expect(alice).toMatchObject({
      username: 'Alice.Ops',
      display_name: 'Zoë Ålice 日本 😀',
      email: 'alice@example.local',
      role: 'operator',
      is_active: true,
      expires_at: expires,
      allowed_node_ids: [NODE_A, NODE_B],
      mfa_enabled: false,
      last_login_at: null
    });
    expect(alice.id).toMatch(/^[0-9a-f-]{36}$/);

    const bob = await api.createUser({ username: 'bob' });
    expect(bob).toMatchObject({ role: 'viewer', is_active: true, display_name: 'bob', email: null, expires_at: null, allowed_node_ids: null });

    const list = await api.call(ROOT.username, 'GET', '/api/v1/users');
    expect(list.statusCode).toBe(200);
    expect(list.body.map((u: { username: string }) => u.username)).toEqual(['bob', 'Alice.Ops', ROOT.username]);
    expect(JSON.stringify(list.body)).not.toMatch(/password|argon2/);

    const read = await api.call(ROOT.username, 'GET', `/api/v1/users/${alice.id.toUpperCase()}`);
    expect(read.statusCode).toBe(200);
    expect(read.body).toEqual(alice);

    const updated = await api.call(ROOT.username, 'PUT', `/api/v1/users/${alice.id}`, {
      display_name: '  Alice  ',
      email: null,
      role: 'admin',
      expires_at: null,
      allowed_node_ids: null
    });
    expect(updated.statusCode).toBe(200);
    expect(updated.body).toMatchObject({ display_name: 'Alice', email: null, role: 'admin', expires_at: null, allowed_node_ids: null });
    expect(updated.body.updated_at >= alice.updated_at).toBe(true);
    expect(updated.body.created_at).toBe(alice.created_at);

    const reset = await api.call(ROOT.username, 'PUT', `/api/v1/users/${alice.id}`, { password: 'Fresh-pass-2' });
    expect(reset.statusCode).toBe(200);
    const row = await api.manager.context.db('users').where({ id: alice.id }).first();
    expect(await verifyPassword(row.password_hash, 'Fresh-pass-2')).toBe(true);

    const deleted = await api.call(ROOT.username, 'DELETE', `/api/v1/users/${alice.id}`);
    expect(deleted.statusCode).toBe(204);
    expect(deleted.body).toBeUndefined();
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const gone = await api.call(ROOT.username, method, `/api/v1/users/${alice.id}`, method === 'PUT' ? { role: 'viewer' } : undefined);
      expect(gone.statusCode).toBe(404);
      expect(gone.body).toMatchObject({ error_code: 'user_not_found' });
    }
  });

  it('answers an update that changes nothing with the user, writing nothing', async () => {
    const carol = await api.createUser({ username: 'carol', role: 'operator' });
    const same = await api.call(ROOT.username, 'PUT', `/api/v1/users/${carol.id}`, { role: 'operator', email: null });
    expect(same.statusCode).toBe(200);
    expect(same.body).toEqual(carol);
    expect(await api.manager.context.db('audit_log').where({ action: 'user.update' })).toHaveLength(0);
  });

  it('refuses a username taken in any letter case with 409 username_taken', async () => {
    await api.createUser({ username: 'Erin' });
    for (const username of ['erin', 'ERIN', 'Root']) {
      const res = await api.call(ROOT.username, 'POST', '/api/v1/users', { username, password: 'Good-pass-1' });
      expect(res.statusCode).toBe(409);
      expect(res.body).toMatchObject({ error_code: 'username_taken' });
      expect(res.body.message).toContain(username);
    }
    expect(await api.manager.context.db('users').count({ n: '*' }).first()).toMatchObject({ n: 2 });
  });

  it('requires authentication, and admin for everything but reading oneself', async () => {
    const viewer = await api.createUser({ username: 'vic', role: 'viewer' });
    await api.createUser({ username: 'otto', role: 'operator' });
    const target = `/api/v1/users/${viewer.id}`;
    const adminRoutes: [string, string, unknown?][] = [
      ['GET', '/api/v1/users'],
      ['POST', '/api/v1/users', { username: 'x', password: 'Good-pass-1' }],
      ['PUT', target, { display_name: 'x' }],
      ['DELETE', target]
    ];
    for (const [method, url, payload] of adminRoutes) {
      expect((await api.call(null, method, url, payload)).statusCode).toBe(401);
      for (const who of ['vic', 'otto']) {
        const res = await api.call(who, method, url, payload);
        expect(res.statusCode).toBe(403);
        expect(res.body).toMatchObject({ error_code: 'insufficient_role', required_role: 'admin' });
      }
    }
    expect((await api.call(null, 'GET', target)).statusCode).toBe(401);
    expect(await api.manager.context.db('users').where({ id: viewer.id }).first()).toMatchObject({ display_name: 'vic' });
  });

  it('lets a user read their own record; others get the same 404 as for an unknown id', async () => {
    const vic = await api.createUser({ username: 'vic', role: 'viewer' });
    const otto = await api.createUser({ username: 'otto', role: 'operator' });
    const own = await api.call('vic', 'GET', `/api/v1/users/${vic.id}`);
    expect(own.statusCode).toBe(200);
    expect(own.body).toEqual(vic);

    const other = await api.call('vic', 'GET', `/api/v1/users/${otto.id}`);
    const unknown = await api.call('vic', 'GET', `/api/v1/users/${UNKNOWN_ID}`);
    expect(other.statusCode).toBe(404);
    expect(other.body).toEqual(unknown.body);
    expect(other.body).toMatchObject({ error_code: 'user_not_found' });
    expect((await api.call('otto', 'GET', `/api/v1/users/${rootId}`)).statusCode).toBe(404);

    // An admin capped to viewer (an API token) reads like a viewer.
    await api.createUser({ username: 'ada', role: 'admin' });
    expect((await api.call('ada', 'GET', `/api/v1/users/${otto.id}`)).statusCode).toBe(200);
    expect((await api.call('ada', 'GET', `/api/v1/users/${otto.id}`, undefined, { 'x-test-cap': 'viewer' })).statusCode).toBe(404);
  });

  it("refuses granting a role above one's own with 403 role_above_own", async () => {
    const ada = await api.createUser({ username: 'ada', role: 'admin' });
    const otto = await api.createUser({ username: 'otto', role: 'operator' });
    const create = await api.call('ada', 'POST', '/api/v1/users', { username: 'sam', password: 'Good-pass-1', role: 'super_admin' });
    expect(create.statusCode).toBe(403);
    expect(create.body).toMatchObject({ error_code: 'role_above_own' });
    for (const id of [otto.id, ada.id]) {
      const promote = await api.call('ada', 'PUT', `/api/v1/users/${id}`, { role: 'super_admin' });
      expect(promote.statusCode).toBe(403);
      expect(promote.body).toMatchObject({ error_code: 'role_above_own' });
    }
    // Granting one's own role is fine.
    expect((await api.call('ada', 'PUT', `/api/v1/users/${otto.id}`, { role: 'admin' })).body.role).toBe('admin');
    expect((await api.call('ada', 'POST', '/api/v1/users', { username: 'ann', password: 'Good-pass-1', role: 'admin' })).statusCode).toBe(201);
  });

  it('keeps an admin limited to some nodes within them (403 node_scope_exceeded)', async () => {
    const ada = await api.createUser({ username: 'ada', role: 'admin', allowed_node_ids: [NODE_A] });
    const wide = await api.createUser({ username: 'wide', role: 'admin' });
    const other = await api.createUser({ username: 'other', role: 'operator', allowed_node_ids: [NODE_B] });
    const mine = await api.createUser({ username: 'mine', role: 'operator', allowed_node_ids: [NODE_A] });
    const refused = [
      // Widening one's own access, to everything or to another node.
      await api.call('ada', 'PUT', `/api/v1/users/${ada.id}`, { allowed_node_ids: null }),
      await api.call('ada', 'PUT', `/api/v1/users/${ada.id}`, { allowed_node_ids: [NODE_A, NODE_B] }),
      // Handing out access one does not have.
      await api.call('ada', 'POST', '/api/v1/users', { username: 'sam', password: 'Good-pass-1', role: 'viewer' }),
      await api.call('ada', 'POST', '/api/v1/users', { username: 'sam', password: 'Good-pass-1', role: 'viewer', allowed_node_ids: [NODE_B] }),
      await api.call('ada', 'PUT', `/api/v1/users/${mine.id}`, { allowed_node_ids: [NODE_B] })
    ];
    for (const res of refused) expect({ status: res.statusCode, code: res.body.error_code }).toEqual({ status: 403, code: 'node_scope_exceeded' });
    // Managing (and so taking over) an account that reaches further: such users are as absent as unknown ones.
    const hidden = [
      await api.call('ada', 'PUT', `/api/v1/users/${wide.id}`, { password: 'Taken-over-1' }),
      await api.call('ada', 'PUT', `/api/v1/users/${other.id}`, { display_name: 'x' }),
      await api.call('ada', 'DELETE', `/api/v1/users/${wide.id}`),
      await api.call('ada', 'PUT', `/api/v1/users/${rootId}`, { display_name: 'x' })
    ];
    for (const res of hidden) expect({ status: res.statusCode, code: res.body.error_code }).toEqual({ status: 404, code: 'user_not_found' });
    expect((await api.manager.context.db('users').where({ id: ada.id }).first()).allowed_node_ids).toBe(JSON.stringify([NODE_A]));

    // Within its nodes it is a normal admin.
    expect(
      (await api.call('ada', 'POST', '/api/v1/users', { username: 'sam', password: 'Good-pass-1', role: 'viewer', allowed_node_ids: [NODE_A] })).statusCode
    ).toBe(201);
    expect((await api.call('ada', 'PUT', `/api/v1/users/${mine.id}`, { allowed_node_ids: [], display_name: 'Mine' })).statusCode).toBe(200);
    expect((await api.call('ada', 'DELETE', `/api/v1/users/${mine.id}`)).statusCode).toBe(204);
    // An unlimited admin may give any access.
    expect((await api.call('wide', 'PUT', `/api/v1/users/${other.id}`, { allowed_node_ids: null })).statusCode).toBe(200);
  });

  it('shows an admin limited to some nodes only the users within them, and only the audit entries about its nodes or by itself', async () => {
    const ada = await api.createUser({ username: 'ada', role: 'admin', allowed_node_ids: [NODE_A] });
    const wide = await api.createUser({ username: 'wide', role: 'admin', email: 'wide@example.com' });
    const other = await api.createUser({ username: 'other', role: 'operator', allowed_node_ids: [NODE_B] });
    const mine = await api.createUser({ username: 'mine', role: 'operator', allowed_node_ids: [NODE_A] });
    const none = await api.createUser({ username: 'none', role: 'viewer', allowed_node_ids: [] });
    const listed = (await api.call('ada', 'GET', '/api/v1/users')).body as { username: string }[];
    expect(listed.map((u) => u.username).sort()).toEqual(['ada', 'mine', 'none']);
    // Others are as absent as a user that does not exist.
    for (const id of [wide.id, other.id, rootId]) {
      const res = await api.call('ada', 'GET', `/api/v1/users/${id}`);
      expect({ status: res.statusCode, code: res.body.error_code }).toEqual({ status: 404, code: 'user_not_found' });
    }
    expect((await api.call('ada', 'GET', `/api/v1/users/${mine.id}`)).statusCode).toBe(200);
    expect((await api.call('ada', 'GET', `/api/v1/users/${none.id}`)).statusCode).toBe(200);
    // An unlimited admin sees everyone.
    expect(((await api.call('wide', 'GET', '/api/v1/users')).body as unknown[]).length).toBeGreaterThanOrEqual(6);

    const { audit } = api.manager.context;
    await audit.record({ action: 'node.update', user_id: wide.id, username: 'wide', target_type: 'node', target_id: NODE_A, ip: '198.51.100.1' });
    await audit.record({ action: 'node.update', user_id: wide.id, username: 'wide', target_type: 'node', target_id: NODE_B, ip: '198.51.100.1' });
    await audit.record({ action: 'user.update', user_id: ada.id, username: 'ada', target_type: 'user', target_id: mine.id, ip: '192.0.2.7' });
    await audit.record({ action: 'auth.login', user_id: wide.id, username: 'wide', ip: '198.51.100.1' });
    const seen = (await api.call('ada', 'GET', '/api/v1/audit?per_page=200')).body as {
      records: { action: string; target_id: string | null; user_id: string }[];
      total: number;
    };
    expect(seen.records.every((r) => r.user_id === ada.id || r.target_id === NODE_A)).toBe(true);
    expect(seen.records.map((r) => `${r.action} ${r.target_id}`)).toEqual(expect.arrayContaining([`node.update ${NODE_A}`, `user.update ${mine.id}`]));
    expect(seen.total).toBe(seen.records.length);
    expect(JSON.stringify(seen)).not.toContain(NODE_B);
    // Someone else's sign-in (with their address) is not about its nodes.
    expect(seen.records.some((r) => r.action === 'auth.login')).toBe(false);
    const everything = (await api.call('wide', 'GET', '/api/v1/audit?per_page=200')).body as { records: { target_id: string | null }[] };
    expect(everything.records.some((r) => r.target_id === NODE_B)).toBe(true);
  });

  it('refuses an admin changing their own password or email through the users API: that is what the account page is for', async () => {
    const ada = await api.createUser({ username: 'ada', role: 'admin', email: 'ada@example.com' });
    for (const payload of [
      { password: 'Other-pass-9' },
      { email: 'attacker@example.com' },
      { email: null },
      { display_name: 'Ada', password: 'Other-pass-9' }
    ]) {
      const res = await api.call('ada', 'PUT', `/api/v1/users/${ada.id}`, payload);
      expect({ status: res.statusCode, code: res.body.error_code }).toEqual({ status: 403, code: 'self_service_required' });
    }
    // Other changes to oneself (and the same email again) stay possible.
    expect((await api.call('ada', 'PUT', `/api/v1/users/${ada.id}`, { display_name: 'Ada L', email: 'ada@example.com' })).statusCode).toBe(200);
    const row = await api.manager.context.db('users').where({ id: ada.id }).first();
    expect([row.email, row.display_name]).toEqual(['ada@example.com', 'Ada L']);
  });

  it('lets only a super_admin change or delete a super_admin (403 super_admin_required)', async () => {
    await api.createUser({ username: 'ada', role: 'admin' });
    const sam = await api.createUser({ username: 'sam', role: 'super_admin' });
    for (const [who, cap] of [
      ['ada', undefined],
      [ROOT.username, 'admin']
    ] as const) {
      const headers: Record<string, string> = cap ? { 'x-test-cap': cap } : {};
      for (const [method, payload] of [
        ['PUT', { display_name: 'Sam' }],
        ['PUT', { role: 'viewer' }],
        ['DELETE', undefined]
      ] as const) {
        const res = await api.call(who, method, `/api/v1/users/${sam.id}`, payload, headers);
        expect(res.statusCode).toBe(403);
        expect(res.body).toMatchObject({ error_code: 'super_admin_required' });
      }
    }
    expect((await api.call(ROOT.username, 'PUT', `/api/v1/users/${sam.id}`, { display_name: 'Sam' })).statusCode).toBe(200);
    expect((await api.call(ROOT.username, 'DELETE', `/api/v1/users/${sam.id}`)).statusCode).toBe(204);
  });

  it('refuses deleting or disabling oneself with 409 cannot_modify_self', async () => {
    const ada = await api.createUser({ username: 'ada', role: 'admin' });
    await api.createUser({ username: 'sam', role: 'super_admin' });
    for (const [who, id] of [
      ['ada', ada.id],
      [ROOT.username, rootId]
    ]) {
      const remove = await api.call(who, 'DELETE', `/api/v1/users/${id}`);
      expect(remove.statusCode).toBe(409);
      expect(remove.body).toMatchObject({ error_code: 'cannot_modify_self' });
      const disable = await api.call(who, 'PUT', `/api/v1/users/${id}`, { is_active: false, display_name: 'x' });
      expect(disable.statusCode).toBe(409);
      expect(disable.body).toMatchObject({ error_code: 'cannot_modify_self' });
    }
    // Other changes to oneself are allowed, including stepping down.
    expect((await api.call('ada', 'PUT', `/api/v1/users/${ada.id}`, { display_name: 'Ada L.' })).body.display_name).toBe('Ada L.');
    expect((await api.call('ada', 'PUT', `/api/v1/users/${ada.id}`, { role: 'operator' })).body.role).toBe('operator');
    expect(await api.manager.context.db('users').where({ id: ada.id }).first()).toMatchObject({ display_name: 'Ada L.', role: 'operator' });
  });

  it('never demotes, disables or deletes the last active super_admin (409 last_super_admin)', async () => {
    const { db, audit } = api.manager.context;
    const demote = await api.call(ROOT.username, 'PUT', `/api/v1/users/${rootId}`, { role: 'admin' });
    expect(demote.statusCode).toBe(409);
    expect(demote.body).toMatchObject({ error_code: 'last_super_admin' });
    // An expiry would end it later just the same.
    const expire = await api.call(ROOT.username, 'PUT', `/api/v1/users/${rootId}`, { expires_at: inAYear() });
    expect({ status: expire.statusCode, code: expire.body.error_code }).toEqual({ status: 409, code: 'last_super_admin' });

    // A disabled or expired super_admin does not count.
    const sam = await api.createUser({ username: 'sam', role: 'super_admin' });
    const sue = await api.createUser({ username: 'sue', role: 'super_admin' });
    expect((await api.call(ROOT.username, 'PUT', `/api/v1/users/${sam.id}`, { is_active: false })).statusCode).toBe(200);
    await db('users').where({ id: sue.id }).update({ expires_at: '2001-01-01T00:00:00.000Z' });
    expect((await api.call(ROOT.username, 'PUT', `/api/v1/users/${rootId}`, { role: 'admin' })).body).toMatchObject({
      error_code: 'last_super_admin'
    });

    // Deleting or disabling the last one can only be asked with credentials of a super_admin who
    // is no longer active (a request in flight while it was disabled): the directory refuses it.
    const staleSam = { credentials: (await credentialsFor(db, 'sam'))!, ip: null };
    const directory = new UserDirectory(db, audit);
    await expect(directory.remove(staleSam, rootId)).rejects.toMatchObject({ data: { error_code: 'last_super_admin' } });
    await expect(directory.update(staleSam, rootId, { is_active: false })).rejects.toMatchObject({
      data: { error_code: 'last_super_admin' }
    });
    expect(await db('users').where({ id: rootId }).first()).toMatchObject({ role: 'super_admin' });

    // With another active super_admin, root may step down, and the other one becomes the last.
    expect((await api.call(ROOT.username, 'PUT', `/api/v1/users/${sam.id}`, { is_active: true })).statusCode).toBe(200);
    expect((await api.call(ROOT.username, 'PUT', `/api/v1/users/${rootId}`, { role: 'admin' })).body.role).toBe('admin');
    expect((await api.call('sam', 'PUT', `/api/v1/users/${sam.id}`, { role: 'viewer' })).body).toMatchObject({
      error_code: 'last_super_admin'
    });
  });

  it('lets only one of two concurrent demotions of the last two super_admins through', async () => {
    const sam = await api.createUser({ username: 'sam', role: 'super_admin' });
    const [a, b] = await Promise.all([
      api.call(ROOT.username, 'PUT', `/api/v1/users/${sam.id}`, { role: 'admin' }),
      api.call('sam', 'PUT', `/api/v1/users/${rootId}`, { role: 'admin' })
    ]);
    expect([a.statusCode, b.statusCode].sort()).toEqual([200, 409]);
    expect([a.body.error_code, b.body.error_code]).toContain('last_super_admin');
    expect(await api.manager.context.db('users').where({ role: 'super_admin' })).toHaveLength(1);
  });

  it('asks the sessions service to end sessions on a password reset, disabling and deletion only', async () => {
    const carol = await api.createUser({ username: 'carol' });
    const put = (payload: object) => api.call(ROOT.username, 'PUT', `/api/v1/users/${carol.id}`, payload);
    await put({ display_name: 'Carol', role: 'operator', expires_at: inAYear() });
    expect(api.revoked).toEqual([]);
    await put({ password: 'Other-pass-3' });
    expect(api.revoked).toEqual([{ userId: carol.id }]);
    await put({ is_active: false });
    await put({ is_active: true });
    await api.call(ROOT.username, 'DELETE', `/api/v1/users/${carol.id}`);
    expect(api.revoked).toEqual([{ userId: carol.id }, { userId: carol.id }, { userId: carol.id }]);

    // An administrator's own password is not reset here (403 self_service_required): nothing is revoked.
    api.revoked.length = 0;
    expect((await api.call(ROOT.username, 'PUT', `/api/v1/users/${rootId}`, { password: 'Newer-pass-4' })).statusCode).toBe(403);
    expect(api.revoked).toEqual([]);
  });

  it('audits create, update and delete with the actor, target and changes, never a password', async () => {
    const carol = await api.createUser({ username: 'carol', email: 'carol@example.local', allowed_node_ids: [NODE_A] });
    await api.call(ROOT.username, 'PUT', `/api/v1/users/${carol.id}`, { role: 'operator', password: 'Secret-pass-9' });
    await api.call(ROOT.username, 'DELETE', `/api/v1/users/${carol.id}`);

    const { records } = await api.manager.context.audit.query({ page: 1, per_page: 10 });
    const actor = { user_id: rootId, username: ROOT.username, target_type: 'user', target_id: carol.id, ip: '127.0.0.1', outcome: 'success' };
    expect(records.map((r) => r.action)).toEqual(['user.delete', 'user.update', 'user.create']);
    for (const record of records) expect(record).toMatchObject(actor);
    expect(records[2].details).toEqual({
      username: 'carol',
      display_name: 'carol',
      email: 'carol@example.local',
      role: 'viewer',
      is_active: true,
      expires_at: null,
      allowed_node_ids: [NODE_A]
    });
    expect(records[1].details).toEqual({ fields: ['role', 'password'], changed: { role: 'operator' } });
    expect(records[0].details).toEqual({ username: 'carol', role: 'operator' });
    const stored = JSON.stringify(await api.manager.context.db('audit_log').select());
    expect(stored).not.toMatch(/Good-pass-1|Secret-pass-9|argon2|password_hash/);
  });

  it('writes no audit record for a refused change', async () => {
    const res = await api.call(ROOT.username, 'DELETE', `/api/v1/users/${rootId}`);
    expect(res.statusCode).toBe(409);
    expect(await api.manager.context.db('audit_log').where('action', 'like', 'user.%')).toHaveLength(0);
  });

  it('documents the routes in the OpenAPI document', async () => {
    const res = await api.call(null, 'GET', '/openapi.json');
    expect(res.statusCode).toBe(200);
    expect(Object.keys(res.body.paths)).toEqual(expect.arrayContaining(['/api/v1/users', '/api/v1/users/{id}']));
  });
});
