import fs from 'node:fs';
import { SimulatedDevice, type DeviceCredentials } from '@bilbycast/device-simulator';
import events from '@bilbycast/events';
import { createTestDatabase, selfSignedCertificate, testDatabases } from '@bilbycast/tests';
import { eventually, nodesManager, type NodesTestManager } from '../../plugins/nodes/test/nodes-harness';

const FAST = { stats_interval_ms: 50, health_interval_ms: 200, thumbnail_interval_ms: 100, reconnect_delay_ms: 50 };

/** The device simulator against a real manager: the loop demos, UI tests and the bench rely on. */
describe.each(testDatabases())('simulated devices against the manager (%s)', (kind) => {
  let t: NodesTestManager;
  const devices: SimulatedDevice[] = [];

  beforeAll(async () => {
    t = await nodesManager(kind, { plugins: [events] });
  });
  afterAll(async () => {
    await Promise.all(devices.map((d) => d.stop()));
    await t.close();
  });

  function simulate(options: ConstructorParameters<typeof SimulatedDevice>[0]): SimulatedDevice {
    const device = new SimulatedDevice(options);
    devices.push(device);
    device.start();
    return device;
  }

  const stats = async (id: string) => ((await t.admin.request('GET', `/api/v1/nodes/${id}/stats`)).result as { stats: any }).stats;

  test('an edge registers, stop_flow turns its flow Idle in later stats, and it comes back with saved credentials', async () => {
    const { id, token } = await t.admin.addNode('simulated edge');
    let saved: DeviceCredentials | undefined;
    const edge = simulate({ url: t.nodeUrl, kind: 'edge', registration_token: token, flows: 2, ...FAST });
    edge.on('credentials', (c: DeviceCredentials) => (saved = c));
    await edge.waitForState('online');
    expect(saved?.node_id).toBe(id);

    const flows = await eventually(async () => (await stats(id))?.flows?.length === 2 && (await stats(id)).flows);
    const flowId: string = flows[0].flow_id;
    expect(flows[0].state).toBe('Running');
    const res = await t.admin.request('POST', `/api/v1/nodes/${id}/command`, { action: { type: 'stop_flow', flow_id: flowId } });
    expect(res.statusCode).toBe(200);
    await eventually(async () => (await stats(id))?.flows?.find((f: any) => f.flow_id === flowId)?.state === 'Idle');
    // The device raised an event about it, stored by the events plugin.
    await eventually(async () => ((await t.admin.request('GET', `/api/v1/events?node_id=${id}&category=flow`)).result as unknown[]).length > 0);

    // Its own config round-trips: get_config answers with the stopped flow disabled.
    const config = (await t.admin.request('GET', `/api/v1/nodes/${id}/config?refresh=true`)).result as { config: any };
    expect(config.config.version).toBe(2);
    expect(config.config.flows.find((f: any) => f.id === flowId).enabled).toBe(false);
    // A device error comes back as 422 with the device's code.
    const unknownFlow = await t.admin.request('POST', `/api/v1/nodes/${id}/command`, { action: { type: 'start_flow', flow_id: 'nope' } });
    expect(unknownFlow.statusCode).toBe(422);
    expect(unknownFlow.result).toMatchObject({ error_code: 'unknown_flow' });
    // A thumbnail arrives as a JPEG.
    await eventually(async () => (await t.admin.request('GET', `/api/v1/nodes/${id}/thumbnails/${flows[1].flow_id}`)).statusCode === 200);

    await edge.stop();
    await eventually(async () => ((await t.admin.request('GET', `/api/v1/nodes/${id}`)).result as { status: string }).status === 'offline');
    const again = simulate({ url: t.nodeUrl, kind: 'edge', credentials: saved, ...FAST });
    const method = new Promise((resolve) => again.once('authenticated', resolve));
    await again.waitForState('online');
    expect(await method).toBe('auth_ok');
    await eventually(async () => ((await t.admin.request('GET', `/api/v1/nodes/${id}`)).result as { status: string }).status === 'online');
  });

  test('a relay and an Appear X gateway come online, report summaries and answer get_config', async () => {
    const relay = await t.admin.addNode('simulated relay', 'relay');
    const gateway = await t.admin.addNode('simulated gateway', 'appear_x');
    simulate({ url: t.nodeUrl, kind: 'relay', registration_token: relay.token, ...FAST });
    simulate({ url: t.nodeUrl, kind: 'gateway', registration_token: gateway.token, ...FAST });
    for (const node of [relay, gateway]) {
      await eventually(async () => ((await t.admin.request('GET', `/api/v1/nodes/${node.id}`)).result as { summary: unknown }).summary);
      const config = await t.admin.request('GET', `/api/v1/nodes/${node.id}/config?refresh=true`);
      expect(config.statusCode).toBe(200);
    }
    const relayConfig = (await t.admin.request('GET', `/api/v1/nodes/${relay.id}/config`)).result as { config: unknown };
    expect(JSON.stringify(relayConfig.config)).toContain('***REDACTED***');
    const list = await t.admin.request('POST', `/api/v1/nodes/${relay.id}/command`, { action: { type: 'list_tunnels' } });
    expect(list.result).toMatchObject({ success: true, data: [] });
  });
});

describe('over TLS (wss)', () => {
  test('a device connects to /ws/node through the manager’s certificate', async () => {
    const database = await createTestDatabase('sqlite');
    const { cert, key } = selfSignedCertificate(database.dataDir);
    const t = await nodesManager('sqlite', { database, config: { tls_cert: cert, tls_key: key } });
    expect(t.nodeUrl.startsWith('wss://')).toBe(true);
    const { id, token } = await t.admin.addNode('tls edge');
    const edge = new SimulatedDevice({ url: t.nodeUrl, kind: 'edge', registration_token: token, tls: { ca: fs.readFileSync(cert) }, ...FAST });
    edge.start();
    await edge.waitForState('online');
    await eventually(async () => ((await t.admin.request('GET', `/api/v1/nodes/${id}`)).result as { status: string }).status === 'online');
    await edge.stop();
    await t.close();
    await database.cleanup();
  });
});
