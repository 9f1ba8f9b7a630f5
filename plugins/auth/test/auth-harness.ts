import crypto from 'node:crypto';
import { createManager, nowIso, type Manager, type ManagerConfig, type Role } from '@bilbycast/core';
import { createTestDatabase, testConfig, type TestDatabase, type TestDatabaseKind } from '@bilbycast/tests';
import users, { hashPassword } from '@bilbycast/users';
import type { ServerInjectResponse } from '@hapi/hapi';
import auth from '../src';

export const PASSWORD = 'Corr3ct-Horse';

/** A manager with the users and auth plugins on a fresh database (`config`: options to change). */
export async function authManager(
  kind: TestDatabaseKind,
  config: Partial<ManagerConfig> = {}
): Promise<{ manager: Manager; database: TestDatabase; close(): Promise<void> }> {
  const database = await createTestDatabase(kind);
  const manager = await createManager({ config: testConfig(database, config), plugins: [users, auth] });
  await manager.initialize();
  return {
    manager,
    database,
    close: async () => {
      await manager.stop();
      await database.cleanup();
    }
  };
}

export async function seedUser(manager: Manager, username: string, role: Role, extra: Record<string, unknown> = {}): Promise<string> {
  const id = crypto.randomUUID();
  await manager.context.db('users').insert({
    id,
    username,
    username_key: username.toLowerCase(),
    display_name: username,
    role,
    is_active: true,
    password_hash: await hashPassword(PASSWORD),
    created_at: nowIso(),
    updated_at: nowIso(),
    ...extra
  });
  return id;
}

/** Cookies a browser would keep from Set-Cookie headers, sent back as a Cookie header. */
export class Browser {
  readonly cookies = new Map<string, string>();

  constructor(private readonly manager: Manager) {}

  store(res: ServerInjectResponse): void {
    const raw = res.headers['set-cookie'];
    for (const line of Array.isArray(raw) ? raw : raw ? [raw] : []) {
      const [pair] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      if (value === '' || /Max-Age=0|Expires=Thu, 01 Jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  get cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async request(method: string, url: string, payload?: unknown, headers: Record<string, string> = {}, csrf = true) {
    const withCsrf = csrf && method !== 'GET' && this.cookies.has('csrf_token') ? { 'x-csrf-token': this.cookies.get('csrf_token')! } : {};
    const res = await this.manager.server.inject({
      method,
      url,
      payload: payload as object | undefined,
      headers: { ...(this.cookies.size ? { cookie: this.cookieHeader } : {}), ...withCsrf, ...headers },
      remoteAddress: headers['x-test-ip'] ?? '127.0.0.1'
    });
    this.store(res);
    return res;
  }

  login(username: string, password = PASSWORD, ip?: string) {
    return this.request('POST', '/api/v1/auth/login', { username, password }, ip ? { 'x-test-ip': ip } : {});
  }
}
