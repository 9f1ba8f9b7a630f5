import type { ManagerCredentials } from '@bilbycast/core';
import { createTestDatabase, testConfig } from '@bilbycast/tests';
import { createDefaultManager } from '../src';

const viewer: ManagerCredentials = {
  user: { id: 'v', username: 'v', display_name: null, email: null, role: 'viewer' },
  role: 'viewer',
  allowed_node_ids: null,
  method: 'session'
};

describe('built-in drivers of the standard build', () => {
  it('publishes edge, relay and appear_x with JSON Schema parameters for every command', async () => {
    const database = await createTestDatabase('sqlite');
    const manager = await createDefaultManager(testConfig(database));
    await manager.initialize();
    expect(manager.context.drivers.refused).toEqual([]);
    const res = await manager.server.inject({ url: '/api/v1/device-types', auth: { strategy: 'session', credentials: viewer } });
    expect(res.statusCode).toBe(200);
    const types = (
      res.result as { device_types: { device_type: string; package: string; supported_commands: { name: string; params_schema: { type?: string } }[] }[] }
    ).device_types;
    expect(types.map((t) => [t.device_type, t.package])).toEqual([
      ['appear_x', '@bilbycast/driver-appear-x'],
      ['edge', '@bilbycast/driver-edge'],
      ['relay', '@bilbycast/driver-relay']
    ]);
    const edge = types.find((t) => t.device_type === 'edge')!;
    for (const name of ['create_flow', 'stop_flow', 'update_config', 'create_tunnel', 'set_ptp_mode', 'reset_counters', 'rotate_secret']) {
      expect(edge.supported_commands.map((c) => c.name)).toContain(name);
    }
    for (const type of types) for (const command of type.supported_commands) expect(command.params_schema.type).toBe('object');
    await manager.stop();
    await database.cleanup();
  });
});
