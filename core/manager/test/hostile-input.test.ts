import crypto from 'node:crypto';
import { nowIso, type Manager } from '@bilbycast/core';
import { createTestDatabase, testConfig, testDatabases, type TestDatabase } from '@bilbycast/tests';
import { hashPassword } from '@bilbycast/users';
import { createDefaultManager } from '../src';

const PASSWORD = 'Hostile-Passw0rd';
const deep = (n: number): unknown => (n === 0 ? 'x' : { a: deep(n - 1) });

/** Bodies of the wrong shape, type and size; none may produce a 5xx. */
const BODIES: unknown[] = [
  null,
  [],
  'a plain string',
  12345,
  true,
  { username: { $gt: '' }, password: ['x'], code: 123456, name: null, role: 'god' },
  { display_name: '\u0000\u202e\ud83d\ude00'.repeat(50), email: 'not-an-email', expires_at: 'tomorrow' },
  { username: 'x'.repeat(10_000), password: 'y'.repeat(10_000), name: 'z'.repeat(10_000) },
  { allowed_node_ids: 'all', is_active: 'yes', role: ['admin'] },
  JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}'),
  deep(200)
];
const PATH_VALUES = ['not-a-uuid', '..%2F..%2Fetc', 'x'.repeat(500), '%00', '%F0%9F%98%80', '1 OR 1=1'];

describe.each(testDatabases())('hostile input on every route (%s)', (kind) => {
  let database: TestDatabase;
  let manager: Manager;
  let headers: Record<string, string>;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    manager = await createDefaultManager(testConfig(database));
    await manager.initialize();
    await manager.context.db('users').insert({
      id: crypto.randomUUID(),
      username: 'fuzz',
      username_key: 'fuzz',
      display_name: 'fuzz',
      role: 'super_admin',
      is_active: true,
      password_hash: await hashPassword(PASSWORD),
      created_at: nowIso(),
      updated_at: nowIso()
    });
    const login = await manager.server.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'fuzz', password: PASSWORD } });
    headers = {
      cookie: ([] as string[])
        .concat(login.headers['set-cookie'] ?? [])
        .map((c) => c.split(';')[0])
        .join('; '),
      'x-csrf-token': (login.result as { csrf_token: string }).csrf_token
    };
  });
  afterAll(async () => {
    await manager.stop();
    await database.cleanup();
  });

  it('answers every hostile body and path parameter with a status below 500', async () => {
    const failures: string[] = [];
    const routes = manager.server.table().filter((r) => r.realm.plugin !== 'hapi-swagger' && r.path !== '/api/v1/auth/logout');
    for (const route of routes) {
      const urls = route.path.includes('{') ? PATH_VALUES.map((v) => route.path.replace(/\{[^}]+\}/g, v)) : [route.path];
      for (const url of urls) {
        for (const body of route.method === 'get' ? [undefined] : BODIES) {
          const res = await manager.server.inject({
            method: route.method,
            url: route.method === 'get' ? `${url}?page=-1&per_page=abc&from=%00&q=${'x'.repeat(3000)}` : url,
            payload: body === undefined ? undefined : JSON.stringify(body),
            headers: { ...headers, 'content-type': 'application/json' }
          });
          if (res.statusCode >= 500) failures.push(`${route.method.toUpperCase()} ${url}: ${res.statusCode} ${res.payload.slice(0, 200)}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // The session survived the whole sweep (logout was left out on purpose).
    expect((await manager.server.inject({ url: '/api/v1/auth/me', headers })).statusCode).toBe(200);
  });
});
