import { testDatabases } from '@bilbycast/tests';
import { RawDevice, eventually, nodesManager, type NodesTestManager } from './nodes-harness';

/** Frames a broken or hostile device might send after signing in. */
const BAD_FRAMES: string[] = [
  'not json at all',
  '{"type":',
  'null',
  '42',
  '"stats"',
  '[]',
  '{}',
  '{"type":5,"payload":{}}',
  '{"type":null}',
  '{"type":"stats","payload":"a string"}',
  '{"type":"stats","payload":[1,2,3]}',
  '{"type":"stats","payload":{"flows":"not a list","uptime_secs":"soon"}}',
  '{"type":"stats","payload":{"flows":[null,1,"x",{"input":null,"outputs":"y"}]}}',
  '{"type":"health","payload":null}',
  '{"type":"health","payload":{"capabilities":"ptp","version":7}}',
  '{"type":"event","payload":[1]}',
  '{"type":"event","payload":{"severity":{"x":1},"category":["a"],"message":null,"details":"text","flow_id":{}}}',
  '{"type":"thumbnail","payload":{"flow_id":1}}',
  '{"type":"thumbnail","payload":{"flow_id":"f","data":7}}',
  '{"type":"config_response"}',
  '{"type":"command_ack","payload":{"command_id":{"$gt":""},"success":"yes"}}',
  '{"type":"command_ack","payload":null}',
  '{"type":"auth","payload":{"registration_token":"again"}}',
  '{"type":"__proto__","payload":{"polluted":true}}',
  '{"type":"stats","payload":{"__proto__":{"polluted":true}}}',
  `${'['.repeat(200_000)}${']'.repeat(200_000)}`,
  `{"type":"event","payload":{"severity":"critical","category":"x","message":"${'m'.repeat(50_000)}"}}`
];

describe.each(testDatabases())('/ws/node under bad frames (%s)', (kind) => {
  let t: NodesTestManager;

  beforeAll(async () => {
    t = await nodesManager(kind);
  });
  afterAll(async () => {
    await t.close();
  });

  test('bad frames are counted and ignored; the sender and everyone else keep being served', async () => {
    const victim = await t.admin.addNode('fuzzed edge');
    const { device } = await RawDevice.signIn(t.nodeUrl, { registration_token: victim.token, protocol_version: 4 });
    for (const frame of BAD_FRAMES) device.sendRaw(frame);
    device.sendRaw(Buffer.from([0xbc, 0x01, 0, 0, 0, 2, 0x7b, 0x7d]), true);
    device.send({ type: 'stats', payload: { flows: [], uptime_secs: 99 } });
    await eventually(
      async () =>
        ((await t.admin.request('GET', `/api/v1/nodes/${victim.id}/stats`)).result as { stats: { uptime_secs?: number } | null }).stats?.uptime_secs === 99
    );
    const view = (await t.admin.request('GET', `/api/v1/nodes/${victim.id}`)).result as { status: string; connection: { counters: Record<string, number> } };
    expect(view.status).toBe('online');
    expect(view.connection.counters.binary).toBe(1);
    expect(view.connection.counters.malformed).toBeGreaterThanOrEqual(10);
    expect(device.socket.readyState).toBe(device.socket.OPEN);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();

    // A replayed (consumed) token and an oversize frame beyond the hard limit do not disturb others.
    const replay = await RawDevice.signIn(t.nodeUrl, { registration_token: victim.token });
    expect(replay.reply.type).toBe('auth_error');
    const flooder = await t.admin.addNode('oversize sender');
    const big = await RawDevice.signIn(t.nodeUrl, { registration_token: flooder.token });
    big.device.sendRaw('x'.repeat(17 * 1024 * 1024));
    expect((await big.device.closed).code).toBe(1009);

    // Everyone else, and the fuzzed device itself, are still served.
    const bystander = await t.admin.addNode('bystander');
    const other = await RawDevice.signIn(t.nodeUrl, { registration_token: bystander.token, protocol_version: 4 });
    expect(other.reply.type).toBe('register_ack');
    device.onCommand = ({ command_id }, d) => d.ack(command_id, { success: true, data: 'still here' });
    const res = await t.admin.request('POST', `/api/v1/nodes/${victim.id}/command`, { action: { type: 'start_flow', flow_id: 'main' } });
    expect(res.result).toMatchObject({ success: true, data: 'still here' });
    expect((await t.admin.request('GET', '/health')).statusCode).toBe(200);
    device.close();
    other.device.close();
  });
});
