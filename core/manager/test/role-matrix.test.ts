import crypto from 'node:crypto';
import { nowIso, routeAccess, type Manager, type Role, type RouteAccess } from '@bilbycast/core';
import auth from '@bilbycast/auth';
import events from '@bilbycast/events';
import nodes from '@bilbycast/nodes';
import ui from '@bilbycast/ui';
import { createTestDatabase, testConfig, testDatabases, type TestDatabase } from '@bilbycast/tests';
import users, { hashPassword } from '@bilbycast/users';
import type { ServerInjectResponse } from '@hapi/hapi';
import { createDefaultManager } from '../src';

/**
 * Who may call each API route of the standard build. A route added without an entry here
 * fails the first test, so every new endpoint gets its rule reviewed.
 */
const EXPECTED: Record<string, RouteAccess> = {
  'GET /health': 'public',
  'GET /api/v1/audit': { role: 'admin' },
  'GET /api/v1/drivers': { role: 'admin' },
  'GET /api/v1/device-types': 'authenticated',
  'GET /api/v1/device-types/{type}': 'authenticated',
  'POST /api/v1/auth/login': 'public',
  'POST /api/v1/auth/login-form': 'public',
  'POST /api/v1/auth/logout': 'authenticated',
  'GET /api/v1/auth/me': 'authenticated',
  'PUT /api/v1/auth/me': 'session',
  'POST /api/v1/auth/change-password': 'session',
  'GET /api/v1/auth/sessions': 'authenticated',
  'DELETE /api/v1/auth/sessions/{id}': 'session',
  'GET /api/v1/auth/tokens': 'authenticated',
  'POST /api/v1/auth/tokens': 'session',
  'DELETE /api/v1/auth/tokens/{id}': 'session',
  'POST /api/v1/auth/mfa/totp/setup': 'session',
  'POST /api/v1/auth/mfa/totp/confirm': 'session',
  'POST /api/v1/auth/mfa/totp/disable': 'session',
  'POST /api/v1/auth/mfa/recovery-codes': 'session',
  'POST /api/v1/auth/mfa/verify': 'public',
  'DELETE /api/v1/auth/mfa/verify': 'public',
  'GET /api/v1/auth/oidc/status': 'public',
  'GET /api/v1/auth/oidc/login': 'public',
  'GET /api/v1/auth/oidc/callback': 'public',
  'GET /api/v1/auth/oidc/config': { role: 'super_admin' },
  'PUT /api/v1/auth/oidc/client-secret': { role: 'super_admin' },
  'GET /api/v1/auth/sso-identities': 'session',
  'POST /api/v1/auth/sso-identities/link': 'session',
  'DELETE /api/v1/auth/sso-identities': 'session',
  'GET /api/v1/users': { role: 'admin' },
  'POST /api/v1/users': { role: 'admin' },
  'GET /api/v1/users/{id}': 'authenticated',
  'PUT /api/v1/users/{id}': { role: 'admin' },
  'DELETE /api/v1/users/{id}': { role: 'admin' },
  'DELETE /api/v1/users/{id}/mfa': { role: 'admin' },
  'GET /api/v1/users/{id}/sso-identities': { role: 'admin' },
  'POST /api/v1/users/{id}/sso-identities': { role: 'super_admin' },
  'DELETE /api/v1/users/{id}/sso-identities': { role: 'admin' },
  'GET /api/v1/nodes': 'authenticated',
  'POST /api/v1/nodes': { role: 'admin' },
  'GET /api/v1/nodes/{id}': 'authenticated',
  'PUT /api/v1/nodes/{id}': { role: 'admin' },
  'DELETE /api/v1/nodes/{id}': { role: 'admin' },
  'POST /api/v1/nodes/{id}/token': { role: 'admin' },
  'GET /api/v1/nodes/{id}/stats': 'authenticated',
  'GET /api/v1/nodes/{id}/stats/history': 'authenticated',
  'GET /api/v1/nodes/{id}/thumbnails/{flow_id}': 'authenticated',
  'POST /api/v1/nodes/{id}/command': { role: 'operator' },
  'GET /api/v1/nodes/{id}/config': { role: 'operator' },
  'POST /api/v1/nodes/{id}/rotate-secret': { role: 'admin' },
  'GET /api/v1/events': 'authenticated',
  'GET /api/v1/events/count': 'authenticated',
  'POST /api/v1/events/{id}/ack': { role: 'operator' },
  'POST /api/v1/events/ack': { role: 'operator' },
  'GET /assets/{file*}': 'public',
  'GET /{path*}': 'public'
};

const ROLE_ORDER: Role[] = ['viewer', 'operator', 'admin', 'super_admin'];
const SOME_ID = '8a6e0804-2bd0-4672-b79d-d97027f9071b';
const PASSWORD = 'Matrix-Passw0rd';

interface Caller {
  name: string;
  role: Role | null;
  /** An API token (session-only routes refuse it). */
  token?: boolean;
  headers(method: string): Record<string, string>;
}

describe.each(testDatabases())('role x endpoint matrix on %s', (kind) => {
  let database: TestDatabase;
  let manager: Manager;
  const callers: Caller[] = [];

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    manager = await createDefaultManager(testConfig(database), {
      plugins: [
        users,
        { plugin: auth, options: { oidc: { issuer: 'https://idp.invalid', client_id: 'm', redirect_url: 'https://m.invalid/api/v1/auth/oidc/callback' } } },
        nodes,
        events,
        ui
      ]
    });
    await manager.initialize();
    callers.push({ name: 'anonymous', role: null, headers: () => ({}) });
    for (const role of ROLE_ORDER) {
      await manager.context.db('users').insert({
        id: crypto.randomUUID(),
        username: `m-${role}`,
        username_key: `m-${role}`,
        display_name: role,
        role,
        is_active: true,
        password_hash: await hashPassword(PASSWORD),
        created_at: nowIso(),
        updated_at: nowIso()
      });
      const login = await manager.server.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: `m-${role}`, password: PASSWORD } });
      const cookies = ([] as string[])
        .concat(login.headers['set-cookie'] ?? [])
        .map((c) => c.split(';')[0])
        .join('; ');
      const csrf = (login.result as { csrf_token: string }).csrf_token;
      callers.push({ name: `${role} session`, role, headers: (method) => ({ cookie: cookies, ...(method === 'get' ? {} : { 'x-csrf-token': csrf }) }) });
    }
    // A viewer-capped API token of an admin acts as a viewer.
    const admin = callers.find((c) => c.role === 'admin')!;
    const token = await manager.server.inject({
      method: 'POST',
      url: '/api/v1/auth/tokens',
      payload: { name: 'matrix', role: 'viewer' },
      headers: admin.headers('post')
    });
    const secret = (token.result as { token: string }).token;
    callers.push({ name: 'viewer-capped token', role: 'viewer', token: true, headers: () => ({ authorization: `Bearer ${secret}` }) });
  });
  afterAll(async () => {
    await manager.stop();
    await database.cleanup();
  });

  const apiRoutes = () => manager.server.table().filter((r) => r.realm.plugin !== 'hapi-swagger');

  it('declares exactly the expected access rule on every route', () => {
    const declared = Object.fromEntries(apiRoutes().map((r) => [`${r.method.toUpperCase()} ${r.path}`, routeAccess(r)]));
    expect(declared).toEqual(EXPECTED);
  });

  it('enforces it for anonymous callers, every role and an API token', async () => {
    const rows: string[] = [];
    for (const route of apiRoutes()) {
      const access = routeAccess(route)!;
      if (access === 'public' || route.path === '/api/v1/auth/logout') continue;
      const url = route.path.replace(/\{[^}]+\}/g, SOME_ID);
      for (const caller of callers) {
        const res: ServerInjectResponse = await manager.server.inject({
          method: route.method,
          url,
          payload: route.method === 'get' ? undefined : {},
          headers: caller.headers(route.method)
        });
        const code = (res.result as { error_code?: string } | null)?.error_code;
        const expected =
          caller.role === null
            ? 'unauthorized'
            : access === 'session' && caller.token
              ? 'session_required'
              : typeof access === 'object' && ROLE_ORDER.indexOf(caller.role) < ROLE_ORDER.indexOf(access.role)
                ? 'insufficient_role'
                : 'passes';
        const actual = res.statusCode === 401 ? 'unauthorized' : code === 'insufficient_role' || code === 'session_required' ? code : 'passes';
        if (actual !== expected)
          rows.push(`${route.method.toUpperCase()} ${route.path} as ${caller.name}: expected ${expected}, got ${res.statusCode} ${code ?? ''}`);
      }
    }
    expect(rows).toEqual([]);
  });
});
