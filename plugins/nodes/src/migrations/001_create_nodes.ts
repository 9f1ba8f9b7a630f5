import type { Migration } from '@bilbycast/core';

export const createNodes: Migration = {
  name: '001_create_nodes',
  async up(db) {
    await db.schema.createTable('nodes', (table) => {
      table.string('id', 36).primary();
      table.string('name', 128).notNullable();
      table.string('description', 512).nullable();
      table.string('device_type', 64).notNullable();
      // pending (waiting for its registration token) | online | offline
      table.string('status', 16).notNullable();
      // Derived by the driver from health, stats and active alarms: healthy | warning | critical.
      table.string('health', 16).nullable();
      // SHA-256 of the single-use registration token and of the node secret (both are
      // 122+ bits of randomness, so an unsalted hash is not reversible); never the values.
      table.string('registration_token_hash', 64).nullable().unique();
      table.string('registration_expires_at', 24).nullable();
      table.string('secret_hash', 64).nullable();
      // After rotate_secret the previous secret stays valid until the node signs in with the new one.
      table.string('previous_secret_hash', 64).nullable();
      table.string('software_version', 256).nullable();
      table.integer('protocol_version').nullable();
      table.text('capabilities').nullable();
      table.text('last_health', 'mediumtext').nullable();
      table.string('last_seen_at', 24).nullable();
      table.string('connected_at', 24).nullable();
      table.string('remote_addr', 128).nullable();
      table.string('expires_at', 24).nullable();
      table.text('metadata').nullable();
      table.string('created_at', 24).notNullable();
      table.string('updated_at', 24).notNullable();
      table.index(['device_type']);
      table.index(['status']);
    });
  },
  async down(db) {
    await db.schema.dropTable('nodes');
  }
};
