import { testDatabases } from '@bilbycast/tests';
import { RawDevice, Session, eventually, nodesManager, seedUser, type NodesTestManager } from './nodes-harness';

describe.each(testDatabases())('/api/v1/nodes (%s)', (kind) => {
  let t: NodesTestManager;
  let operator: Session;
  let viewer: Session;

  beforeAll(async () => {
    t = await nodesManager(kind, { options: { stats_history_interval_secs: 0.001 } });
    await seedUser(t.manager, 'op', 'operator');
    await seedUser(t.manager, 'view', 'viewer');
    operator = await Session.login(t.manager, 'op');
    viewer = await Session.login(t.manager, 'view');
  });
  afterAll(async () => {
    await t.close();
  });

  test('create answers 201 with every field and the token once; reads never show it', async () => {
    const res = await t.admin.request('POST', '/api/v1/nodes', {
      name: 'Perth relay',
      description: 'Rack 4\nslot 2',
      device_type: 'relay',
      metadata: { site: 'PER' }
    });
    expect(res.statusCode).toBe(201);
    const created = res.result as { id: string; registration_expires_at: string } & Record<string, unknown>;
    expect(created).toMatchObject({
      name: 'Perth relay',
      description: 'Rack 4\nslot 2',
      device_type: 'relay',
      status: 'pending',
      health: null,
      software_version: null,
      protocol_version: null,
      capabilities: [],
      last_seen_at: null,
      connected_at: null,
      remote_addr: null,
      expires_at: null,
      metadata: { site: 'PER' },
      summary: null,
      registration_pending: true,
      registration_token: expect.stringMatching(/^[0-9a-f-]{36}$/)
    });
    expect(res.headers.location).toBe(`/api/v1/nodes/${created.id}`);
    // The token expires after the default 7 days.
    const ttl = Date.parse(created.registration_expires_at) - Date.now();
    expect(ttl).toBeGreaterThan(6.9 * 86_400_000);
    expect(ttl).toBeLessThanOrEqual(7 * 86_400_000);
    const read = await viewer.request('GET', `/api/v1/nodes/${created.id}`);
    expect(read.statusCode).toBe(200);
    expect(JSON.stringify(read.result)).not.toContain(created.registration_token as string);
    expect(read.result).not.toHaveProperty('registration_token');
  });

  test('create refuses bad input with a clear 400', async () => {
    const cases: [unknown, string][] = [
      [{ name: 'x', device_type: 'toaster' }, 'unknown_device_type'],
      [{ name: '' }, 'validation_error'],
      [{ name: 'a\u0007b' }, 'validation_error'],
      [{ name: 'x'.repeat(129) }, 'validation_error'],
      [{ name: 'x', description: 'd'.repeat(513) }, 'validation_error'],
      [{ name: 'x', expires_at: '2001-01-01T00:00:00Z' }, 'validation_error'],
      [{ name: 'x', expires_at: '2099-02-30T00:00:00Z' }, 'validation_error'],
      [{ name: 'x', metadata: { blob: 'm'.repeat(17_000) } }, 'validation_error'],
      [{ name: 'x', metadata: [1] }, 'validation_error']
    ];
    for (const [payload, code] of cases) {
      const res = await t.admin.request('POST', '/api/v1/nodes', payload);
      expect({ payload, status: res.statusCode, code: (res.result as { error_code: string }).error_code }).toEqual({ payload, status: 400, code });
    }
    const unknownType = await t.admin.request('POST', '/api/v1/nodes', { name: 'x', device_type: 'toaster' });
    expect((unknownType.result as { message: string }).message).toBe('unknown device type: toaster');
    const past = await t.admin.request('POST', '/api/v1/nodes', { name: 'x', expires_at: '2001-01-01T00:00:00Z' });
    expect((past.result as { message: string }).message).toMatch(/expires_at" must be in the future/);
  });

  test('list filters by device_type, status and q, sorted by name; only admins write', async () => {
    await t.admin.addNode('zz filter edge');
    await t.admin.addNode('aa filter gateway', 'appear_x');
    const all = (await viewer.request('GET', '/api/v1/nodes?q=FILTER')).result as { name: string }[];
    expect(all.map((n) => n.name)).toEqual(['aa filter gateway', 'zz filter edge']);
    const gateways = (await viewer.request('GET', '/api/v1/nodes?q=filter&device_type=appear_x')).result as { name: string }[];
    expect(gateways.map((n) => n.name)).toEqual(['aa filter gateway']);
    expect(((await viewer.request('GET', '/api/v1/nodes?q=filter&status=online')).result as unknown[]).length).toBe(0);
    expect(((await viewer.request('GET', '/api/v1/nodes?q=100%25')).result as unknown[]).length).toBe(0);
    expect((await viewer.request('GET', '/api/v1/nodes?status=sleeping')).statusCode).toBe(400);
    expect((await operator.request('POST', '/api/v1/nodes', { name: 'nope' })).statusCode).toBe(403);
  });

  test('update and delete (admin, audited); delete disconnects the device', async () => {
    const { id, token } = await t.admin.addNode('to change');
    const updated = await t.admin.request('PUT', `/api/v1/nodes/${id}`, { name: 'changed', description: null, metadata: { rack: 3 } });
    expect(updated.result).toMatchObject({ name: 'changed', description: null, metadata: { rack: 3 } });
    expect((await operator.request('PUT', `/api/v1/nodes/${id}`, { name: 'op' })).statusCode).toBe(403);
    expect((await t.admin.request('PUT', `/api/v1/nodes/${id}`, {})).statusCode).toBe(400);

    const { device } = await RawDevice.signIn(t.nodeUrl, { registration_token: token });
    expect((await operator.request('DELETE', `/api/v1/nodes/${id}`)).statusCode).toBe(403);
    expect((await t.admin.request('DELETE', `/api/v1/nodes/${id}`)).statusCode).toBe(204);
    await device.closed;
    expect((await t.admin.request('GET', `/api/v1/nodes/${id}`)).statusCode).toBe(404);
    expect((await t.admin.request('DELETE', `/api/v1/nodes/${id}`)).statusCode).toBe(404);
    const actions = (await t.manager.context.db('audit_log').where({ target_id: id }).orderBy('id')).map((r: { action: string }) => r.action);
    expect(actions).toEqual(['node.create', 'node.update', 'node.delete']);
  });

  test('the live feed travels on the cluster bus (`live.*` topics), each subscriber with its own JSON copy', async () => {
    const { bus } = t.manager.context;
    const heard: { topic: string; message: Record<string, unknown> }[] = [];
    const stops = (['live.node_status', 'live.node_stats', 'live.node_removed'] as const).map((topic) =>
      bus.subscribe(topic, (message) => {
        heard.push({ topic, message: message as Record<string, unknown> });
      })
    );
    try {
      const { id, token } = await t.admin.addNode('on the bus');
      expect(heard).toContainEqual({ topic: 'live.node_status', message: expect.objectContaining({ id, status: 'pending' }) });
      const { device } = await RawDevice.signIn(t.nodeUrl, { registration_token: token, protocol_version: 4 });
      await eventually(() => heard.some(({ topic, message }) => topic === 'live.node_status' && message.id === id && message.status === 'online'));
      device.send({ type: 'stats', payload: { flows: [{ flow_id: 'a', state: 'Running' }], uptime_secs: 1 } });
      const stats = await eventually(() => heard.find(({ topic, message }) => topic === 'live.node_stats' && message.node_id === id));
      (stats.message.stats as { flows: unknown[] }).flows = [];
      expect(((await viewer.request('GET', `/api/v1/nodes/${id}/stats`)).result as { stats: { flows: unknown[] } }).stats.flows).toHaveLength(1);
      expect((await t.admin.request('DELETE', `/api/v1/nodes/${id}`)).statusCode).toBe(204);
      expect(heard).toContainEqual({ topic: 'live.node_removed', message: { node_id: id } });
      device.close();
    } finally {
      for (const stop of stops) stop();
    }
  });

  test('node scope: a scoped user sees only their nodes; others are 404 everywhere', async () => {
    const mine = await t.admin.addNode('scope mine');
    const theirs = await t.admin.addNode('scope theirs');
    await seedUser(t.manager, 'scoped', 'admin', { allowed_node_ids: JSON.stringify([mine.id]) });
    const scoped = await Session.login(t.manager, 'scoped');
    const names = ((await scoped.request('GET', '/api/v1/nodes?q=scope')).result as { name: string }[]).map((n) => n.name);
    expect(names).toEqual(['scope mine']);
    for (const [method, path] of [
      ['GET', ''],
      ['PUT', ''],
      ['DELETE', ''],
      ['POST', '/token'],
      ['GET', '/stats'],
      ['GET', '/stats/history'],
      ['GET', '/config'],
      ['POST', '/rotate-secret']
    ]) {
      const res = await scoped.request(method, `/api/v1/nodes/${theirs.id}${path}`, method === 'PUT' ? { name: 'x' } : undefined);
      expect({ method, path, status: res.statusCode }).toEqual({ method, path, status: 404 });
    }
    expect((await scoped.request('GET', `/api/v1/nodes/${mine.id}`)).statusCode).toBe(200);
  });

  test('stats history keeps the driver’s summary metrics, oldest first', async () => {
    const { id, token } = await t.admin.addNode('charted edge');
    const { device } = await RawDevice.signIn(t.nodeUrl, { registration_token: token, protocol_version: 4 });
    for (const bitrate of [1_000_000, 2_000_000, 3_000_000]) {
      device.send({ type: 'stats', payload: { flows: [{ flow_id: 'a', state: 'Running', input: { bitrate_bps: bitrate }, outputs: [] }], uptime_secs: 1, active_flows: 1, total_flows: 1 } });
      // History keeps one point per interval (1 ms here): the next sample must reach the hub at a later millisecond.
      await eventually(async () => {
        const res = (await viewer.request('GET', `/api/v1/nodes/${id}/stats`)).result as { stats: { flows: { input: { bitrate_bps: number } }[] } | null };
        return res.stats?.flows[0].input.bitrate_bps === bitrate;
      });
      await new Promise((r) => setTimeout(r, 2));
    }
    const history = await eventually(async () => {
      const res = (await viewer.request('GET', `/api/v1/nodes/${id}/stats/history`)).result as { points: { bitrate_bps: number; at: string }[] };
      return res.points.length === 3 ? res : undefined;
    });
    expect(history.points.map((p) => p.bitrate_bps)).toEqual([1_000_000, 2_000_000, 3_000_000]);
    expect(history).toMatchObject({ node_id: id, fields: expect.arrayContaining(['bitrate_bps', 'flows_active']) });
    const since = history.points[2].at;
    expect(((await viewer.request('GET', `/api/v1/nodes/${id}/stats/history?since=${since}`)).result as { points: unknown[] }).points).toHaveLength(1);
    expect((await viewer.request('GET', `/api/v1/nodes/${id}/stats/history?since=yesterday`)).statusCode).toBe(400);
    device.close();
  });

  test('registration tokens expire', async () => {
    const { id, token } = await t.admin.addNode('late device');
    await t.manager.context.db('nodes').where({ id }).update({ registration_expires_at: new Date(Date.now() - 1000).toISOString() });
    const { reply } = await RawDevice.signIn(t.nodeUrl, { registration_token: token });
    expect(reply).toMatchObject({ type: 'auth_error', message: 'Registration token has expired' });
    // A fresh token works.
    const fresh = ((await t.admin.request('POST', `/api/v1/nodes/${id}/token`)).result as { registration_token: string }).registration_token;
    const again = await RawDevice.signIn(t.nodeUrl, { registration_token: fresh });
    expect(again.reply.type).toBe('register_ack');
    again.device.close();
  });
});
