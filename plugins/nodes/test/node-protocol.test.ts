import { LogCapture, testDatabases } from '@bilbycast/tests';
import { RawDevice, deviceTimestamp, eventually, nodesManager, type NodesTestManager } from './nodes-harness';

/** PROTOCOL.md §14 (conformance points), point by point, with real WebSocket clients. */
describe.each(testDatabases())('/ws/node conformance (%s)', (kind) => {
  let t: NodesTestManager;

  beforeAll(async () => {
    t = await nodesManager(kind, { options: { auth_timeout_ms: 300, auth_lockout_window_secs: 1 } });
  });
  afterAll(async () => {
    await t.close();
  });

  /** A registered node and its live device connection. */
  async function registered(name: string, deviceType = 'edge', authExtra: Record<string, unknown> = { software_version: '0.106.0', protocol_version: 4 }) {
    const { id, token } = await t.admin.addNode(name, deviceType);
    const { device, reply } = await RawDevice.signIn(t.nodeUrl, { registration_token: token, ...authExtra });
    expect(reply.type).toBe('register_ack');
    return { id, device, secret: reply.payload.node_secret as string };
  }

  const nodeView = async (id: string) => (await t.admin.request('GET', `/api/v1/nodes/${id}`)).result as Record<string, any>;
  const liveStats = async (id: string) => (await t.admin.request('GET', `/api/v1/nodes/${id}/stats`)).result as { stats: any; health: any };

  test('§14.1, §14.3, §14.4: a bare upgrade is accepted; without an auth message in time the only frame is auth_error, then close', async () => {
    const device = await RawDevice.connect(t.nodeUrl);
    const closed = await device.closed;
    expect(closed.code).toBe(1008);
    expect(device.received.map((m) => m.type)).toEqual(['auth_error']);
    expect(device.received[0].message).toMatch(/timeout/i);
  });

  test('§14.3: a first frame that is not a JSON auth message is refused', async () => {
    for (const frame of ['{"type":"stats","payload":{}}', 'not json', '[1,2]']) {
      const device = await RawDevice.connect(t.nodeUrl);
      device.sendRaw(frame);
      expect((await device.next()).type).toBe('auth_error');
      expect((await device.closed).code).toBe(1008);
    }
    const binary = await RawDevice.connect(t.nodeUrl);
    binary.sendRaw(Buffer.from(JSON.stringify({ type: 'auth', payload: {} })), true);
    expect((await binary.next()).type).toBe('auth_error');
  });

  test('§14.4/§4.1: the auth reply is the first frame, an empty auth payload gets auth_error', async () => {
    const { device, reply } = await RawDevice.signIn(t.nodeUrl, {});
    expect(reply.type).toBe('auth_error');
    expect(reply.message).toMatch(/missing credentials/i);
    expect(device.received).toEqual([]);
  });

  test('§14.6/14.11: credentials get {"type":"auth_ok"}; protocol_version absent means 1, and 3 is accepted', async () => {
    const { id, device, secret } = await registered('v1 relay', 'relay', { software_version: '0.10.6' });
    expect((await nodeView(id)).protocol_version).toBe(1);
    device.close();
    await device.closed;
    const again = await RawDevice.signIn(t.nodeUrl, { node_id: id, node_secret: secret, software_version: '0.10.7', protocol_version: 3 });
    expect(again.reply.type).toBe('auth_ok');
    await eventually(async () => (await nodeView(id)).protocol_version === 3);
    expect((await nodeView(id)).software_version).toBe('0.10.7');
    again.device.close();
  });

  test('§14.7/14.8: bad secrets get auth_error; five failures lock the node out (even with the right secret) until the window ends', async () => {
    const { id, device, secret } = await registered('lockout edge');
    device.close();
    for (let i = 0; i < 5; i++) {
      const bad = await RawDevice.signIn(t.nodeUrl, { node_id: id, node_secret: `wrong-${i}`, protocol_version: 4 });
      expect(bad.reply).toMatchObject({ type: 'auth_error', message: 'Invalid node credentials' });
    }
    const locked = await RawDevice.signIn(t.nodeUrl, { node_id: id, node_secret: secret, protocol_version: 4 });
    expect(locked.reply.type).toBe('auth_error');
    expect(locked.reply.message).toMatch(/locked out/);
    // The lockout is audited.
    const audit = await t.manager.context.db('audit_log').where({ action: 'node.auth_lockout', target_id: id });
    expect(audit).toHaveLength(1);
    // Devices retry every few seconds forever; after the window the right secret works again.
    await eventually(async () => {
      const retry = await RawDevice.signIn(t.nodeUrl, { node_id: id, node_secret: secret, protocol_version: 4 });
      retry.device.close();
      return retry.reply.type === 'auth_ok';
    });
  });

  test('§4.7: five bad tokens with one prefix lock that prefix out', async () => {
    const { id, token } = await t.admin.addNode('token lockout');
    for (let i = 0; i < 5; i++) {
      const bad = await RawDevice.signIn(t.nodeUrl, { registration_token: `${token.slice(0, 8)}-bad-${i}` });
      expect(bad.reply.type).toBe('auth_error');
    }
    const locked = await RawDevice.signIn(t.nodeUrl, { registration_token: token });
    expect(locked.reply.message).toMatch(/locked out/);
    expect((await nodeView(id)).status).toBe('pending');
  });

  test('§14.10: device_type comes from the node record; the SDK’s own device_type field is accepted', async () => {
    const { id, token } = await t.admin.addNode('Appear X gateway', 'appear_x');
    const { device, reply } = await RawDevice.signIn(t.nodeUrl, {
      registration_token: token,
      software_version: '0.11.8',
      device_type: 'appear_x',
      protocol_version: 1
    });
    expect(reply.type).toBe('register_ack');
    expect((await nodeView(id)).device_type).toBe('appear_x');
    device.close();
  });

  test('§14.12: nanosecond timestamps, missing timestamps and unknown types are fine; nothing closes the socket', async () => {
    const { id, device } = await registered('tolerant edge');
    device.send({ type: 'telemetry_v9', timestamp: deviceTimestamp(), payload: { x: 1 } });
    device.send({ type: 'stats', timestamp: deviceTimestamp(), payload: { flows: [], uptime_secs: 11 } });
    device.send({ type: 'stats', payload: { flows: [], uptime_secs: 12 } });
    await eventually(async () => (await liveStats(id)).stats?.uptime_secs === 12);
    const view = await nodeView(id);
    expect(view.connection.counters).toMatchObject({ unknown_types: 1, malformed: 0 });
    device.close();
  });

  test('§14.13: a 5 MiB answer (config_response) is processed; unasked frames are capped by kind; over 8 MiB is dropped; nothing closes', async () => {
    const { id, device } = await registered('big messages');
    device.onCommand = ({ action }, d) => {
      if (action.type === 'get_config')
        d.send({ type: 'config_response', timestamp: deviceTimestamp(), payload: { version: 2, padding: 'c'.repeat(5 * 1024 * 1024) } });
    };
    const config = await t.admin.request('GET', `/api/v1/nodes/${id}/config?refresh=true`);
    expect(config.statusCode).toBe(200);
    expect((config.result as any).config.padding).toHaveLength(5 * 1024 * 1024);
    // Stats no real device sends this large, and nothing asked for it: counted, not read.
    device.send({ type: 'stats', timestamp: deviceTimestamp(), payload: { flows: [], uptime_secs: 5, padding: 'x'.repeat(5 * 1024 * 1024) } });
    device.send({ type: 'stats', payload: { flows: [], uptime_secs: 9, padding: 'y'.repeat(9 * 1024 * 1024) } });
    device.send({ type: 'event', payload: { severity: 'info', category: 'x', message: 'z'.repeat(100 * 1024) } });
    device.send({ type: 'stats', payload: { flows: [], uptime_secs: 10 } });
    await eventually(async () => (await liveStats(id)).stats?.uptime_secs === 10);
    expect((await nodeView(id)).connection.counters.oversize).toBe(3);
    expect(device.socket.readyState).toBe(device.socket.OPEN);
    device.close();
  });

  test('§14.15: stats are last-value-wins, and an edge’s `flows: []` fallback sample does not delete its flows', async () => {
    const { id, device } = await registered('flows edge');
    const flow = { flow_id: 'main', flow_name: 'Main', state: 'Running', health: 'Healthy', input: { bitrate_bps: 8_000_000 }, outputs: [] };
    device.send({ type: 'stats', payload: { flows: [flow], uptime_secs: 1, active_flows: 1, total_flows: 1 } });
    device.send({ type: 'stats', payload: { flows: [], uptime_secs: 2, active_flows: 1, total_flows: 1 } });
    await eventually(async () => (await liveStats(id)).stats?.uptime_secs === 2);
    const stats = await liveStats(id);
    expect(stats.stats.flows).toEqual([flow]);
    // The driver's summary comes from the stats.
    expect((await nodeView(id)).summary).toMatchObject({ flows_active: 1, flows_total: 1, bitrate_bps: 8_000_000 });
    device.close();
  });

  test('§14.16: health is last-value-wins (never merged); capabilities and version are recorded', async () => {
    const { id, device } = await registered('health edge');
    device.send({ type: 'health', payload: { status: 'ok', version: '0.106.2', capabilities: ['ptp', 'st2110-30'], ptp_state: { lock_state: 'locked' } } });
    device.send({ type: 'health', payload: { status: 'ok', version: '0.106.2', capabilities: ['ptp', 'st2110-30'] } });
    await eventually(async () => {
      const health = (await liveStats(id)).health;
      return health && !('ptp_state' in health);
    });
    await eventually(async () => (await nodeView(id)).software_version === '0.106.2');
    expect((await nodeView(id)).capabilities).toEqual(['ptp', 'st2110-30']);
    expect((await nodeView(id)).health).toBe('healthy');
    device.close();
    // The last payload is kept on the row for when the node is offline.
    const row = await eventually(async () => {
      const stored = await t.manager.context.db('nodes').where({ id }).first();
      return stored.status === 'offline' ? stored : undefined;
    });
    expect(JSON.parse(row.last_health)).toEqual({ status: 'ok', version: '0.106.2', capabilities: ['ptp', 'st2110-30'] });
  });

  test('§14.18: thumbnails with `data` (edge) or `image_base64` (SDK), keyed by node, flow and input', async () => {
    const { id, device } = await registered('thumbs');
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xd9]);
    device.send({ type: 'thumbnail', payload: { flow_id: 'main', data: jpeg.toString('base64'), width: 320, height: 180 } });
    device.send({
      type: 'thumbnail',
      payload: { flow_id: 'main', input_id: 'backup', image_base64: Buffer.from([0xff, 0xd8, 1, 0xff, 0xd9]).toString('base64') }
    });
    const main = await eventually(async () => {
      const res = await t.admin.request('GET', `/api/v1/nodes/${id}/thumbnails/main`);
      return res.statusCode === 200 ? res : null;
    });
    expect(main.headers['content-type']).toBe('image/jpeg');
    expect(main.rawPayload).toEqual(jpeg);
    const backup = await eventually(async () => {
      const res = await t.admin.request('GET', `/api/v1/nodes/${id}/thumbnails/main?input_id=backup`);
      return res.statusCode === 200 ? res : null;
    });
    expect(backup.rawPayload).toEqual(Buffer.from([0xff, 0xd8, 1, 0xff, 0xd9]));
    expect((await t.admin.request('GET', `/api/v1/nodes/${id}/thumbnails/other`)).statusCode).toBe(404);
    // An image far larger than any thumbnail is counted and not kept.
    device.send({ type: 'thumbnail', payload: { flow_id: 'huge', data: 'A'.repeat(1024 * 1024 + 4) } });
    await eventually(async () => (await nodeView(id)).connection.counters.oversize === 1);
    expect((await t.admin.request('GET', `/api/v1/nodes/${id}/thumbnails/huge`)).statusCode).toBe(404);
    device.close();
  });

  test('§14.19–20: commands use the documented envelope; acks may come out of order; a late ack is ignored', async () => {
    const { id, device } = await registered('commands', 'testdev', { protocol_version: 1 });
    const first = t.admin.request('POST', `/api/v1/nodes/${id}/command`, { action: { type: 'quick', n: 1 } });
    const firstCommand = await device.next((m) => m.type === 'command');
    const second = t.admin.request('POST', `/api/v1/nodes/${id}/command`, { action: { type: 'quick', n: 2 } });
    const secondCommand = await device.next((m) => m.type === 'command');
    expect(firstCommand).toEqual({
      type: 'command',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      payload: { command_id: expect.any(String), action: { type: 'quick', n: 1 } }
    });
    expect(secondCommand.payload.command_id).not.toBe(firstCommand.payload.command_id);
    device.ack(secondCommand.payload.command_id, { success: true, data: { n: 2 } });
    device.ack(firstCommand.payload.command_id, { success: true, data: { n: 1 } });
    expect((await second).result).toEqual({ command_id: secondCommand.payload.command_id, success: true, data: { n: 2 } });
    expect((await first).result).toEqual({ command_id: firstCommand.payload.command_id, success: true, data: { n: 1 } });

    // Unanswered: 504 after the driver's timeout; the late ack is counted and ignored.
    const slow = await t.admin.request('POST', `/api/v1/nodes/${id}/command`, { action: { type: 'quick' } });
    expect(slow.statusCode).toBe(504);
    expect(slow.result).toMatchObject({ error_code: 'command_timeout' });
    const unanswered = await device.next((m) => m.type === 'command');
    device.ack(unanswered.payload.command_id, { success: true });
    await eventually(async () => (await nodeView(id)).connection.counters.late_acks === 1);
    expect(device.socket.readyState).toBe(device.socket.OPEN);
    device.close();
  });

  test('§14.21: pending commands fail at once when the node disconnects', async () => {
    const { id, device } = await registered('drops', 'edge');
    const pending = t.admin.request('POST', `/api/v1/nodes/${id}/command`, { action: { type: 'stop_flow', flow_id: 'main' } });
    await device.next((m) => m.type === 'command');
    device.socket.terminate();
    const res = await pending;
    expect(res.statusCode).toBe(502);
    expect(res.result).toMatchObject({ error_code: 'node_offline' });
  });

  test('§14.22: get_config resolves on config_response without an ack (edge) and copes with a preceding ack (gateway)', async () => {
    const edge = await registered('config edge');
    edge.device.onCommand = ({ action }, d) => {
      if (action.type === 'get_config') d.send({ type: 'config_response', timestamp: deviceTimestamp(), payload: { version: 2, flows: [{ id: 'main' }] } });
    };
    const res = await t.admin.request('GET', `/api/v1/nodes/${edge.id}/config`);
    expect(res.statusCode).toBe(200);
    expect(res.result).toMatchObject({ node_id: edge.id, cached: false, config: { version: 2, flows: [{ id: 'main' }] } });
    // Cached now: no second get_config goes out.
    const commandsBefore = edge.device.received.length;
    expect((await t.admin.request('GET', `/api/v1/nodes/${edge.id}/config`)).result).toMatchObject({ cached: true, config: { version: 2 } });
    expect(edge.device.received.length).toBe(commandsBefore);
    // Through the command endpoint too.
    const viaCommand = await t.admin.request('POST', `/api/v1/nodes/${edge.id}/command`, { action: { type: 'get_config' } });
    expect(viaCommand.result).toMatchObject({ success: true, data: { version: 2 } });
    edge.device.close();

    const gateway = await registered('config gateway', 'appear_x', { software_version: '0.11.8', device_type: 'appear_x', protocol_version: 1 });
    gateway.device.onCommand = ({ command_id, action }, d) => {
      if (action.type !== 'get_config') return;
      d.ack(command_id, { success: true });
      d.send({ type: 'config_response', timestamp: deviceTimestamp(), payload: { config: { slots: 4 } } });
    };
    const gatewayConfig = await t.admin.request('GET', `/api/v1/nodes/${gateway.id}/config?refresh=true`);
    expect(gatewayConfig.result).toMatchObject({ config: { slots: 4 } });
    expect((await nodeView(gateway.id)).connection.counters.late_acks).toBe(0);
    gateway.device.close();
  });

  test('§14.24/§14.27: pong is ignored; close marks the node offline at once', async () => {
    const { id, device } = await registered('pong edge');
    device.send({ type: 'pong', timestamp: deviceTimestamp(), payload: null });
    device.send({ type: 'stats', payload: { flows: [], uptime_secs: 4 } });
    await eventually(async () => (await liveStats(id)).stats?.uptime_secs === 4);
    expect((await nodeView(id)).connection.counters).toMatchObject({ unknown_types: 0, malformed: 0 });
    device.close();
    await eventually(async () => (await nodeView(id)).status === 'offline');
    expect((await liveStats(id)).stats).toBeNull();
  });

  test('§14.28: after rotate_secret the previous secret works until the node signs in with the new one', async () => {
    const { id, device, secret } = await registered('rotating edge');
    device.close();
    await device.closed;
    // Secrets rotate only on a connection that signed in with a secret.
    const live = await RawDevice.signIn(t.nodeUrl, { node_id: id, node_secret: secret, protocol_version: 4 });
    let newSecret = '';
    live.device.onCommand = ({ command_id, action }, d) => {
      newSecret = action.new_secret;
      d.ack(command_id, { success: true, error: null });
    };
    const rotated = await t.admin.request('POST', `/api/v1/nodes/${id}/rotate-secret`);
    expect(rotated.statusCode).toBe(200);
    expect(JSON.stringify(rotated.result)).not.toContain(newSecret);
    expect(newSecret).toMatch(/^[0-9a-f]{64}$/);
    live.device.close();
    await live.device.closed;
    // The edge reconnects with its old in-memory secret after a blip: still accepted.
    const old = await RawDevice.signIn(t.nodeUrl, { node_id: id, node_secret: secret, protocol_version: 4 });
    expect(old.reply.type).toBe('auth_ok');
    old.device.close();
    await old.device.closed;
    const fresh = await RawDevice.signIn(t.nodeUrl, { node_id: id, node_secret: newSecret, protocol_version: 4 });
    expect(fresh.reply.type).toBe('auth_ok');
    fresh.device.close();
    await fresh.device.closed;
    await eventually(async () => (await t.manager.context.db('nodes').where({ id }).first()).previous_secret_hash === null);
    const stale = await RawDevice.signIn(t.nodeUrl, { node_id: id, node_secret: secret, protocol_version: 4 });
    expect(stale.reply.type).toBe('auth_error');
  });

  /** A node signed in with its secret (rotation needs that), and its stored secret hashes. */
  async function signedInWithSecret(name: string) {
    const { id, device, secret } = await registered(name);
    device.close();
    await device.closed;
    const live = (await RawDevice.signIn(t.nodeUrl, { node_id: id, node_secret: secret, protocol_version: 4 })).device;
    return { id, secret, live };
  }
  const signsIn = async (id: string, secret: string) => {
    const { reply, device } = await RawDevice.signIn(t.nodeUrl, { node_id: id, node_secret: secret, protocol_version: 4 });
    device.close();
    await device.closed;
    return reply.type;
  };

  test('rotation whose ack is lost: both secrets stay valid (the device may have saved the new one)', async () => {
    const { id, secret, live } = await signedInWithSecret('lost ack edge');
    let newSecret = '';
    live.onCommand = ({ action }, d) => {
      newSecret = action.new_secret;
      d.close();
    };
    const res = await t.admin.request('POST', `/api/v1/nodes/${id}/rotate-secret`);
    expect(res.result).toMatchObject({ error_code: 'node_offline' });
    expect(await signsIn(id, secret)).toBe('auth_ok');
    expect(await signsIn(id, newSecret)).toBe('auth_ok');
  });

  test('a second rotation waits until the node has signed in with the first one’s secret', async () => {
    const { id, secret, live } = await signedInWithSecret('twice rotated edge');
    const sent: string[] = [];
    live.onCommand = ({ command_id, action }, d) => {
      sent.push(action.new_secret);
      d.ack(command_id, { success: true });
    };
    expect((await t.admin.request('POST', `/api/v1/nodes/${id}/rotate-secret`)).statusCode).toBe(200);
    const again = await t.admin.request('POST', `/api/v1/nodes/${id}/rotate-secret`);
    expect({ status: again.statusCode, code: (again.result as { error_code: string }).error_code }).toEqual({ status: 409, code: 'rotation_pending' });
    expect(sent).toHaveLength(1);
    // The edge still holds its startup secret in memory: it must keep working.
    live.close();
    await live.closed;
    expect(await signsIn(id, secret)).toBe('auth_ok');
    // Signed in with the new secret: the old one is retired and rotation is possible again.
    const next = (await RawDevice.signIn(t.nodeUrl, { node_id: id, node_secret: sent[0], protocol_version: 4 })).device;
    await eventually(async () => (await t.manager.context.db('nodes').where({ id }).first()).previous_secret_hash === null);
    next.onCommand = ({ command_id }, d) => d.ack(command_id, { success: true });
    expect((await t.admin.request('POST', `/api/v1/nodes/${id}/rotate-secret`)).statusCode).toBe(200);
    next.close();
  });

  test('a device that refuses the rotation keeps only its current secret', async () => {
    const { id, secret, live } = await signedInWithSecret('refusing edge');
    let newSecret = '';
    live.onCommand = ({ command_id, action }, d) => {
      newSecret = action.new_secret;
      d.ack(command_id, { success: false, error: 'cannot write secrets.json', error_code: 'persist_failed' });
    };
    const res = await t.admin.request('POST', `/api/v1/nodes/${id}/rotate-secret`);
    expect({ status: res.statusCode, code: (res.result as { error_code: string }).error_code }).toEqual({ status: 422, code: 'persist_failed' });
    live.close();
    await live.closed;
    expect(await signsIn(id, newSecret)).toBe('auth_error');
    expect(await signsIn(id, secret)).toBe('auth_ok');
  });

  test('rotation is refused on the connection that registered (the relay would lose its node id)', async () => {
    const { id, device } = await registered('fresh relay', 'relay', { software_version: '0.10.6', protocol_version: 1 });
    const res = await t.admin.request('POST', `/api/v1/nodes/${id}/rotate-secret`);
    expect(res.statusCode).toBe(409);
    expect(res.result).toMatchObject({ error_code: 'rotation_unavailable' });
    device.close();
  });

  test('an expired node is refused', async () => {
    const { id, token } = await t.admin.addNode('short-lived', 'edge', { expires_at: new Date(Date.now() + 60_000).toISOString() });
    await t.manager.context
      .db('nodes')
      .where({ id })
      .update({ expires_at: new Date(Date.now() - 1000).toISOString() });
    const { reply } = await RawDevice.signIn(t.nodeUrl, { registration_token: token });
    expect(reply).toMatchObject({ type: 'auth_error', message: 'Node has expired' });
  });
});

describe.each(testDatabases())('/ws/node liveness and restart (%s)', (kind) => {
  test('§14.27: a silent node is closed and marked offline; a restart leaves no node online', async () => {
    const t = await nodesManager(kind, { options: { offline_after_secs: 0.3, last_seen_flush_ms: 50 } });
    const { id, token } = await t.admin.addNode('silent edge');
    // Silent, and deaf to the manager's keep-alive pings (a dead connection looks like this).
    const { device, reply } = await RawDevice.signIn(t.nodeUrl, { registration_token: token }, { autoPong: false });
    expect(reply.type).toBe('register_ack');
    await device.closed;
    // Written just after the close.
    const row = await eventually(async () => {
      const current = await t.manager.context.db('nodes').where({ id }).first();
      return current.status === 'offline' ? current : undefined;
    });
    expect(row.last_seen_at).not.toBeNull();

    // A crash leaves "online" rows behind; the next start corrects them.
    await t.manager.context.db('nodes').where({ id }).update({ status: 'online' });
    const config = t.manager.context.config;
    await t.manager.stop();
    const restarted = await nodesManager(kind, { database: t.database, reuseConfig: config });
    expect((await restarted.manager.context.db('nodes').where({ id }).first()).status).toBe('offline');
    await restarted.close();
    await t.database.cleanup();
  });
});

describe.each(testDatabases())('/ws/node keep-alive (%s)', (kind) => {
  test('a quiet node that answers pings stays online (gateways send health only every 5–300 s)', async () => {
    const t = await nodesManager(kind, { options: { offline_after_secs: 0.6 } });
    const { id, token } = await t.admin.addNode('quiet gateway', 'appear_x');
    const { device, reply } = await RawDevice.signIn(t.nodeUrl, { registration_token: token, device_type: 'appear_x' });
    expect(reply.type).toBe('register_ack');
    // Pings come only when the node has been quiet for half the limit; four of them span more than the limit.
    await eventually(() => device.received.filter((m) => m.type === '<ws-ping>').length >= 4);
    expect(device.socket.readyState).toBe(device.socket.OPEN);
    expect(((await t.admin.request('GET', `/api/v1/nodes/${id}`)).result as { status: string }).status).toBe('online');
    device.close();
    await t.close();
  });
});

describe.each(testDatabases())('/ws/node expiry of a connected node (%s)', (kind) => {
  test('an expiry set while the node is connected closes its session when due', async () => {
    // Sweeps every second; a node silent for 3 s would be closed for silence instead (another reason).
    const t = await nodesManager(kind, { options: { offline_after_secs: 3 } });
    const { id, token } = await t.admin.addNode('soon expiring edge');
    const { device } = await RawDevice.signIn(t.nodeUrl, { registration_token: token });
    const expires_at = new Date(Date.now() + 1000).toISOString();
    expect((await t.admin.request('PUT', `/api/v1/nodes/${id}`, { expires_at })).statusCode).toBe(200);
    expect(await device.closed).toEqual({ code: 1008, reason: 'Node has expired' });
    await t.close();
  });
});

describe.each(testDatabases())('/ws/node sign-in while the database is slow (%s)', (kind) => {
  let t: NodesTestManager;
  const logs = new LogCapture();

  beforeAll(async () => {
    t = await nodesManager(kind, { options: { auth_timeout_ms: 200 }, config: { log_level: 'info' }, logDestination: logs });
  });
  afterAll(async () => {
    await t.close();
  });

  /** Holds a write lock on the node's row: the manager's sign-in waits until `release()`. */
  async function lockNodeRow(id: string): Promise<() => Promise<void>> {
    const trx = await t.manager.context.db.transaction();
    await trx('nodes').where({ id }).update({ description: 'locked by the test' });
    return async () => {
      await trx.commit();
    };
  }

  test('the auth time limit is for the first frame: a sign-in still under way is answered', async () => {
    const { id, token } = await t.admin.addNode('patient edge');
    const release = await lockNodeRow(id);
    const device = await RawDevice.connect(t.nodeUrl);
    device.send({ type: 'auth', payload: { registration_token: token } });
    // Past the 200 ms limit while the registration waits for the lock.
    await new Promise((resolve) => setTimeout(resolve, 400));
    await release();
    expect((await device.next()).type).toBe('register_ack');
    device.close();
  });

  test('a registration whose reply cannot be delivered is undone: the same token works on the retry', async () => {
    const { id, token } = await t.admin.addNode('vanishing edge');
    const release = await lockNodeRow(id);
    const device = await RawDevice.connect(t.nodeUrl);
    device.send({ type: 'auth', payload: { registration_token: token } });
    device.close();
    await device.closed;
    await release();
    await eventually(() => logs.entries().some((e) => e.node_id === id && e.msg === 'registration reply undeliverable: the token stays valid'));
    const retry = await RawDevice.signIn(t.nodeUrl, { registration_token: token });
    expect(retry.reply.type).toBe('register_ack');
    const row = await t.manager.context.db('nodes').where({ id }).first();
    expect(row.registration_token_hash).toBeNull();
    retry.device.close();
  });

  test('a node deleted while it signs in is refused, not brought online', async () => {
    const { id, token } = await t.admin.addNode('deleted midway');
    const first = await RawDevice.signIn(t.nodeUrl, { registration_token: token });
    const secret = first.reply.payload.node_secret as string;
    first.device.close();
    await eventually(async () => (await t.manager.context.db('nodes').where({ id }).first()).status === 'offline');
    // Deleted in a transaction not yet committed: the sign-in can still read the row, but must
    // wait to mark it online until the delete is done.
    const trx = await t.manager.context.db.transaction();
    await trx('nodes').where({ id }).del();
    const device = await RawDevice.connect(t.nodeUrl);
    device.send({ type: 'auth', payload: { node_id: id, node_secret: secret } });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await trx.commit();
    expect((await device.next()).type).toBe('auth_error');
    expect(await t.manager.context.db('nodes').where({ id }).first()).toBeUndefined();
  });

  test('a node whose secret is revoked while it signs in is refused', async () => {
    const { id, token } = await t.admin.addNode('revoked midway');
    const first = await RawDevice.signIn(t.nodeUrl, { registration_token: token });
    const secret = first.reply.payload.node_secret as string;
    first.device.close();
    await eventually(async () => (await t.manager.context.db('nodes').where({ id }).first()).status === 'offline');
    // As a token regeneration does: the current secret is gone.
    const trx = await t.manager.context.db.transaction();
    await trx('nodes').where({ id }).update({ secret_hash: null, previous_secret_hash: null, status: 'pending' });
    const device = await RawDevice.connect(t.nodeUrl);
    device.send({ type: 'auth', payload: { node_id: id, node_secret: secret } });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await trx.commit();
    expect((await device.next()).type).toBe('auth_error');
    expect((await t.manager.context.db('nodes').where({ id }).first()).status).toBe('pending');
  });

  test('messages sent during sign-in that are not what they claim cost nothing', async () => {
    const { id, token } = await t.admin.addNode('odd edge');
    const release = await lockNodeRow(id);
    const device = await RawDevice.connect(t.nodeUrl);
    device.send({ type: 'auth', payload: { registration_token: token } });
    // Queued while the sign-in waits: fields whose "text" is an object that cannot be turned into text.
    device.send({ type: 'event', payload: { severity: 'warning', category: { toString: 1 }, message: { toString: 1 } } });
    await release();
    expect((await device.next()).type).toBe('register_ack');
    device.send({ type: 'stats', payload: { flows: [], uptime_secs: 7 } });
    await eventually(
      async () => ((await t.admin.request('GET', `/api/v1/nodes/${id}/stats`)).result as { stats: { uptime_secs?: number } | null }).stats?.uptime_secs === 7
    );
    // The event was taken (object "text" counts as absent), not dropped by a handler error; the connection lives on.
    expect(logs.entries().filter((e) => e.node_id === id && e.msg === 'could not process a node message')).toEqual([]);
    expect(device.received.filter((m) => m.type === 'auth_error')).toEqual([]);
    expect(device.socket.readyState).toBe(device.socket.OPEN);
    device.close();
  });
});
