import path from 'node:path';
import knex, { type Knex } from 'knex';
import { ConfigError } from '../config/errors';

export const SQLITE_FILE = 'bilbycast-manager.db';

export type DatabaseTarget =
  { client: 'sqlite'; filename: string } | { client: 'mysql'; host: string; port: number; user: string; password: string; database: string };

/**
 * Reads `database_url`: unset means the SQLite file in the data dir; `sqlite:<path>` a SQLite
 * file elsewhere; `mysql://` or `mariadb://` a MariaDB/MySQL server.
 */
export function parseDatabaseUrl(url: string | undefined, dataDir: string): DatabaseTarget {
  if (!url) return { client: 'sqlite', filename: path.join(dataDir, SQLITE_FILE) };
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'sqlite') {
    const file = url.replace(/^sqlite:(\/\/)?/i, '');
    if (!file) throw new ConfigError('BILBYCAST_DATABASE_URL: sqlite: needs a file path, e.g. sqlite:./data/manager.db');
    return { client: 'sqlite', filename: path.resolve(file) };
  }
  if (scheme === 'mysql' || scheme === 'mariadb') {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ConfigError('BILBYCAST_DATABASE_URL is not a valid URL (expected mysql://user:pass@host:port/db)');
    }
    let database: string, user: string, password: string;
    try {
      database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
      user = decodeURIComponent(parsed.username);
      password = decodeURIComponent(parsed.password);
    } catch {
      throw new ConfigError('BILBYCAST_DATABASE_URL has a malformed %-escape (write a literal % in a password as %25)');
    }
    if (!parsed.hostname || !database) {
      throw new ConfigError('BILBYCAST_DATABASE_URL must name a host and a database (mysql://user:pass@host:port/db)');
    }
    return { client: 'mysql', host: parsed.hostname, port: parsed.port ? Number(parsed.port) : 3306, user, password, database };
  }
  throw new ConfigError(`BILBYCAST_DATABASE_URL has unsupported scheme "${scheme ?? url.split(':')[0]}:" (use sqlite: or mysql://)`);
}

/** The parts of a better-sqlite3 connection used to set it up. */
interface SqliteConnection {
  pragma(sql: string): unknown;
  function(name: string, options: { deterministic: boolean }, fn: (value: unknown) => unknown): unknown;
}

/**
 * Opens the database: SQLite in WAL mode with foreign keys on and a Unicode lower(), or
 * MariaDB/MySQL via mysql2.
 */
export function openDatabase(target: DatabaseTarget): Knex {
  if (target.client === 'sqlite') {
    return knex({
      client: 'better-sqlite3',
      connection: { filename: target.filename },
      useNullAsDefault: true,
      pool: {
        min: 1,
        max: 1,
        afterCreate(conn: SqliteConnection, done: (err: Error | null, conn: unknown) => void) {
          try {
            // SQLite's lower() only folds ASCII; case-insensitive searches expect it to fold
            // 'É' as MariaDB does.
            conn.function('lower', { deterministic: true }, (value: unknown) => (typeof value === 'string' ? value.toLowerCase() : value));
            conn.pragma('foreign_keys = ON');
            conn.pragma('busy_timeout = 5000');
            conn.pragma('journal_mode = WAL');
            // Safe with WAL (no corruption on power loss; the last commits may roll back), and the
            // same on every open instead of depending on whether this run created the file.
            conn.pragma('synchronous = NORMAL');
            done(null, conn);
          } catch (err) {
            // The pool discards a connection whose set-up failed instead of handing it out.
            done(err as Error, conn);
          }
        }
      }
    });
  }
  return knex({
    client: 'mysql2',
    connection: {
      host: target.host,
      port: target.port,
      user: target.user,
      password: target.password,
      database: target.database,
      charset: 'utf8mb4',
      timezone: 'Z',
      connectTimeout: 5000
    },
    pool: { min: 0, max: 10 },
    acquireConnectionTimeout: 5000
  });
}

/**
 * Refuses a database the manager cannot work with, before anything is migrated: SQLite must
 * enforce foreign keys on the pooled connection; a MariaDB/MySQL database must default to
 * utf8mb4 (tables take its character set, and names, messages and device events are in any
 * language — latin1, the server default, would refuse them).
 */
export async function assertDatabaseUsable(db: Knex, target: DatabaseTarget): Promise<void> {
  if (target.client === 'sqlite') {
    const [row] = await db.raw<{ foreign_keys: number }[]>('PRAGMA foreign_keys');
    if (row?.foreign_keys !== 1) throw new Error(`foreign keys are not enforced on ${target.filename}`);
    return;
  }
  const [rows] = (await db.raw('SELECT @@character_set_database AS charset')) as [{ charset: string }[]];
  const charset = rows[0]?.charset;
  if (charset !== 'utf8mb4') {
    throw new ConfigError(
      `the database ${target.database} uses the ${charset} character set; the manager needs utf8mb4. ` +
        `Create it with: CREATE DATABASE \`${target.database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci ` +
        `(or, while it is still empty: ALTER DATABASE \`${target.database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci)`
    );
  }
}

/** A short description of the target that never includes a password (for logs and the CLI). */
export function describeDatabase(target: DatabaseTarget): string {
  return target.client === 'sqlite' ? `SQLite ${target.filename}` : `MariaDB/MySQL ${target.user}@${target.host}:${target.port}/${target.database}`;
}
