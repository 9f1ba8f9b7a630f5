import { nowIso, type Migration } from '@bilbycast/core';

/**
 * When a node last registered with a token. A relay's configuration write-back is only safe
 * once its process has restarted since then (see the relay driver). Nodes registered before
 * this column existed get the migration time: the safe side (a relay running since before the
 * upgrade is asked to restart once before rotating its secret).
 */
export const registeredAt: Migration = {
  name: '002_registered_at',
  async up(db) {
    await db.schema.alterTable('nodes', (table) => {
      table.string('registered_at', 24).nullable();
    });
    await db('nodes').whereNotNull('secret_hash').update({ registered_at: nowIso() });
  },
  async down(db) {
    await db.schema.alterTable('nodes', (table) => {
      table.dropColumn('registered_at');
    });
  }
};
