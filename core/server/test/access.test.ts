import { createTestDatabase, testConfig, testDatabases, type TestDatabase } from '@bilbycast/tests';
import type { Plugin } from '@hapi/hapi';
import { ConfigError, accessProblems, createManager, type ManagerCredentials, type Role } from '../src';

/** Authenticates from an `x-test-role` header: a stand-in for the auth plugin's strategies. */
const headerAuth: Plugin<unknown> = {
  name: 'header-auth',
  register(server) {
    server.auth.scheme('test-header', () => ({
      authenticate(request, h) {
        const role = request.headers['x-test-role'] as Role | undefined;
        if (!role) return h.unauthenticated(new Error('no role header'));
        const credentials: ManagerCredentials = {
          user: { id: `user-${role}`, username: role, display_name: null, email: null, role },
          role,
          allowed_node_ids: null,
          method: 'token'
        };
        return h.authenticated({ credentials: credentials as never });
      }
    }));
    server.auth.strategy('test', 'test-header');
    server.auth.default({ strategy: 'test', mode: 'try' });
    server.route([
      { method: 'GET', path: '/api/v1/any', options: { plugins: { bilbycast: { access: 'authenticated' } }, handler: () => ({ ok: true }) } },
      { method: 'GET', path: '/api/v1/ops', options: { plugins: { bilbycast: { access: { role: 'operator' } } }, handler: () => ({ ok: true }) } }
    ]);
  }
};

describe('central access enforcement', () => {
  let database: TestDatabase;
  beforeEach(async () => {
    database = await createTestDatabase('sqlite');
  });
  afterEach(() => database.cleanup());

  it('refuses to start when a route declares no access rule, naming the route', async () => {
    const careless: Plugin<unknown> = {
      name: 'careless',
      register: (server) => server.route({ method: 'GET', path: '/api/v1/forgotten', handler: () => 'x' })
    };
    const manager = await createManager({ config: testConfig(database), plugins: [careless] });
    expect(accessProblems(manager.server)).toEqual(['GET /api/v1/forgotten declares no access rule']);
    await expect(manager.initialize()).rejects.toThrow(ConfigError);
    await expect(manager.initialize()).rejects.toThrow('GET /api/v1/forgotten declares no access rule');
  });

  it('fails closed without an auth plugin: protected core routes answer 401', async () => {
    const manager = await createManager({ config: testConfig(database) });
    await manager.initialize();
    const res = await manager.server.inject('/api/v1/audit');
    expect(res.statusCode).toBe(401);
    expect(res.result).toMatchObject({ error_code: 'unauthorized' });
    expect((await manager.server.inject('/health')).statusCode).toBe(200);
    await manager.stop();
  });

  it('checks authentication and the minimum role, with insufficient_role naming the role needed', async () => {
    const manager = await createManager({ config: testConfig(database), plugins: [headerAuth] });
    await manager.initialize();
    const get = (url: string, role?: Role) => manager.server.inject({ url, headers: role ? { 'x-test-role': role } : {} });

    expect((await get('/api/v1/any')).statusCode).toBe(401);
    expect((await get('/api/v1/any', 'viewer')).statusCode).toBe(200);
    const denied = await get('/api/v1/ops', 'viewer');
    expect(denied.statusCode).toBe(403);
    expect(denied.result).toMatchObject({ error_code: 'insufficient_role', required_role: 'operator' });
    expect((await get('/api/v1/ops', 'operator')).statusCode).toBe(200);
    expect((await get('/api/v1/ops', 'super_admin')).statusCode).toBe(200);
    expect((await get('/api/v1/audit', 'operator')).statusCode).toBe(403);
    expect((await get('/api/v1/audit', 'admin')).statusCode).toBe(200);
    expect((await get('/api/v1/drivers', 'operator')).statusCode).toBe(403);
    await manager.stop();
  });
});

describe.each(testDatabases())('audit log on %s', (kind) => {
  it('appends records, never stores secret-looking fields, and filters and pages newest first', async () => {
    const database = await createTestDatabase(kind);
    const manager = await createManager({ config: testConfig(database), plugins: [headerAuth] });
    await manager.initialize();
    const { audit } = manager.context;

    await audit.record({ action: 'auth.login', user_id: 'u1', username: 'alice', ip: '127.0.0.1' });
    await audit.record({
      action: 'user.update',
      user_id: 'u1',
      target_type: 'user',
      target_id: 'u2',
      details: { changed: { role: 'operator' }, password: 'Secret123', nested: { api_token: 'bct_x' } }
    });
    await audit.record({ action: 'auth.login_failed', username: 'mallory', outcome: 'failure' });

    const page = await manager.server.inject({ url: '/api/v1/audit?per_page=2', headers: { 'x-test-role': 'admin' } });
    expect(page.statusCode).toBe(200);
    expect(page.headers['x-total-count']).toBe('3');
    const body = page.result as { records: { action: string; details: Record<string, unknown> }[]; total: number };
    expect(body.records.map((r) => r.action)).toEqual(['auth.login_failed', 'user.update']);
    expect(body.records[1].details).toEqual({ changed: { role: 'operator' }, password: '[redacted]', nested: { api_token: '[redacted]' } });
    expect(JSON.stringify(await manager.context.db('audit_log').select())).not.toMatch(/Secret123|bct_x/);

    const byUser = await manager.server.inject({ url: '/api/v1/audit?user_id=u1&action=auth.login', headers: { 'x-test-role': 'admin' } });
    expect((byUser.result as { records: unknown[] }).records).toHaveLength(1);
    const future = await manager.server.inject({ url: '/api/v1/audit?from=2999-01-01T00:00:00Z', headers: { 'x-test-role': 'admin' } });
    expect((future.result as { total: number }).total).toBe(0);
    const bad = await manager.server.inject({ url: '/api/v1/audit?per_page=500&from=yesterday', headers: { 'x-test-role': 'admin' } });
    expect(bad.statusCode).toBe(400);
    await manager.stop();
    await database.cleanup();
  });
});
