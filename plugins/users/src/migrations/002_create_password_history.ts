import type { Migration } from '@bilbycast/core';

/** The hashes of a user's replaced passwords, newest kept (see services/password-history.ts). */
export const createPasswordHistory: Migration = {
  name: '002_create_password_history',
  async up(db) {
    await db.schema.createTable('user_password_history', (table) => {
      table.increments('id').primary();
      table.string('user_id', 36).notNullable().references('id').inTable('users').onDelete('CASCADE');
      table.string('password_hash', 255).notNullable();
      table.string('replaced_at', 24).notNullable();
      table.index(['user_id', 'id']);
    });
  },
  async down(db) {
    await db.schema.dropTable('user_password_history');
  }
};
