import { Joi, defineDriver } from '@bilbycast/driver-sdk';
import { createTestDatabase, testConfig } from '@bilbycast/tests';
import type { Plugin } from '@hapi/hapi';
import { createManager, type Manager, type ManagerCredentials, type Role } from '../src';

/** Credentials from an `x-test-role` header, standing in for the auth plugin. */
const headerAuth: Plugin<unknown> = {
  name: 'header-auth',
  register(server) {
    server.auth.scheme('test-header', () => ({
      authenticate(request, h) {
        const role = request.headers['x-test-role'] as Role | undefined;
        if (!role) return h.unauthenticated(new Error('no role'));
        const credentials: ManagerCredentials = {
          user: { id: role, username: role, display_name: null, email: null, role },
          role,
          allowed_node_ids: null,
          method: 'token'
        };
        return h.authenticated({ credentials: credentials as never });
      }
    }));
    server.auth.strategy('test', 'test-header');
    server.auth.default({ strategy: 'test', mode: 'try' });
  }
};

const widget = defineDriver({
  device_type: 'widget',
  display_name: 'Widget',
  ui_sections: ['flows', 'alarms'],
  topology: { icon: 'widget', color: '#123abc' },
  commands: [
    {
      name: 'set_gain',
      description: 'Set the output gain',
      requires_role: 'operator',
      params: Joi.object({ output_id: Joi.string().max(64).required(), gain_db: Joi.number().min(-60).max(12).default(0) }),
      timeout_ms: 5000,
      mutates: true
    }
  ]
});

describe('GET /api/v1/device-types', () => {
  let manager: Manager;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    const database = await createTestDatabase('sqlite');
    manager = await createManager({
      config: testConfig(database),
      plugins: [headerAuth],
      drivers: [
        { definition: widget, package: '@acme/widget-driver', version: '1.2.3' },
        { definition: { device_type: 'Bad Type' }, package: 'broken-driver', version: '0.0.1' }
      ]
    });
    await manager.initialize();
    cleanup = async () => {
      await manager.stop();
      await database.cleanup();
    };
  });
  afterAll(() => cleanup());

  const get = (url: string, role?: Role) => manager.server.inject({ url, headers: role ? { 'x-test-role': role } : {} });

  it('reports each device type with its commands and their parameters as JSON Schema', async () => {
    const res = await get('/api/v1/device-types', 'viewer');
    expect(res.statusCode).toBe(200);
    expect(res.result).toEqual({
      device_types: [
        {
          device_type: 'widget',
          display_name: 'Widget',
          package: '@acme/widget-driver',
          version: '1.2.3',
          ui_sections: ['flows', 'alarms'],
          topology: { icon: 'widget', color: '#123abc' },
          supported_commands: [
            {
              name: 'set_gain',
              description: 'Set the output gain',
              requires_role: 'operator',
              mutates: true,
              timeout_ms: 5000,
              params_schema: {
                type: 'object',
                properties: {
                  output_id: { type: 'string', maxLength: 64 },
                  gain_db: { type: 'number', minimum: -60, maximum: 12, default: 0 }
                },
                required: ['output_id'],
                additionalProperties: false
              }
            }
          ]
        }
      ]
    });
  });

  it('lists refused drivers with their reason for admins only', async () => {
    const admin = (await get('/api/v1/device-types', 'admin')).result as { refused_drivers: { package: string; reason: string }[] };
    expect(admin.refused_drivers).toEqual([expect.objectContaining({ package: 'broken-driver', reason: expect.stringMatching(/device_type/) })]);
    expect((await get('/api/v1/device-types', 'operator')).result).not.toHaveProperty('refused_drivers');
  });

  it('answers one type, 404 unknown_device_type for another, and 401 without credentials', async () => {
    expect(((await get('/api/v1/device-types/widget', 'viewer')).result as { device_type: string }).device_type).toBe('widget');
    const unknown = await get('/api/v1/device-types/nope', 'viewer');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.result).toMatchObject({ error_code: 'unknown_device_type' });
    expect((await get('/api/v1/device-types')).statusCode).toBe(401);
  });
});

describe('conditional parameters in the published JSON Schema', () => {
  it('keeps a when/then of extra conditions as conditions, not as an object refusing every key', async () => {
    const tunnel = defineDriver({
      device_type: 'tunneller',
      display_name: 'Tunneller',
      commands: [
        {
          name: 'create_tunnel',
          description: 'A relay tunnel needs one of its relay addresses',
          requires_role: 'operator',
          params: Joi.object({
            mode: Joi.string().valid('relay', 'direct').required(),
            relay_addr: Joi.string(),
            relay_addrs: Joi.array().items(Joi.string()),
            // A field literally named "then" is a property, not a branch: left alone.
            then: Joi.object({})
          }).when(Joi.object({ mode: Joi.valid('relay') }).unknown(), { then: Joi.object().or('relay_addr', 'relay_addrs') }),
          timeout_ms: 5000,
          mutates: true
        }
      ]
    });
    const database = await createTestDatabase('sqlite');
    const manager = await createManager({
      config: testConfig(database),
      plugins: [headerAuth],
      drivers: [{ definition: tunnel, package: 'tunneller', version: '1.0.0' }]
    });
    try {
      await manager.initialize();
      const res = await manager.server.inject({ url: '/api/v1/device-types/tunneller', headers: { 'x-test-role': 'viewer' } });
      const schema = (res.result as { supported_commands: { params_schema: Record<string, any> }[] }).supported_commands[0].params_schema;
      // One `when` is rendered as the object's own if/then (several, as an allOf of them).
      const conditional = schema.allOf ? schema.allOf[0] : schema;
      expect(conditional.if).toMatchObject({ properties: { mode: { const: 'relay' } } });
      // Only the condition: no `additionalProperties: false` over an empty property list.
      expect(conditional.then).toEqual({ type: 'object', anyOf: [{ required: ['relay_addr'] }, { required: ['relay_addrs'] }] });
      expect(schema.properties.then).toMatchObject({ type: 'object', additionalProperties: false });
      expect(schema.additionalProperties).toBe(false);
    } finally {
      await manager.stop();
      await database.cleanup();
    }
  });
});
