import { createTestDatabase, testConfig, testDatabases, type TestDatabase } from '@bilbycast/tests';
import type { Knex } from 'knex';
import { createManager, openDatabase, parseDatabaseUrl } from '../src';

describe.each(testDatabases())('database connection on %s', (kind) => {
  let database: TestDatabase;
  let db: Knex;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    db = openDatabase(parseDatabaseUrl(database.url, database.dataDir));
  });
  afterAll(async () => {
    await db.destroy();
    await database.cleanup();
  });

  const lower = async (value: string | null) => (await db.first(db.raw('lower(?) as v', [value])))?.v;

  it('lower() folds non-ASCII letters too', async () => {
    expect(await lower('ÉCHEC du Flux Ü')).toBe('échec du flux ü');
    expect(await lower(null)).toBeNull();
  });
});

const mysqlOnly = testDatabases().filter((kind) => kind === 'mysql');
if (mysqlOnly.length) {
  describe('a MariaDB database created without utf8mb4', () => {
    it('is refused before anything is migrated, with the statement that fixes it', async () => {
      const database = await createTestDatabase('mysql', { mysqlCharset: 'latin1' });
      try {
        const manager = await createManager({ config: testConfig(database) });
        await expect(manager.start()).rejects.toThrow(
          /uses the latin1 character set; the manager needs utf8mb4\. Create it with: CREATE DATABASE .* CHARACTER SET utf8mb4/
        );
        const probe = openDatabase(parseDatabaseUrl(database.url, database.dataDir));
        expect(await probe.schema.hasTable('users')).toBe(false);
        expect(await probe.schema.hasTable('knex_migrations')).toBe(false);
        await probe.destroy();
      } finally {
        await database.cleanup();
      }
    });
  });
}
