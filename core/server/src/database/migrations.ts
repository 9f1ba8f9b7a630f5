import type { Knex } from 'knex';

/** One schema change owned by a plugin. Names sort within the plugin: `001_create_users`. */
export interface Migration {
  name: string;
  up(db: Knex): Promise<void>;
  down(db: Knex): Promise<void>;
}

interface OwnedMigration extends Migration {
  fullName: string;
}

/**
 * Collects each plugin's migrations in registration order (which is plugin dependency order)
 * and serves them to knex through a custom migration source: no files are globbed and no
 * TypeScript loader is needed at run time. Migrations are recorded as `<owner>/<name>`.
 */
export class MigrationRegistry {
  readonly #migrations: OwnedMigration[] = [];

  add(owner: string, migrations: Migration[]): void {
    for (const migration of migrations) {
      const fullName = `${owner}/${migration.name}`;
      if (this.#migrations.some((m) => m.fullName === fullName)) {
        throw new Error(`migration ${fullName} is registered twice`);
      }
      this.#migrations.push({ ...migration, fullName });
    }
  }

  get source(): Knex.MigrationSource<OwnedMigration> {
    const migrations = this.#migrations;
    return {
      getMigrations: () => Promise.resolve([...migrations]),
      getMigrationName: (migration) => migration.fullName,
      getMigration: (migration) => Promise.resolve({ up: (db: Knex) => migration.up(db), down: (db: Knex) => migration.down(db) })
    };
  }

  /** Applies every pending migration. Returns the names applied. */
  async latest(db: Knex): Promise<string[]> {
    const [, applied] = (await db.migrate.latest({ migrationSource: this.source })) as [number, string[]];
    return applied;
  }

  /** Reverts the last batch, or every migration with `all`. Returns the names reverted. */
  async rollback(db: Knex, all = false): Promise<string[]> {
    const [, reverted] = (await db.migrate.rollback({ migrationSource: this.source }, all)) as [number, string[]];
    return reverted;
  }

  async status(db: Knex): Promise<{ applied: string[]; pending: string[] }> {
    const [applied, pending] = (await db.migrate.list({ migrationSource: this.source })) as [{ name: string }[], OwnedMigration[]];
    return { applied: applied.map((m) => m.name), pending: pending.map((m) => m.fullName) };
  }
}
