import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';

export type TestDatabaseKind = 'sqlite' | 'mysql';

/** The databases this run covers (set by the jest global setup; both by default). */
export function testDatabases(): TestDatabaseKind[] {
  const listed = (process.env.BILBYCAST_TEST_DATABASES ?? 'sqlite,mysql').split(',').map((s) => s.trim());
  return (['sqlite', 'mysql'] as const).filter((kind) => listed.includes(kind));
}

export interface TestDatabase {
  kind: TestDatabaseKind;
  /** A BILBYCAST_DATABASE_URL for this database. */
  url: string;
  /** A fresh data dir to go with it. */
  dataDir: string;
  /** Drops the database and removes the data dir. */
  cleanup(): Promise<void>;
}

/**
 * A brand-new empty database: a SQLite file in a temp dir, or a new schema on the test MariaDB
 * (utf8mb4 unless `mysqlCharset` asks for another, as an operator's plain CREATE DATABASE may).
 */
export async function createTestDatabase(kind: TestDatabaseKind, options: { mysqlCharset?: string } = {}): Promise<TestDatabase> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bilbycast-test-'));
  if (kind === 'sqlite') {
    return {
      kind,
      url: `sqlite:${path.join(dataDir, 'test.db')}`,
      dataDir,
      cleanup: () => Promise.resolve(fs.rmSync(dataDir, { recursive: true, force: true }))
    };
  }
  const serverUrl = process.env.BILBYCAST_TEST_MYSQL_URL;
  if (!serverUrl) throw new Error('BILBYCAST_TEST_MYSQL_URL is not set: run the tests through jest (its global setup starts MariaDB)');
  const name = `bc_test_${crypto.randomBytes(6).toString('hex')}`;
  const charset = options.mysqlCharset ? `CHARACTER SET ${options.mysqlCharset}` : 'CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci';
  await adminQuery(serverUrl, `CREATE DATABASE \`${name}\` ${charset}`);
  return {
    kind,
    url: `${serverUrl.replace(/\/$/, '')}/${name}`,
    dataDir,
    cleanup: async () => {
      await adminQuery(serverUrl, `DROP DATABASE IF EXISTS \`${name}\``);
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  };
}

async function adminQuery(serverUrl: string, sql: string): Promise<void> {
  const url = new URL(serverUrl);
  const conn = await mysql.createConnection({
    host: url.hostname,
    port: Number(url.port || 3306),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password)
  });
  try {
    await conn.query(sql);
  } finally {
    await conn.end();
  }
}
