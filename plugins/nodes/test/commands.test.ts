import { Joi, defineDriver } from '@bilbycast/driver-sdk';
import { testDatabases } from '@bilbycast/tests';
import { RawDevice, Session, nodesManager, seedUser, type NodesTestManager } from './nodes-harness';

/** A third-party driver that declares rotate_secret for operators: the manager still requires admin. */
const carelessDriver = defineDriver({
  device_type: 'careless',
  display_name: 'Careless device',
  commands: [
    { name: 'rotate_secret', description: 'Rotate', requires_role: 'operator', params: Joi.object({}), timeout_ms: 300, mutates: false },
    // A parameter named like the envelope's own field, with a default.
    {
      name: 'harmless',
      description: 'Harmless',
      requires_role: 'operator',
      params: Joi.object({ type: Joi.string().default('factory_reset') }),
      timeout_ms: 2000,
      mutates: false
    }
  ]
});

describe.each(testDatabases())('POST /api/v1/nodes/{id}/command (%s)', (kind) => {
  let t: NodesTestManager;
  let operator: Session;
  let viewer: Session;
  let edgeId: string;
  let edgeDevice: RawDevice;
  let testId: string;
  let testDevice: RawDevice;

  beforeAll(async () => {
    t = await nodesManager(kind, { drivers: [carelessDriver] });
    await seedUser(t.manager, 'op', 'operator');
    await seedUser(t.manager, 'view', 'viewer');
    operator = await Session.login(t.manager, 'op');
    viewer = await Session.login(t.manager, 'view');
    const edge = await t.admin.addNode('edge under command');
    edgeId = edge.id;
    edgeDevice = (await RawDevice.signIn(t.nodeUrl, { registration_token: edge.token, protocol_version: 4 })).device;
    const test = await t.admin.addNode('test device', 'testdev');
    testId = test.id;
    testDevice = (await RawDevice.signIn(t.nodeUrl, { registration_token: test.token })).device;
  });
  afterAll(async () => {
    edgeDevice.close();
    testDevice.close();
    await t.close();
  });

  const command = (session: Session, id: string, action: unknown) => session.request('POST', `/api/v1/nodes/${id}/command`, { action });

  test('success: 200 with the device’s data, sent with the validated parameters', async () => {
    edgeDevice.onCommand = ({ command_id, action }, d) => d.ack(command_id, { success: true, data: { stopped: action.flow_id } });
    const res = await command(operator, edgeId, { type: 'stop_flow', flow_id: 'main' });
    expect(res.statusCode).toBe(200);
    expect(res.result).toEqual({ command_id: expect.any(String), success: true, data: { stopped: 'main' } });
  });

  test('device failure: 422 with the device’s error, error_code and details', async () => {
    testDevice.onCommand = ({ command_id }, d) =>
      d.ack(command_id, { success: false, error: 'Port conflict: 0.0.0.0:9000 in use', error_code: 'port_conflict', details: { addr: '0.0.0.0:9000' } });
    const res = await command(operator, testId, { type: 'quick' });
    expect(res.statusCode).toBe(422);
    expect(res.result).toMatchObject({
      success: false,
      error: 'Port conflict: 0.0.0.0:9000 in use',
      error_code: 'port_conflict',
      details: { addr: '0.0.0.0:9000' }
    });
    // A relay-style failure without a code still gets one.
    testDevice.onCommand = ({ command_id }, d) => d.ack(command_id, { success: false, error: 'Unknown relay command: x' });
    expect((await command(operator, testId, { type: 'quick' })).result).toMatchObject({ error_code: 'device_error', error: 'Unknown relay command: x' });
  });

  test('unknown command for the driver: 400 unknown_command', async () => {
    const res = await command(operator, edgeId, { type: 'list_edges' });
    expect(res.statusCode).toBe(400);
    expect(res.result).toMatchObject({ error_code: 'unknown_command' });
  });

  test('invalid parameters: 400 validation_error with field details, nothing sent', async () => {
    const before = edgeDevice.received.length;
    const res = await command(operator, edgeId, { type: 'stop_flow' });
    expect(res.statusCode).toBe(400);
    expect(res.result).toMatchObject({ error_code: 'validation_error', errors: [{ path: 'flow_id', type: 'any.required' }] });
    const wrongType = await command(operator, testId, { type: 'quick', n: 'many' });
    expect(wrongType.result).toMatchObject({ error_code: 'validation_error', errors: [{ path: 'n', type: 'number.base' }] });
    expect(edgeDevice.received.length).toBe(before);
    expect((await command(operator, edgeId, { flow_id: 'x' })).result).toMatchObject({ error_code: 'validation_error' });
  });

  test('roles: viewers send nothing (403), admin-only commands answer insufficient_role with the required role', async () => {
    const asViewer = await command(viewer, edgeId, { type: 'stop_flow', flow_id: 'main' });
    expect(asViewer.statusCode).toBe(403);
    const asOperator = await command(operator, testId, { type: 'admin_only' });
    expect(asOperator.statusCode).toBe(403);
    expect(asOperator.result).toMatchObject({ error_code: 'insufficient_role', required_role: 'admin' });
    testDevice.onCommand = ({ command_id }, d) => d.ack(command_id, { success: true });
    expect((await command(t.admin, testId, { type: 'admin_only' })).statusCode).toBe(200);
    // rotate_secret is admin-only and its secret is always the manager's own.
    expect((await command(operator, edgeId, { type: 'rotate_secret' })).result).toMatchObject({ error_code: 'insufficient_role' });
    expect((await command(t.admin, edgeId, { type: 'rotate_secret', new_secret: 'chosen-by-a-human-0123' })).result).toMatchObject({
      error_code: 'validation_error'
    });
    // Even when a driver declares it for operators.
    const careless = await t.admin.addNode('careless device', 'careless');
    const { device } = await RawDevice.signIn(t.nodeUrl, { registration_token: careless.token });
    device.onCommand = () => {
      throw new Error('rotate_secret must not reach the device');
    };
    const refused = await command(operator, careless.id, { type: 'rotate_secret' });
    expect({ status: refused.statusCode, result: refused.result }).toMatchObject({
      status: 403,
      result: { error_code: 'insufficient_role', required_role: 'admin' }
    });
    // Nor can a driver's parameter schema turn one command into another.
    const sent: string[] = [];
    device.onCommand = ({ command_id, action }, d) => {
      sent.push(action.type);
      d.ack(command_id, { success: true });
    };
    expect((await command(operator, careless.id, { type: 'harmless' })).statusCode).toBe(200);
    expect(sent).toEqual(['harmless']);
    device.close();
  });

  test('a body over 1 MiB: 413', async () => {
    const res = await command(operator, edgeId, { type: 'update_config', config: { version: 2, padding: 'x'.repeat(1024 * 1024 + 10) } });
    expect(res.statusCode).toBe(413);
    expect(res.result).toMatchObject({ error_code: 'payload_too_large' });
  });

  test('offline node: 502 node_offline; unknown or out-of-scope node: 404', async () => {
    const { id } = await t.admin.addNode('never connected');
    const res = await command(operator, id, { type: 'stop_flow', flow_id: 'main' });
    expect(res.statusCode).toBe(502);
    expect(res.result).toMatchObject({ error_code: 'node_offline' });
    expect((await command(operator, '5e2d7a90-1c44-4b3a-9f0e-2a6b8c1d3e47', { type: 'stop_flow', flow_id: 'main' })).statusCode).toBe(404);
    await seedUser(t.manager, 'scoped-op', 'operator', { allowed_node_ids: JSON.stringify([id]) });
    const scoped = await Session.login(t.manager, 'scoped-op');
    const outOfScope = await command(scoped, edgeId, { type: 'stop_flow', flow_id: 'main' });
    expect(outOfScope.statusCode).toBe(404);
    expect(outOfScope.result).toMatchObject({ error_code: 'node_not_found' });
  });

  test('timeout: 504 command_timeout after the driver’s per-command timeout', async () => {
    testDevice.onCommand = null;
    const res = await command(operator, testId, { type: 'quick' });
    expect(res.statusCode).toBe(504);
    expect(res.result).toMatchObject({ error_code: 'command_timeout' });
  });

  test('every command is audited with user, node, type and outcome — never its parameters', async () => {
    edgeDevice.onCommand = ({ command_id }, d) => d.ack(command_id, { success: true });
    await command(operator, edgeId, { type: 'update_config', config: { version: 2, flows: [{ id: 'f', name: 'secret-looking-passphrase-xyz' }] } });
    const rows = await t.manager.context.db('audit_log').where({ action: 'node.command' }).orderBy('id');
    expect(rows.length).toBeGreaterThanOrEqual(5);
    const last = rows[rows.length - 1];
    expect(last).toMatchObject({ username: 'op', target_id: edgeId, outcome: 'success' });
    expect(JSON.parse(last.details)).toMatchObject({ type: 'update_config', result: 'success' });
    expect(JSON.stringify(rows)).not.toContain('secret-looking-passphrase-xyz');
    expect(rows.map((r) => JSON.parse(r.details).result)).toEqual(expect.arrayContaining(['success', 'device_error', 'command_timeout', 'node_offline']));
  });
});
