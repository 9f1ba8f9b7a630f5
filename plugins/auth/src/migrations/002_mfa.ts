import type { Migration } from '@bilbycast/core';

/**
 * TOTP enrolment per user (secrets encrypted at rest, recovery codes as hashes) and the
 * single-use challenges that connect a password step to its MFA step.
 */
export const mfa: Migration = {
  name: '002_mfa',
  async up(db) {
    await db.schema.createTable('auth_mfa', (table) => {
      table.string('user_id', 36).primary().references('id').inTable('users').onDelete('CASCADE');
      table.boolean('enabled').notNullable().defaultTo(false);
      table.text('totp_secret').nullable();
      table.text('pending_secret').nullable();
      table.bigInteger('last_used_step').nullable();
      table.text('recovery_code_hashes').notNullable().defaultTo('[]');
      table.string('updated_at', 24).notNullable();
    });
    await db.schema.createTable('auth_mfa_challenges', (table) => {
      table.string('secret_hash', 64).primary();
      table.string('user_id', 36).notNullable().references('id').inTable('users').onDelete('CASCADE');
      table.string('expires_at', 24).notNullable();
      table.string('next', 2048).nullable();
    });
  },
  async down(db) {
    await db.schema.dropTable('auth_mfa_challenges');
    await db.schema.dropTable('auth_mfa');
  }
};
