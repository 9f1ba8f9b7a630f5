import type { Migration } from './migrations';
import { KEY_CHECK_TABLE } from '../encryption/master-key';

/** Tables the host itself owns. */
export const coreMigrations: Migration[] = [
  {
    name: '001_master_key_check',
    async up(db) {
      await db.schema.createTable(KEY_CHECK_TABLE, (table) => {
        table.integer('id').primary();
        table.text('check_value').notNullable();
      });
    },
    async down(db) {
      await db.schema.dropTable(KEY_CHECK_TABLE);
    }
  }
];
