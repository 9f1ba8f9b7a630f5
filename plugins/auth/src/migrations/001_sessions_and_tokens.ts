import type { Migration } from '@bilbycast/core';

/** Server-side sessions and personal API tokens; secrets are stored only as SHA-256 hashes. */
export const sessionsAndTokens: Migration = {
  name: '001_sessions_and_tokens',
  async up(db) {
    await db.schema.createTable('auth_sessions', (table) => {
      table.string('id', 36).primary();
      table.string('secret_hash', 64).notNullable().unique();
      table.string('user_id', 36).notNullable().references('id').inTable('users').onDelete('CASCADE');
      table.string('ip', 64).nullable();
      table.string('user_agent', 256).nullable();
      table.string('created_at', 24).notNullable();
      table.string('last_seen_at', 24).notNullable();
      table.string('expires_at', 24).notNullable();
      table.index(['user_id']);
    });
    await db.schema.createTable('auth_api_tokens', (table) => {
      table.string('id', 36).primary();
      table.string('secret_hash', 64).notNullable().unique();
      table.string('prefix', 16).notNullable();
      table.string('user_id', 36).notNullable().references('id').inTable('users').onDelete('CASCADE');
      table.string('name', 100).notNullable();
      table.string('role', 16).nullable();
      table.string('created_at', 24).notNullable();
      table.string('expires_at', 24).nullable();
      table.string('last_used_at', 24).nullable();
      table.index(['user_id']);
    });
    // Counters for rate-limiter-flexible (login per IP, account lockout), shared by every
    // manager instance using this database. Same shape the library would create itself.
    await db.schema.createTable('auth_rate_limits', (table) => {
      table.string('key', 255).primary();
      table.integer('points').notNullable().defaultTo(0);
      table.bigInteger('expire').nullable();
    });
  },
  async down(db) {
    await db.schema.dropTable('auth_rate_limits');
    await db.schema.dropTable('auth_api_tokens');
    await db.schema.dropTable('auth_sessions');
  }
};
