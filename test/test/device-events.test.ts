import events from '@bilbycast/events';
import { testDatabases } from '@bilbycast/tests';
import { RawDevice, deviceTimestamp, eventually, nodesManager, type NodesTestManager } from '../../plugins/nodes/test/nodes-harness';

/** Device events through /ws/node into the events plugin (PROTOCOL.md §6.4, §11.1; product §8). */
describe.each(testDatabases())('device events end to end (%s)', (kind) => {
  let t: NodesTestManager;

  beforeAll(async () => {
    t = await nodesManager(kind, { options: { events_per_minute: 5 }, plugins: [events] });
  });
  afterAll(async () => {
    await t.close();
  });

  const eventsOf = async (nodeId: string, query = '') =>
    (await t.admin.request('GET', `/api/v1/events?node_id=${nodeId}&per_page=200${query}`)).result as Record<string, any>[];

  test('PROTOCOL.md §14.17: stored with the mapped severity and the raw one, category, message, details and ids', async () => {
    const { id, token } = await t.admin.addNode('gateway events', 'appear_x');
    const { device } = await RawDevice.signIn(t.nodeUrl, { registration_token: token, device_type: 'appear_x', protocol_version: 1 });
    device.send({
      type: 'event',
      timestamp: deviceTimestamp(),
      payload: {
        severity: 'major',
        category: 'alarm',
        message: 'Input loss on slot 3',
        details: { error_code: 'input_loss', slot: 3 },
        flow_id: 'svc-1',
        input_id: 'in-3',
        output_id: 'out-1'
      }
    });
    device.send({ type: 'event', payload: { severity: 'minor', category: 'alarm', message: 'CC errors' } });
    device.send({ type: 'event', payload: { severity: 'sparkly', category: 'vendor_api', message: 'Odd' } });
    const stored = await eventually(async () => {
      const list = (await eventsOf(id)).filter((e) => e.category !== 'connection');
      return list.length === 3 ? list : undefined;
    });
    const bySeverity = Object.fromEntries(stored.map((e) => [e.raw_severity, e]));
    expect(bySeverity.major).toMatchObject({
      severity: 'critical',
      category: 'alarm',
      message: 'Input loss on slot 3',
      details: { error_code: 'input_loss', slot: 3 },
      flow_id: 'svc-1',
      input_id: 'in-3',
      output_id: 'out-1',
      acknowledged: false
    });
    expect(bySeverity.minor.severity).toBe('warning');
    // Unknown words map to info (PROTOCOL.md §11.1), the raw word is kept.
    expect(bySeverity.sparkly.severity).toBe('info');
    // Unacknowledged alarms make the gateway's derived health critical; acknowledging them clears it.
    device.send({ type: 'health', payload: { status: 'ok', version: '0.11.8' } });
    await eventually(async () => ((await t.admin.request('GET', `/api/v1/nodes/${id}`)).result as { health: string }).health === 'critical');
    const ack = await t.admin.request('POST', '/api/v1/events/ack', { filter: { node_id: id } });
    expect(ack.statusCode).toBe(200);
    await eventually(async () => ((await t.admin.request('GET', `/api/v1/nodes/${id}`)).result as { health: string }).health === 'healthy');
    device.close();
  });

  test('the manager raises connection events, and one rate-limit warning when a node floods', async () => {
    const { id, token } = await t.admin.addNode('chatty edge');
    const { device } = await RawDevice.signIn(t.nodeUrl, { registration_token: token, protocol_version: 4 });
    for (let i = 0; i < 12; i++) device.send({ type: 'event', payload: { severity: 'info', category: 'flow', message: `event ${i}` } });
    device.send({ type: 'stats', payload: { flows: [], uptime_secs: 1 } });
    await eventually(async () => (await eventsOf(id, '&category=event_rate_limit')).length === 1);
    // Five a minute, the manager's own "connected" event included: four of the device's.
    const flowEvents = await eventsOf(id, '&category=flow');
    expect(flowEvents).toHaveLength(4);
    const warning = (await eventsOf(id, '&category=event_rate_limit'))[0];
    expect(warning).toMatchObject({ severity: 'warning', details: { error_code: 'event_rate_limit_exceeded' } });
    const view = (await t.admin.request('GET', `/api/v1/nodes/${id}`)).result as { connection: { counters: { events_dropped: number } } };
    expect(view.connection.counters.events_dropped).toBe(8);
    device.close();
    const connection = await eventually(async () => {
      const list = await eventsOf(id, '&category=connection');
      return list.length === 2 ? list : undefined;
    });
    expect(connection.map((e) => [e.severity, e.message])).toEqual([
      ['critical', expect.stringMatching(/^Node disconnected from manager/)],
      ['info', 'Node connected to manager']
    ]);
  });

  test('a reconnected node is not critical because of its own earlier disconnection; its other alarms still count', async () => {
    const { id, token } = await t.admin.addNode('rebooting edge');
    const first = await RawDevice.signIn(t.nodeUrl, { registration_token: token, protocol_version: 4 });
    first.device.send({ type: 'event', payload: { severity: 'warning', category: 'srt', message: 'SRT jitter high' } });
    await eventually(async () => (await eventsOf(id, '&category=srt')).length === 1);
    first.device.close();
    await eventually(async () => (await eventsOf(id, '&category=connection&severity=critical')).length === 1);

    const again = await RawDevice.signIn(t.nodeUrl, { node_id: id, node_secret: first.reply.payload.node_secret, protocol_version: 4 });
    expect(again.reply.type).toBe('auth_ok');
    again.device.send({ type: 'health', timestamp: deviceTimestamp(), payload: { status: 'ok', version: '0.106.0' } });
    // The unacknowledged SRT warning still counts; the "disconnected" alarm does not.
    await eventually(async () => ((await t.admin.request('GET', `/api/v1/nodes/${id}`)).result as { health: string }).health === 'warning');
    again.device.close();
  });

  test('a device_type that disagrees with the record raises a compatibility warning; a lockout raises an auth warning', async () => {
    const { id, token } = await t.admin.addNode('mislabelled', 'edge');
    const { device, reply } = await RawDevice.signIn(t.nodeUrl, { registration_token: token, device_type: 'appear_x' });
    expect(reply.type).toBe('register_ack');
    const secret = reply.payload.node_secret as string;
    await eventually(async () => (await eventsOf(id, '&category=compatibility')).length === 1);
    device.close();
    await device.closed;
    for (let i = 0; i < 5; i++) await RawDevice.signIn(t.nodeUrl, { node_id: id, node_secret: `${secret}-wrong` });
    const lockout = await eventually(async () => (await eventsOf(id, '&category=auth'))[0]);
    expect(lockout).toMatchObject({ severity: 'warning', details: { error_code: 'auth_lockout' } });
  });
});
