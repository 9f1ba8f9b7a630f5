import { listTables } from '@bilbycast/core';
import { createTestDatabase, testConfig, testDatabases, type TestDatabase } from '@bilbycast/tests';
import { createDefaultManager } from '../src';

/** knex's own bookkeeping: a backup records the applied migrations itself. */
const MIGRATION_BOOKKEEPING = ['knex_migrations', 'knex_migrations_lock'];

describe.each(testDatabases())('backup declarations of the standard build on %s', (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(kind);
  });
  afterAll(() => database.cleanup());

  it('declare every table the migrations create, durable or ephemeral, each once', async () => {
    const manager = await createDefaultManager(testConfig(database));
    try {
      await manager.initialize();
      const { db, backupTables } = manager.context;
      const tables = await listTables(db);
      const declared = [...backupTables.durable(), ...backupTables.ephemeral()].map((t) => t.table);
      expect(tables.filter((t) => !MIGRATION_BOOKKEEPING.includes(t)).sort()).toEqual([...declared].sort());
      // Referenced tables come first: users before the tables that point at them.
      const durable = backupTables.durable().map((t) => t.table);
      expect(durable.indexOf('users')).toBeLessThan(durable.indexOf('auth_mfa'));
      expect(durable.indexOf('nodes')).toBeLessThan(durable.indexOf('events'));
    } finally {
      await manager.stop();
    }
  });
});
