import crypto from 'node:crypto';
import auth from '@bilbycast/auth';
import { createManager, nowIso, type Manager, type Role } from '@bilbycast/core';
import nodes from '@bilbycast/nodes';
import { createTestDatabase, testConfig, type TestDatabase, type TestDatabaseKind } from '@bilbycast/tests';
import users from '@bilbycast/users';
import type { ServerInjectResponse } from '@hapi/hapi';
import type { Knex } from 'knex';
import { Browser, seedUser } from '../../auth/test/auth-harness';
import events, { type EventStore, type EventsOptions } from '../src';

export interface EventsEnv {
  manager: Manager;
  database: TestDatabase;
  db: Knex;
  store: EventStore;
  close(): Promise<void>;
}

/** A fresh database and an initialized manager with the users, auth, nodes and events plugins. */
export async function eventsManager(kind: TestDatabaseKind, options: EventsOptions = {}): Promise<EventsEnv> {
  const database = await createTestDatabase(kind);
  const manager = await createManager({
    config: testConfig(database),
    plugins: [users, { plugin: auth, options: {} }, nodes, { plugin: events, options }]
  });
  await manager.initialize();
  return {
    manager,
    database,
    db: manager.context.db,
    store: manager.context.services.get('events') as EventStore,
    async close() {
      await manager.stop();
      await database.cleanup();
    }
  };
}

/** A node row, inserted directly; returns its id. */
export async function addNode(db: Knex, name: string): Promise<string> {
  const id = crypto.randomUUID();
  await db('nodes').insert({ id, name, device_type: 'edge', status: 'offline', created_at: nowIso(), updated_at: nowIso() });
  return id;
}

/** An event row with chosen fields (created_at included), inserted directly; returns its id. */
export async function insertEvent(db: Knex, fields: { node_id: string } & Record<string, unknown>): Promise<number> {
  const severity = (fields.severity as string | undefined) ?? 'info';
  const [id] = await db('events').insert({
    severity,
    raw_severity: severity,
    category: 'test',
    message: 'test event',
    created_at: nowIso(),
    ...fields
  });
  return Number(id);
}

/** A new user with the given role (and extra columns such as allowed_node_ids), signed in. */
export async function signIn(manager: Manager, username: string, role: Role, extra: Record<string, unknown> = {}): Promise<Browser> {
  await seedUser(manager, username, role, extra);
  const browser = new Browser(manager);
  const res = await browser.login(username);
  if (res.statusCode !== 200) throw new Error(`could not sign in ${username}: ${res.payload}`);
  return browser;
}

export function body(res: ServerInjectResponse): any {
  return res.payload ? JSON.parse(res.payload) : undefined;
}

/** Resolves once the condition holds; the deadline only guards against a hang. */
export async function until(condition: () => Promise<boolean>, what: string, deadlineMs = 20_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
