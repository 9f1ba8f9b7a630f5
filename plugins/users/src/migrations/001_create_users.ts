import type { Migration } from '@bilbycast/core';

export const createUsers: Migration = {
  name: '001_create_users',
  async up(db) {
    await db.schema.createTable('users', (table) => {
      table.string('id', 36).primary();
      table.string('username', 64).notNullable();
      // Lower-cased copy: usernames are unique case-insensitively on every database.
      table.string('username_key', 64).notNullable().unique();
      table.string('display_name', 128).nullable();
      table.string('email', 254).nullable();
      table.string('role', 16).notNullable();
      table.boolean('is_active').notNullable().defaultTo(true);
      table.string('expires_at', 24).nullable();
      table.text('allowed_node_ids').nullable();
      table.string('password_hash', 255).nullable();
      table.string('last_login_at', 24).nullable();
      table.string('created_at', 24).notNullable();
      table.string('updated_at', 24).notNullable();
    });
  },
  async down(db) {
    await db.schema.dropTable('users');
  }
};
