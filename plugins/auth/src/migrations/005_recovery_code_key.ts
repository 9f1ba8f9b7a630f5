import type { Migration } from '@bilbycast/core';

/**
 * A per-user key for recovery-code hashes (HMAC-SHA256), stored encrypted under the master
 * key: a copy of the database alone no longer lets anyone search the 50-bit codes offline.
 * Codes issued before keep their plain SHA-256 hashes until used or replaced.
 */
export const recoveryCodeKey: Migration = {
  name: '005_recovery_code_key',
  async up(db) {
    await db.schema.alterTable('auth_mfa', (table) => {
      table.text('recovery_code_key').nullable();
    });
  },
  async down(db) {
    await db.schema.alterTable('auth_mfa', (table) => {
      table.dropColumn('recovery_code_key');
    });
  }
};
