import type { Migration } from '@bilbycast/core';

export const createEvents: Migration = {
  name: '001_create_events',
  async up(db) {
    await db.schema.createTable('events', (table) => {
      table.bigIncrements('id').primary();
      table.string('node_id', 36).notNullable().references('id').inTable('nodes').onDelete('CASCADE');
      // info | warning | critical, mapped from the device's own word kept in raw_severity.
      table.string('severity', 16).notNullable();
      table.string('raw_severity', 32).notNullable();
      table.string('category', 256).notNullable();
      table.text('message').notNullable();
      table.text('details').nullable();
      table.string('flow_id', 256).nullable();
      table.string('input_id', 256).nullable();
      table.string('output_id', 256).nullable();
      table.string('created_at', 24).notNullable();
      table.boolean('acknowledged').notNullable().defaultTo(false);
      table.string('acknowledged_by', 36).nullable();
      table.string('acknowledged_at', 24).nullable();
      table.index(['node_id', 'created_at']);
      table.index(['severity', 'created_at']);
      table.index(['category']);
      table.index(['acknowledged', 'severity']);
      // The unfiltered newest-first listing and the retention purge.
      table.index(['created_at']);
    });
  },
  async down(db) {
    await db.schema.dropTable('events');
  }
};
