import { createTestDatabase, testConfig, testDatabases } from '@bilbycast/tests';
import { canAccessNode, createManager, scopeToNodes } from '../src';

describe('node scope helpers', () => {
  it('canAccessNode: null scope sees every node, a list only its own', () => {
    expect(canAccessNode({ allowed_node_ids: null }, 'n1')).toBe(true);
    expect(canAccessNode({ allowed_node_ids: ['n1', 'n2'] }, 'n2')).toBe(true);
    expect(canAccessNode({ allowed_node_ids: ['n1'] }, 'n3')).toBe(false);
    expect(canAccessNode({ allowed_node_ids: [] }, 'n1')).toBe(false);
  });

  it.each(testDatabases())('scopeToNodes narrows a query on %s', async (kind) => {
    const database = await createTestDatabase(kind);
    const manager = await createManager({ config: testConfig(database) });
    await manager.initialize();
    const { db } = manager.context;
    await db.schema.createTable('scope_probe', (t) => t.string('node_id', 36).primary());
    await db('scope_probe').insert([{ node_id: 'a' }, { node_id: 'b' }, { node_id: 'c' }]);
    const ids = async (scope: string[] | null) =>
      (await scopeToNodes(db('scope_probe').select('node_id').orderBy('node_id'), { allowed_node_ids: scope }, 'node_id')).map(
        (r: { node_id: string }) => r.node_id
      );
    expect(await ids(null)).toEqual(['a', 'b', 'c']);
    expect(await ids(['c', 'a', 'zz'])).toEqual(['a', 'c']);
    expect(await ids([])).toEqual([]);
    await manager.stop();
    await database.cleanup();
  });
});
