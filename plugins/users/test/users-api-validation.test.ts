import { testDatabases } from '@bilbycast/tests';
import { ROOT, startUsersApi, type UsersApi } from './harness';

const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';
const good = { username: 'newbie', password: 'Good-pass-1' };
const past = '2001-01-01T00:00:00.000Z';

/** Payloads POST /api/v1/users answers with 400 validation_error, by what is wrong. */
const badCreates: [string, unknown][] = [
  ['no payload', undefined],
  ['an array', [good]],
  ['missing username', { password: good.password }],
  ['missing password', { username: good.username }],
  ['numeric username', { ...good, username: 42 }],
  ['empty username', { ...good, username: '' }],
  ['65-character username', { ...good, username: 'a'.repeat(65) }],
  ['username starting with a dot', { ...good, username: '.hidden' }],
  ['username starting with a dash', { ...good, username: '-x' }],
  ['username with a space', { ...good, username: 'a b' }],
  ['unicode username', { ...good, username: 'zoë' }],
  ['username with a NUL', { ...good, username: 'a\u0000b' }],
  ['numeric password', { ...good, password: 12345678 }],
  ['empty password', { ...good, password: '' }],
  ['huge password', { ...good, password: 'Aa1'.repeat(2000) }],
  ['129-character display_name', { ...good, display_name: 'x'.repeat(129) }],
  ['blank display_name', { ...good, display_name: '   ' }],
  ['display_name with a bell', { ...good, display_name: 'ding\u0007' }],
  ['display_name with a newline', { ...good, display_name: 'two\nlines' }],
  ['display_name with a line separator', { ...good, display_name: 'a\u2028b' }],
  ['display_name with an unpaired surrogate', { ...good, display_name: 'a\ud800b' }],
  ['null display_name', { ...good, display_name: null }],
  ['invalid email', { ...good, email: 'not-an-email' }],
  ['255-character email', { ...good, email: `${'a'.repeat(64)}@${['b', 'c', 'd'].map((c) => c.repeat(60)).join('.')}.abcdefg` }],
  ['unknown role', { ...good, role: 'root' }],
  ['numeric role', { ...good, role: 3 }],
  ['is_active as a string', { ...good, is_active: 'true' }],
  ['is_active as a number', { ...good, is_active: 1 }],
  ['expires_at not a date', { ...good, expires_at: 'tomorrow' }],
  ['expires_at in the past', { ...good, expires_at: past }],
  ['expires_at on a day the month does not have', { ...good, expires_at: '2099-02-30T00:00:00Z' }],
  ['expires_at as a number', { ...good, expires_at: 4_102_444_800_000 }],
  ['expires_at beyond year 9999', { ...good, expires_at: '+275760-09-13T00:00:00.000Z' }],
  ['allowed_node_ids as a string', { ...good, allowed_node_ids: 'all' }],
  ['allowed_node_ids with a non-id', { ...good, allowed_node_ids: ['node-1'] }],
  ['allowed_node_ids with a number', { ...good, allowed_node_ids: [1] }],
  ['allowed_node_ids with a duplicate', { ...good, allowed_node_ids: [UNKNOWN_ID, UNKNOWN_ID] }],
  ['an unknown field', { ...good, is_admin: true }],
  ['a password_hash', { ...good, password_hash: '$argon2id$v=19$m=19456,t=2,p=1$x$y' }],
  ['an id', { ...good, id: UNKNOWN_ID }]
];

/** Payloads PUT /api/v1/users/{id} answers with 400 validation_error. */
const badUpdates: [string, unknown][] = [
  ['no payload', undefined],
  ['an empty object', {}],
  ['a username change', { username: 'renamed' }],
  ['an unknown field', { mfa_enabled: true }],
  ['a last_login_at', { last_login_at: past }],
  ['null display_name', { display_name: null }],
  ['display_name with an escape', { display_name: '\u001b[31mred' }],
  ['null role', { role: null }],
  ['uppercase role', { role: 'ADMIN' }],
  ['is_active as a string', { is_active: 'false' }],
  ['null is_active', { is_active: null }],
  ['expires_at in the past', { expires_at: past }],
  ['email as an object', { email: { address: 'a@b.c' } }],
  ['numeric password', { password: 1 }],
  ['allowed_node_ids as an object', { allowed_node_ids: { id: UNKNOWN_ID } }],
  ['1001 allowed_node_ids', { allowed_node_ids: Array.from({ length: 1001 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`) }]
];

const badIds = ['not-a-uuid', '1', `${UNKNOWN_ID}0`, 'ü'.repeat(36), 'x'.repeat(2000), '..%2F..%2Fetc', '%00'];

describe.each(testDatabases())('users API input validation on %s', (kind) => {
  let api: UsersApi;
  let target: string;
  beforeAll(async () => {
    api = await startUsersApi(kind);
    target = (await api.createUser({ username: 'target' })).id;
  });
  afterAll(() => api.stop());

  const expectRefused = (res: { statusCode: number; body: any }, errorCode = 'validation_error') => {
    expect(res.statusCode).toBe(400);
    expect(res.body.error_code).toBe(errorCode);
    expect(typeof res.body.message).toBe('string');
    expect(res.body.message.length).toBeGreaterThan(0);
  };

  it.each(badCreates)('POST refuses %s', async (_, payload) => {
    expectRefused(await api.call(ROOT.username, 'POST', '/api/v1/users', payload));
  });

  it.each(badUpdates)('PUT refuses %s', async (_, payload) => {
    expectRefused(await api.call(ROOT.username, 'PUT', `/api/v1/users/${target}`, payload));
  });

  it('names every failing field', async () => {
    const res = await api.call(ROOT.username, 'POST', '/api/v1/users', { username: '', password: 1, role: 'x', extra: 1 });
    expect(res.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['extra', 'password', 'role', 'username']);
  });

  it('refuses a password that fails the policy with 400 weak_password listing the problems', async () => {
    for (const [method, url] of [
      ['POST', '/api/v1/users'],
      ['PUT', `/api/v1/users/${target}`]
    ]) {
      const res = await api.call(ROOT.username, method, url, method === 'POST' ? { ...good, password: 'short' } : { password: 'short' });
      expectRefused(res, 'weak_password');
      expect(res.body.message).toContain('at least 8 characters');
      expect(res.body.problems).toEqual(['must be at least 8 characters', 'must contain an upper-case letter', 'must contain a digit']);
    }
    const tooLong = await api.call(ROOT.username, 'POST', '/api/v1/users', { ...good, password: `Aa1${'x'.repeat(126)}` });
    expectRefused(tooLong, 'weak_password');
  });

  it.each(badIds)('refuses the id %j on every /users/{id} route', async (id) => {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const res = await api.call(ROOT.username, method, `/api/v1/users/${id}`, method === 'PUT' ? { role: 'viewer' } : undefined);
      expect(res.statusCode).toBeGreaterThanOrEqual(400);
      expect(res.statusCode).toBeLessThan(500);
      expect(typeof res.body.message).toBe('string');
    }
  });

  it('answers 404 user_not_found for a well-formed unknown id', async () => {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const res = await api.call(ROOT.username, method, `/api/v1/users/${UNKNOWN_ID}`, method === 'PUT' ? { role: 'viewer' } : undefined);
      expect(res.statusCode).toBe(404);
      expect(res.body).toMatchObject({ error_code: 'user_not_found', message: 'No such user' });
    }
  });

  it('refuses query parameters, malformed JSON and non-JSON bodies', async () => {
    expectRefused(await api.call(ROOT.username, 'GET', '/api/v1/users?role=admin'));
    expectRefused(await api.call(ROOT.username, 'GET', `/api/v1/users/${target}?x=1`));
    const malformed = await api.call(ROOT.username, 'POST', '/api/v1/users', '{"username": ', { 'content-type': 'application/json' });
    expect(malformed.statusCode).toBe(400);
    const text = await api.call(ROOT.username, 'POST', '/api/v1/users', 'username=x', { 'content-type': 'text/plain' });
    expect(text.statusCode).toBe(400);
  });

  it('changed nothing while refusing bad input', async () => {
    const users = await api.manager.context.db('users').select('username', 'display_name', 'role', 'is_active');
    expect(users.map((u) => u.username).sort()).toEqual([ROOT.username, 'target']);
    expect(users.find((u) => u.username === 'target')).toMatchObject({ display_name: 'target', role: 'viewer' });
    expect(await api.manager.context.db('audit_log').whereNot({ action: 'user.create' })).toHaveLength(0);
  });
});
