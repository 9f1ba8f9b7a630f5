import type { Command } from 'commander';
import { assertDatabaseUsable, parseDatabaseUrl } from '../../database/connection';
import { KEY_CHECK_TABLE, verifyMasterKey } from '../../encryption/master-key';
import { commandConfig, commandManager } from '../command-context';
import type { CliManifest } from '../program';

/** `migrate`: apply pending migrations, list their status, or roll back. */
export function registerMigrateCommand(program: Command, manifest: CliManifest): void {
  program
    .command('migrate')
    .description('apply pending database migrations (they also run at every start)')
    .option('--status', 'list applied and pending migrations, change nothing')
    .option('--rollback', 'revert the most recent batch of migrations')
    .option('--all', 'with --rollback: revert every migration (drops all tables)')
    .action(async (opts: { status?: boolean; rollback?: boolean; all?: boolean }) => {
      const config = commandConfig(manifest, program.opts(), true);
      const manager = await commandManager(manifest, config);
      const { db, migrations, secrets, masterKey } = manager.context;
      try {
        if (opts.status) {
          const { applied, pending } = await migrations.status(db);
          for (const name of applied) console.log(`applied  ${name}`);
          for (const name of pending) console.log(`pending  ${name}`);
        } else if (opts.rollback) {
          // Refuse to touch a database that belongs to another master key, as `serve` does.
          if (await db.schema.hasTable(KEY_CHECK_TABLE)) await verifyMasterKey(db, secrets, masterKey.file);
          const reverted = await migrations.rollback(db, opts.all === true);
          console.log(reverted.length ? reverted.map((n) => `reverted ${n}`).join('\n') : 'Nothing to roll back.');
        } else {
          await assertDatabaseUsable(db, parseDatabaseUrl(config.database_url, config.data_dir));
          const known = await db.schema.hasTable(KEY_CHECK_TABLE);
          if (known) await verifyMasterKey(db, secrets, masterKey.file);
          const applied = await migrations.latest(db);
          if (!known) await verifyMasterKey(db, secrets, masterKey.file);
          console.log(applied.length ? applied.map((n) => `applied  ${n}`).join('\n') : 'Database is up to date.');
        }
      } finally {
        await db.destroy();
      }
    });
}
