/**
 * Column conventions shared by every plugin so that SQLite and MariaDB behave the same:
 * timestamps are ISO-8601 UTC strings with milliseconds (`2026-11-28T22:03:00.000Z`, which
 * sort and compare correctly as text), booleans come back as 0/1, JSON is stored as text.
 */
export function nowIso(): string {
  return new Date().toISOString();
}

export function toIso(value: Date | string | number | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return new Date(value).toISOString();
}

export function fromDbBoolean(value: unknown): boolean {
  return value === true || value === 1 || value === '1';
}

export function parseJsonColumn<T>(value: unknown, fallback: T): T {
  if (value === null || value === undefined || value === '') return fallback;
  if (typeof value !== 'string') return value as T;
  try {
    return JSON.parse(value) as T;
  } catch {
    return fallback;
  }
}

/** A primary-key or unique-index violation on SQLite (better-sqlite3) or MariaDB/MySQL (mysql2). */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'ER_DUP_ENTRY';
}

/** MariaDB/MySQL chose this transaction as a deadlock's victim and rolled it back (SQLite, one connection, never does). */
export function isDeadlock(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'ER_LOCK_DEADLOCK';
}

/** The insert or update referenced a row that does not exist (it was deleted meanwhile, say). */
export function isForeignKeyViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_FOREIGNKEY' || code === 'ER_NO_REFERENCED_ROW_2' || code === 'ER_NO_REFERENCED_ROW';
}
