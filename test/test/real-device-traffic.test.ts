import { SimulatedDevice, rfc3339Nanos, sortedJson } from '@bilbycast/device-simulator';
import { REDACTED } from '@bilbycast/driver-sdk';
import events from '@bilbycast/events';
import { testDatabases } from '@bilbycast/tests';
import { RawDevice, eventually, nodesManager, type Envelope, type NodesTestManager } from '../../plugins/nodes/test/nodes-harness';

const FAST = { stats_interval_ms: 50, health_interval_ms: 200, thumbnail_interval_ms: 100, reconnect_delay_ms: 50 };

/** A frame as bilbycast devices serialise it: keys sorted at every depth (`type` last), nanosecond timestamp, nulls for unset fields. */
function deviceFrame(type: string, payload: unknown): string {
  return sortedJson({ type, timestamp: rfc3339Nanos(), payload });
}

/** The event a real edge queues after a failed session and sends right after its next auth. */
const EDGE_LINK_WARNING = {
  category: 'manager',
  details: null,
  flow_id: null,
  input_id: null,
  message: 'Manager connection lost, rotating to next URL',
  output_id: null,
  severity: 'warning'
};

/**
 * Issue 9: the manager with the traffic real edges, relays and gateways send — frames shaped
 * as they serialise them, and the device simulator, which now sends the same.
 */
describe.each(testDatabases())('real device traffic (%s)', (kind) => {
  let t: NodesTestManager;
  const devices: SimulatedDevice[] = [];

  beforeAll(async () => {
    t = await nodesManager(kind, { plugins: [events], options: { auth_lockout_window_secs: 1, auth_failures_before_lockout: 3 } });
    t.manager.context.services.get('liveFeed')!.subscribe('node_health', ({ node_id, health }) => {
      healthPublished.set(node_id, [...(healthPublished.get(node_id) ?? []), health]);
    });
  });
  afterEach(async () => {
    await Promise.all(devices.splice(0).map((d) => d.stop()));
  });
  afterAll(async () => {
    await t.close();
  });

  /** Every health the hub derived per node, in order (it derives one for each health frame and each alarm). */
  const healthPublished = new Map<string, string[]>();

  function simulate(options: ConstructorParameters<typeof SimulatedDevice>[0]): SimulatedDevice {
    const device = new SimulatedDevice(options);
    devices.push(device);
    device.start();
    return device;
  }

  const node = async (id: string) => (await t.admin.request('GET', `/api/v1/nodes/${id}`)).result as Record<string, any>;
  const nodeEvents = async (id: string, query = '') =>
    (await t.admin.request('GET', `/api/v1/events?node_id=${id}&per_page=200${query}`)).result as {
      category: string;
      message: string;
      severity: string;
      details: any;
    }[];
  const command = (id: string, action: Record<string, unknown>) => t.admin.request('POST', `/api/v1/nodes/${id}/command`, { action });
  const stats = async (id: string) => ((await t.admin.request('GET', `/api/v1/nodes/${id}/stats`)).result as { stats: any }).stats;

  /** Signs a raw device in with the frames a real edge/relay sends (no timestamp on auth). */
  async function signIn(auth: Record<string, unknown>): Promise<{ device: RawDevice; reply: Envelope }> {
    const device = await RawDevice.connect(t.nodeUrl);
    device.sendRaw(sortedJson({ type: 'auth', payload: auth }));
    return { device, reply: await device.next() };
  }

  describe('a reconnect never makes a healthy node look degraded', () => {
    test('an edge reconnecting again and again, its link warning arriving live after each auth, stays healthy; the warnings are kept as events', async () => {
      const { id, token } = await t.admin.addNode('reconnecting edge');
      const first = await signIn({ registration_token: token, software_version: '0.106.0', protocol_version: 4 });
      expect(first.reply.type).toBe('register_ack');
      const secret = first.reply.payload.node_secret as string;
      first.device.close();
      await first.device.closed;
      for (let session = 0; session < 5; session++) {
        const { device, reply } = await signIn({ node_id: id, node_secret: secret, software_version: '0.106.0', protocol_version: 4 });
        expect(reply.type).toBe('auth_ok');
        device.sendRaw(deviceFrame('event', EDGE_LINK_WARNING));
        // Frames are handled in order: once this health is derived, the warning before it has been too.
        const derived = healthPublished.get(id)?.length ?? 0;
        device.sendRaw(deviceFrame('health', { status: 'ok', version: '0.106.0', uptime_secs: 41.0, active_flows: 0, total_flows: 0, capabilities: [] }));
        await eventually(() => (healthPublished.get(id)?.length ?? 0) > derived);
        device.close();
        await device.closed;
      }
      expect(healthPublished.get(id)!.every((health) => health === 'healthy')).toBe(true);
      // Visible and acknowledgeable like any event.
      const warnings = await eventually(async () => {
        const list = await nodeEvents(id, '&category=manager&acknowledged=false');
        return list.length === 5 ? list : undefined;
      });
      expect(warnings.every((e) => e.severity === 'warning')).toBe(true);

      // The control: a real warning from the same device does degrade health, live and after a reconnect.
      const again = await signIn({ node_id: id, node_secret: secret, protocol_version: 4 });
      again.device.sendRaw(deviceFrame('event', { ...EDGE_LINK_WARNING, category: 'flow', message: 'Input lost', flow_id: 'Studio feed 2' }));
      await eventually(() => healthPublished.get(id)!.at(-1) === 'warning');
      await eventually(async () => (await node(id)).health === 'warning');
      again.device.close();
      await again.device.closed;
      const third = await signIn({ node_id: id, node_secret: secret, protocol_version: 4 });
      const derived = healthPublished.get(id)!.length;
      third.device.sendRaw(deviceFrame('health', { status: 'ok', version: '0.106.0' }));
      await eventually(() => healthPublished.get(id)!.length > derived);
      expect(healthPublished.get(id)!.at(-1)).toBe('warning');
      third.device.close();
      await third.device.closed;
    });

    test('a simulated edge and relay cut off repeatedly stay healthy (the relay appends the error to its warning)', async () => {
      const edgeNode = await t.admin.addNode('flapping edge');
      const relayNode = await t.admin.addNode('flapping relay', 'relay');
      const edge = simulate({ url: t.nodeUrl, kind: 'edge', registration_token: edgeNode.token, ...FAST });
      const relay = simulate({ url: t.nodeUrl, kind: 'relay', registration_token: relayNode.token, ...FAST });
      await Promise.all([edge.waitForState('online'), relay.waitForState('online')]);
      for (let cut = 0; cut < 3; cut++) {
        // The connection drops (as on a network blip); each device signs in again after its backoff.
        const back = [edge, relay].map((device) => new Promise((resolve) => device.once('authenticated', resolve)));
        for (const device of [edge, relay]) device.simulateNetworkDrop();
        await Promise.all(back);
      }
      await eventually(async () => (await nodeEvents(relayNode.id, '&category=manager')).filter((e) => e.severity === 'warning').length >= 3);
      await eventually(async () => (await nodeEvents(edgeNode.id, '&category=manager')).filter((e) => e.severity === 'warning').length >= 3);
      const relayWarnings = (await nodeEvents(relayNode.id, '&category=manager')).filter((e) => e.severity === 'warning');
      expect(relayWarnings[0].message).toBe('Manager connection lost, rotating to next URL: connection reset');
      // Each derived health since, for both, after the warnings have all arrived and a health frame after them.
      for (const id of [edgeNode.id, relayNode.id]) {
        const derived = healthPublished.get(id)!.length;
        await eventually(() => healthPublished.get(id)!.length > derived);
        expect(healthPublished.get(id)!.every((health) => health === 'healthy')).toBe(true);
      }
    });
  });

  describe('flows, inputs and outputs with ordinary names', () => {
    test('commands for `Studio feed 2` and `Ü-Wagen` reach the edge with the id unchanged; update_config with such ids passes and keeps the redacted passphrases', async () => {
      const { id, token } = await t.admin.addNode('named flows edge');
      const edge = simulate({ url: t.nodeUrl, kind: 'edge', registration_token: token, flows: 3, ...FAST });
      await edge.waitForState('online');
      const received: { type: string; flow_id?: unknown }[] = [];
      edge.on('command', (action) => received.push({ type: action.type, flow_id: action.flow_id }));

      expect((await command(id, { type: 'stop_flow', flow_id: 'Studio feed 2' })).statusCode).toBe(200);
      expect(received).toContainEqual({ type: 'stop_flow', flow_id: 'Studio feed 2' });
      expect((edge.config as any).flows.find((f: { id: string }) => f.id === 'Studio feed 2').enabled).toBe(false);

      // The operator edits the config the manager shows: secrets appear as placeholders.
      const shown = ((await t.admin.request('GET', `/api/v1/nodes/${id}/config?refresh=true`)).result as { config: any }).config;
      expect(shown.inputs.map((i: { passphrase: string }) => i.passphrase)).toEqual([REDACTED, REDACTED, REDACTED]);
      expect(JSON.stringify(shown)).not.toContain('passphrase 1');
      const realPassphrases = (edge.config as any).inputs.map((i: { passphrase: string }) => i.passphrase);
      // Add `Ü-Wagen`, and move the first input to the end (a secret follows its input, not its index).
      const edited = structuredClone(shown);
      edited.inputs.push(edited.inputs.shift());
      edited.inputs.push({
        id: 'Ü-Wagen in',
        name: 'OB van',
        type: 'srt',
        mode: 'listener',
        local_addr: '0.0.0.0:9100',
        latency_ms: 120,
        passphrase: 'a new passphrase'
      });
      edited.outputs.push({ id: 'Ü-Wagen out', name: 'OB out', type: 'udp', dest_addr: '239.1.9.9:5000' });
      edited.flows.push({ id: 'Ü-Wagen', name: 'OB van feed', enabled: true, input_ids: ['Ü-Wagen in'], output_ids: ['Ü-Wagen out'] });
      const update = await command(id, { type: 'update_config', config: edited });
      expect(update.statusCode).toBe(200);
      expect((edge.config as any).flows.map((f: { id: string }) => f.id)).toContain('Ü-Wagen');
      const byId = Object.fromEntries((edge.config as any).inputs.map((i: { id: string; passphrase: string }) => [i.id, i.passphrase]));
      expect(byId).toEqual({
        'in-1': realPassphrases[0],
        'Studio in 2': realPassphrases[1],
        'Ü-Wagen in 3': realPassphrases[2],
        'Ü-Wagen in': 'a new passphrase'
      });

      expect((await command(id, { type: 'start_flow', flow_id: 'Ü-Wagen' })).statusCode).toBe(200);
      expect(received).toContainEqual({ type: 'start_flow', flow_id: 'Ü-Wagen' });

      // A thumbnail of a flow whose id has a space and an umlaut, fetched with the id encoded in the path.
      await eventually(async () => (await t.admin.request('GET', `/api/v1/nodes/${id}/thumbnails/${encodeURIComponent('Ü-Wagen 3')}`)).statusCode === 200);
    });

    test('a placeholder the manager cannot restore is refused, never sent as a passphrase', async () => {
      const { id, token } = await t.admin.addNode('placeholder edge');
      const edge = simulate({ url: t.nodeUrl, kind: 'edge', registration_token: token, flows: 1, ...FAST });
      await edge.waitForState('online');
      const shown = ((await t.admin.request('GET', `/api/v1/nodes/${id}/config?refresh=true`)).result as { config: any }).config;
      const sent: string[] = [];
      edge.on('command', (action) => sent.push(action.type));
      // Copied into a new input, the placeholder has no secret behind it.
      const copied = structuredClone(shown);
      copied.inputs.push({ ...copied.inputs[0], id: 'copy', local_addr: '0.0.0.0:9300' });
      const refused = await command(id, { type: 'update_config', config: copied });
      expect(refused.statusCode).toBe(400);
      expect(refused.result).toMatchObject({ error_code: 'secret_placeholder_unresolved', paths: ['inputs[id="copy"].passphrase'] });
      // Nor anywhere in other commands' parameters.
      const input = { ...shown.inputs[0], id: 'other' };
      const create = await command(id, { type: 'create_input', input });
      expect(create.statusCode).toBe(400);
      expect(create.result).toMatchObject({ error_code: 'secret_placeholder_unresolved' });
      expect(sent).toEqual([]);
      expect((edge.config as any).inputs).toHaveLength(1);
    });

    test('ids are validated as the device does: 1–64 bytes of UTF-8, no control characters', async () => {
      const { id, token } = await t.admin.addNode('id rules edge');
      const edge = simulate({ url: t.nodeUrl, kind: 'edge', registration_token: token, flows: 1, ...FAST });
      await edge.waitForState('online');
      const tooLong = await command(id, { type: 'stop_flow', flow_id: 'Ü'.repeat(33) });
      expect(tooLong.statusCode).toBe(400);
      expect((tooLong.result as { message: string }).message).toMatch(/at most 64 bytes/);
      const control = await command(id, { type: 'stop_flow', flow_id: 'bad\u0007id' });
      expect(control.statusCode).toBe(400);
      expect((control.result as { message: string }).message).toMatch(/control characters/);
      // 32 two-byte letters are 64 bytes: accepted, and the device answers for itself.
      const fits = await command(id, { type: 'stop_flow', flow_id: 'Ü'.repeat(32) });
      expect(fits.statusCode).toBe(422);
      expect(fits.result).toMatchObject({ error_code: 'unknown_flow' });
    });

    test('a thumbnail for a flow id with a slash is served at its encoded path', async () => {
      const { id, token } = await t.admin.addNode('slash thumbnails');
      const { device, reply } = await signIn({ registration_token: token, protocol_version: 4 });
      expect(reply.type).toBe('register_ack');
      device.sendRaw(deviceFrame('thumbnail', { data: Buffer.from('jpeg-a/b').toString('base64'), flow_id: 'cams/studio 1', height: 180, width: 320 }));
      const res = await eventually(async () => {
        const r = await t.admin.request('GET', `/api/v1/nodes/${id}/thumbnails/${encodeURIComponent('cams/studio 1')}`);
        return r.statusCode === 200 ? r : undefined;
      });
      expect(res.rawPayload.toString()).toBe('jpeg-a/b');
      device.close();
    });
  });

  describe('relay configuration write-back', () => {
    test('rotate_secret and configure_distribution are refused (409) until the relay has restarted since it registered; then they work and the relay still signs in', async () => {
      const { id, token } = await t.admin.addNode('write-back relay', 'relay');
      const relay = simulate({ url: t.nodeUrl, kind: 'relay', registration_token: token, ...FAST });
      await relay.waitForState('online');
      const sent: string[] = [];
      relay.on('command', (action) => sent.push(action.type));

      // A reconnect in the same process is no restart.
      const back = new Promise((resolve) => relay.once('authenticated', resolve));
      relay.simulateNetworkDrop();
      await back;
      await eventually(() => stats(id));
      for (const res of [
        await t.admin.request('POST', `/api/v1/nodes/${id}/rotate-secret`),
        await command(id, { type: 'rotate_secret' }),
        await command(id, { type: 'configure_distribution', require_viewer_token: true })
      ]) {
        expect(res.statusCode).toBe(409);
        expect(res.result).toMatchObject({ error_code: 'relay_restart_required' });
        expect((res.result as { message: string }).message).toMatch(/Restart the relay/);
      }
      expect(sent).toEqual([]);
      // Had they been sent, the relay would now hold the spent token on disk.
      expect(relay.persisted.credentials?.node_id).toBe(id);

      // It registered long ago (a minute is the manager's margin for uptime estimates), and restarts.
      await t.manager.context
        .db('nodes')
        .where({ id })
        .update({ registered_at: new Date(Date.now() - 600_000).toISOString() });
      await relay.restart();
      await relay.waitForState('online');
      await eventually(async () => (await stats(id))?.uptime_secs < 3);
      const before = relay.persisted.credentials!.node_secret;
      const rotated = await t.admin.request('POST', `/api/v1/nodes/${id}/rotate-secret`);
      expect(rotated.statusCode).toBe(200);
      expect(relay.persisted.credentials).toEqual({ node_id: id, node_secret: expect.any(String) });
      expect(relay.persisted.credentials!.node_secret).not.toBe(before);
      // Rotated but not yet signed in with the new secret: configure_distribution would save the old one back.
      const distribution = await command(id, { type: 'configure_distribution', require_viewer_token: true });
      expect(distribution.statusCode).toBe(409);
      expect(distribution.result).toMatchObject({ error_code: 'relay_restart_required' });

      // The next start signs in with the saved (rotated) secret: the rotation is confirmed, so another one is possible.
      await relay.restart();
      await relay.waitForState('online');
      await eventually(async () => (await t.admin.request('POST', `/api/v1/nodes/${id}/rotate-secret`)).statusCode === 200);
      expect(sent.filter((type) => type === 'rotate_secret')).toHaveLength(2);
    });
  });

  describe('small things', () => {
    test('an SDK event whose details are a string or an array keeps them', async () => {
      const { id, token } = await t.admin.addNode('sdk gateway', 'appear_x');
      const device = await RawDevice.connect(t.nodeUrl);
      device.sendRaw(deviceFrame('auth', { device_type: 'appear_x', protocol_version: 1, registration_token: token, software_version: '0.11.8' }));
      expect((await device.next()).type).toBe('register_ack');
      device.sendRaw(deviceFrame('event', { category: 'chassis', details: 'PSU 2 fan at 9000 rpm', message: 'Fan speed high', severity: 'minor' }));
      device.sendRaw(deviceFrame('event', { category: 'chassis', details: ['slot 3', 'slot 4'], message: 'Cards missing', severity: 'major' }));
      const stored = await eventually(async () => {
        const list = await nodeEvents(id, '&category=chassis');
        return list.length === 2 ? list : undefined;
      });
      expect(stored.find((e) => e.message === 'Fan speed high')?.details).toEqual({ value: 'PSU 2 fan at 9000 rpm' });
      expect(stored.find((e) => e.message === 'Cards missing')?.details).toEqual({ value: ['slot 3', 'slot 4'] });
      device.close();
    });

    test('a device retrying a wrong secret for many lockout windows writes one lockout event and audit row; the sign-in that ends it writes one more', async () => {
      const { id, token } = await t.admin.addNode('misconfigured edge');
      const registered = await signIn({ registration_token: token, protocol_version: 4 });
      const secret = registered.reply.payload.node_secret as string;
      registered.device.close();
      await registered.device.closed;
      // Three lockout windows, each observed from the replies: three wrong secrets at once
      // lock it out; then it is checked again once the window has passed.
      const wrong = async () => {
        const { device, reply } = await signIn({ node_id: id, node_secret: 'wrong secret', protocol_version: 4 });
        device.close();
        return reply.message ?? '';
      };
      for (let window = 0; window < 3; window++) {
        await Promise.all([wrong(), wrong(), wrong()]);
        expect(await wrong()).toMatch(/locked out/);
        await eventually(async () => (await wrong()) === 'Invalid node credentials');
      }
      const lockouts = await eventually(async () => {
        const list = (await nodeEvents(id, '&category=auth')).filter((e) => /locked out/.test(e.message));
        return list.length > 0 ? list : undefined;
      });
      expect(lockouts).toHaveLength(1);
      expect(await t.manager.context.db('audit_log').where({ action: 'node.auth_lockout', target_id: id })).toHaveLength(1);

      await eventually(async () => {
        const { device, reply } = await signIn({ node_id: id, node_secret: secret, protocol_version: 4 });
        device.close();
        return reply.type === 'auth_ok';
      });
      const cleared = await eventually(async () => (await nodeEvents(id, '&category=auth')).find((e) => /^Signed in after/.test(e.message)));
      expect(cleared.details.lockouts).toBeGreaterThanOrEqual(3);
      expect(await t.manager.context.db('audit_log').where({ action: 'node.auth_lockout_cleared', target_id: id })).toHaveLength(1);
      expect((await nodeEvents(id, '&category=auth')).filter((e) => /locked out/.test(e.message))).toHaveLength(1);
    });

    test('a relay’s config_response is shown with every declared secret redacted, distribution.token_secret included', async () => {
      const { id, token } = await t.admin.addNode('distribution relay', 'relay');
      const relay = simulate({ url: t.nodeUrl, kind: 'relay', registration_token: token, ...FAST });
      await relay.waitForState('online');
      // Registered in this process: its startup config still holds the spent token (in clear, as the real relay sends it).
      const first = await t.admin.request('GET', `/api/v1/nodes/${id}/config?refresh=true`);
      expect((first.result as { config: any }).config.manager.registration_token).toBe(REDACTED);
      expect(first.payload).not.toContain(token);
      // Registered long ago and restarted: distribution configured through the manager, then applied by a restart.
      await t.manager.context
        .db('nodes')
        .where({ id })
        .update({ registered_at: new Date(Date.now() - 600_000).toISOString() });
      await relay.restart();
      await relay.waitForState('online');
      await eventually(async () => (await stats(id))?.uptime_secs < 3);
      const configured = await command(id, { type: 'configure_distribution', token_secret: 'ab'.repeat(32), require_viewer_token: true });
      expect(configured.statusCode).toBe(200);
      await relay.restart();
      await relay.waitForState('online');
      const view = await t.admin.request('GET', `/api/v1/nodes/${id}/config?refresh=true`);
      expect(view.statusCode).toBe(200);
      const config = (view.result as { config: any }).config;
      expect(config.distribution).toEqual({ token_secret: REDACTED, require_viewer_token: true });
      expect(config.api_token).toBe(REDACTED);
      expect(config.manager.node_secret).toBe(REDACTED);
      expect(view.payload).not.toContain('abab');
      const viaCommand = await command(id, { type: 'get_config' });
      expect(viaCommand.payload).not.toContain('abab');
      expect((viaCommand.result as { data: any }).data.distribution.token_secret).toBe(REDACTED);
    });
  });
});
