import type { Migration } from '@bilbycast/core';

/** Bindings of identity-provider accounts to users, and the encrypted OIDC client secret. */
export const oidc: Migration = {
  name: '003_oidc',
  async up(db) {
    await db.schema.createTable('auth_oidc_identities', (table) => {
      table.string('issuer', 255).notNullable();
      table.string('subject', 255).notNullable();
      table.string('user_id', 36).notNullable().references('id').inTable('users').onDelete('CASCADE');
      table.string('created_at', 24).notNullable();
      table.primary(['issuer', 'subject']);
    });
    await db.schema.createTable('auth_oidc_client', (table) => {
      table.integer('id').primary();
      table.text('client_secret').notNullable();
      table.string('updated_at', 24).notNullable();
    });
  },
  async down(db) {
    await db.schema.dropTable('auth_oidc_client');
    await db.schema.dropTable('auth_oidc_identities');
  }
};
