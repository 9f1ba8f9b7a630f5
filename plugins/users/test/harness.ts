import { createManager, fromDbBoolean, isRole, lowerRole, nowIso, parseJsonColumn, type Manager, type ManagerCredentials, type Role } from '@bilbycast/core';
import { createTestDatabase, testConfig, type TestDatabaseKind } from '@bilbycast/tests';
import type { Plugin } from '@hapi/hapi';
import type { Knex } from 'knex';
import users from '../src';

/** Credentials for a stored user, as the auth plugin builds them; `cap` plays an API token's role cap. */
export async function credentialsFor(db: Knex, username: string, cap?: Role): Promise<ManagerCredentials | undefined> {
  const row = await db('users').where({ username_key: username.toLowerCase() }).first();
  if (!row) return undefined;
  const role = row.role as Role;
  return {
    user: { id: row.id, username: row.username, display_name: row.display_name, email: row.email, role },
    role: cap ? lowerRole(role, cap) : role,
    allowed_node_ids: parseJsonColumn<string[] | null>(row.allowed_node_ids, null),
    method: cap ? 'token' : 'session',
    ...(cap ? { token_id: `token-${row.username}` } : { session_id: `session-${row.username}` })
  };
}

/**
 * A stand-in for the auth plugin: authenticates the stored, active, unexpired user named in
 * `x-test-user` (capped to `x-test-cap` when given; a session `session-<username>` otherwise),
 * and provides a `sessions` service that records revocations in `revoked`.
 */
export function standInAuth(revoked: Revocation[]): Plugin<unknown> {
  return {
    name: 'stand-in-auth',
    register(server) {
      const { db } = server.manager;
      server.auth.scheme('test-user', () => ({
        async authenticate(request, h) {
          const username = request.headers['x-test-user'] as string | undefined;
          const cap = request.headers['x-test-cap'] as string | undefined;
          if (!username) return h.unauthenticated(new Error('no x-test-user header'));
          const row = await db('users').where({ username_key: username.toLowerCase() }).first();
          const usable = row && fromDbBoolean(row.is_active) && (row.expires_at === null || row.expires_at > nowIso());
          const credentials = usable ? await credentialsFor(db, username, isRole(cap) ? cap : undefined) : undefined;
          if (!credentials) return h.unauthenticated(new Error('unknown or disabled user'));
          return h.authenticated({ credentials: credentials as never });
        }
      }));
      server.auth.strategy('test', 'test-user');
      server.auth.default({ strategy: 'test', mode: 'try' });
      server.manager.services.provide('sessions', {
        revokeAllForUser: (userId, options = {}) => {
          revoked.push({ userId, ...options });
          return Promise.resolve({ sessions: 0, api_tokens: 0 });
        }
      });
    }
  };
}

export interface Revocation {
  userId: string;
  keepSessionId?: string;
  keepApiTokens?: boolean;
}

export const ROOT = { username: 'root', password: 'Root-pass-1' };

export interface UsersApi {
  manager: Manager;
  /** The session revocations the users plugin asked for. */
  revoked: Revocation[];
  /** Calls the API as the named user (none: unauthenticated). */
  call(as: string | null, method: string, url: string, payload?: unknown, headers?: Record<string, string>): Promise<Reply>;
  /** Creates a user as root and returns it. */
  createUser(fields: Record<string, unknown>): Promise<Record<string, any>>;
  stop(): Promise<void>;
}

export interface Reply {
  statusCode: number;
  headers: Record<string, unknown>;
  body: any;
}

/** A fresh database and manager with the users plugin, the stand-in auth and the bootstrap super_admin `root`. */
export async function startUsersApi(kind: TestDatabaseKind): Promise<UsersApi> {
  const database = await createTestDatabase(kind);
  const revoked: Revocation[] = [];
  const manager = await createManager({
    config: testConfig(database, { admin_username: ROOT.username, admin_password: ROOT.password }, [users]),
    plugins: [users, standInAuth(revoked)]
  });
  await manager.initialize();
  const call: UsersApi['call'] = async (as, method, url, payload, headers = {}) => {
    const res = await manager.server.inject({
      method,
      url,
      payload: payload as object | undefined,
      headers: { ...(as ? { 'x-test-user': as } : {}), ...headers }
    });
    return { statusCode: res.statusCode, headers: res.headers, body: res.payload ? JSON.parse(res.payload) : undefined };
  };
  return {
    manager,
    revoked,
    call,
    async createUser(fields) {
      const res = await call(ROOT.username, 'POST', '/api/v1/users', { password: 'Good-pass-1', ...fields });
      if (res.statusCode !== 201) throw new Error(`could not create user: ${JSON.stringify(res.body)}`);
      return res.body;
    },
    async stop() {
      await manager.stop();
      await database.cleanup();
    }
  };
}
