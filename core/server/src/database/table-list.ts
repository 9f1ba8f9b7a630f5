import type { Knex } from 'knex';

/** The parts of knex's (untyped) client object the manager reads. */
export interface KnexClientInfo {
  config: { client: string };
  database(): string;
}

/** The tables of the manager's database (SQLite or MySQL/MariaDB), without the engine's own. */
export async function listTables(db: Knex): Promise<string[]> {
  const client = db.client as KnexClientInfo;
  const rows: { name: string }[] =
    client.config.client === 'better-sqlite3'
      ? await db('sqlite_master').where({ type: 'table' }).whereNot('name', 'like', 'sqlite_%').select('name')
      : await db('information_schema.tables').where({ table_schema: client.database() }).select('table_name as name');
  return rows.map((row) => row.name);
}
