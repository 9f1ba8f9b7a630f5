import type { Knex } from 'knex';

/** The tables of the manager's database (SQLite or MySQL/MariaDB), without the engine's own. */
export async function listTables(db: Knex): Promise<string[]> {
  if (db.client.config.client === 'better-sqlite3') {
    const rows = (await db('sqlite_master').where({ type: 'table' }).whereNot('name', 'like', 'sqlite_%').select('name')) as { name: string }[];
    return rows.map((row) => row.name);
  }
  const rows = (await db('information_schema.tables').where({ table_schema: db.client.database() }).select('table_name as name')) as { name: string }[];
  return rows.map((row) => row.name);
}
