import { createTestDatabase, testConfig, testDatabases, type TestDatabase } from '@bilbycast/tests';
import type { Plugin } from '@hapi/hapi';
import { createManager, type Migration } from '../src';

/** A plugin owning two tables, the second created by a later migration that references the first. */
const widgets: Migration[] = [
  {
    name: '001_widgets',
    up: (db) =>
      db.schema.createTable('widgets', (t) => {
        t.string('id', 36).primary();
        t.string('name', 64).notNullable();
      }),
    down: (db) => db.schema.dropTable('widgets')
  },
  {
    name: '002_widget_parts',
    up: (db) =>
      db.schema.createTable('widget_parts', (t) => {
        t.string('id', 36).primary();
        t.string('widget_id', 36).notNullable().references('id').inTable('widgets').onDelete('CASCADE');
      }),
    down: (db) => db.schema.dropTable('widget_parts')
  }
];
const widgetPlugin: Plugin<unknown> = {
  name: 'widgets',
  register(server) {
    server.manager.migrations.add('widgets', widgets);
  }
};

describe.each(testDatabases())('migrations on %s', (kind) => {
  let database: TestDatabase;
  beforeEach(async () => {
    database = await createTestDatabase(kind);
  });
  afterEach(() => database.cleanup());

  it('applies every plugin migration in order on start, records them, and rolls them all back', async () => {
    const manager = await createManager({ config: testConfig(database), plugins: [widgetPlugin] });
    const { db, migrations } = manager.context;
    await manager.initialize();

    expect(await db.schema.hasTable('widgets')).toBe(true);
    expect(await db.schema.hasTable('widget_parts')).toBe(true);
    const status = await migrations.status(db);
    expect(status.applied).toEqual(['core/001_master_key_check', 'core/002_audit_log', 'widgets/001_widgets', 'widgets/002_widget_parts']);
    expect(status.pending).toEqual([]);

    // Foreign keys are enforced on both databases. (Compared by error code: better-sqlite3's
    // error class can come from another jest module registry, which defeats toThrow.)
    const outcome = await db('widget_parts')
      .insert({ id: 'p1', widget_id: 'missing' })
      .then(
        () => 'inserted',
        (err: { code?: string }) => String(err.code)
      );
    expect(outcome).toMatch(/^(SQLITE_CONSTRAINT_FOREIGNKEY|ER_NO_REFERENCED_ROW_2)$/);

    const reverted = await migrations.rollback(db, true);
    expect(reverted).toEqual(['widgets/002_widget_parts', 'widgets/001_widgets', 'core/002_audit_log', 'core/001_master_key_check']);
    expect(await db.schema.hasTable('widgets')).toBe(false);
    expect(await db.schema.hasTable('widget_parts')).toBe(false);

    expect(await migrations.latest(db)).toHaveLength(4);
    expect(await db.schema.hasTable('widget_parts')).toBe(true);
    await manager.stop();
  });

  it('refuses a master key that is not the database’s before migrating anything', async () => {
    const first = await createManager({ config: testConfig(database, { master_key: 'a'.repeat(64) }) });
    await first.initialize();
    await first.stop();

    const wrongKey = await createManager({ config: testConfig(database, { master_key: 'b'.repeat(64) }), plugins: [widgetPlugin] });
    await expect(wrongKey.initialize()).rejects.toThrow(/does not match this database/);
    const rightKey = await createManager({ config: testConfig(database, { master_key: 'a'.repeat(64) }), plugins: [widgetPlugin] });
    // The widgets migrations were still pending: the wrong key changed nothing.
    expect((await rightKey.context.migrations.status(rightKey.context.db)).pending).toEqual(['widgets/001_widgets', 'widgets/002_widget_parts']);
    await rightKey.initialize();
    await rightKey.stop();
  });

  it('applies only new migrations when a plugin adds one after a first start', async () => {
    const first = await createManager({
      config: testConfig(database),
      plugins: [{ name: 'widgets', register: (s) => s.manager.migrations.add('widgets', widgets.slice(0, 1)) }]
    });
    await first.initialize();
    const config = first.context.config;
    await first.stop();

    const second = await createManager({ config, plugins: [widgetPlugin] });
    await second.initialize();
    const { applied, pending } = await second.context.migrations.status(second.context.db);
    expect(applied).toContain('widgets/002_widget_parts');
    expect(pending).toEqual([]);
    await second.stop();
  });
});

describe('SQLite settings', () => {
  it('opens the file in WAL mode, synchronous NORMAL, with foreign keys on', async () => {
    const database = await createTestDatabase('sqlite');
    const manager = await createManager({ config: testConfig(database) });
    await manager.initialize();
    const [{ journal_mode }] = await manager.context.db.raw('PRAGMA journal_mode');
    const [{ foreign_keys }] = await manager.context.db.raw('PRAGMA foreign_keys');
    expect(journal_mode).toBe('wal');
    expect(foreign_keys).toBe(1);
    // 1 = NORMAL (FULL is 2).
    expect(await manager.context.db.raw('PRAGMA synchronous')).toEqual([{ synchronous: 1 }]);
    await manager.stop();
    await database.cleanup();
  });
});
