import { createTestDatabase, testDatabases, type TestDatabase } from '@bilbycast/tests';
import type { Knex } from 'knex';
import { openDatabase, parseDatabaseUrl } from '../src';

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
