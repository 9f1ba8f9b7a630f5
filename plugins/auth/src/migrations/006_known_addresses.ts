import type { Migration } from '@bilbycast/core';

/**
 * Addresses each user has signed in from successfully (the newest few): while an account is
 * backed off because of failures from many addresses, sign-ins from these are still checked,
 * so someone elsewhere cannot lock the owner out.
 */
export const knownAddresses: Migration = {
  name: '006_known_addresses',
  async up(db) {
    await db.schema.createTable('auth_known_addresses', (table) => {
      table.string('user_id', 36).notNullable().references('id').inTable('users').onDelete('CASCADE');
      table.string('ip', 64).notNullable();
      table.string('last_success_at', 24).notNullable();
      table.primary(['user_id', 'ip']);
    });
  },
  async down(db) {
    await db.schema.dropTable('auth_known_addresses');
  }
};
