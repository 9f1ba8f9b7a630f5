import { defineDriver } from '@bilbycast/driver-sdk';
import { testDatabases } from '@bilbycast/tests';
import WebSocket from 'ws';
import { NodeDirectory } from '../src/services/node-directory';
import { RawDevice, Session, eventually, nodesManager, seedUser, type NodesTestManager } from './nodes-harness';

/** A third-party driver whose summary is no plain JSON (a BigInt). */
const bigintDriver = defineDriver({
  device_type: 'bigint',
  display_name: 'BigInt summary',
  commands: [],
  summarize: () => ({ metrics: {}, uptime_secs: 1n }) as never
});

/** A browser's `/ws/dashboard` feed: every message kept. */
async function dashboard(t: NodesTestManager, session: Session): Promise<{ socket: WebSocket; messages: { type: string; [key: string]: any }[] }> {
  const host = new URL(t.baseUrl).host;
  const socket = new WebSocket(`ws://${host}/ws/dashboard`, { headers: { cookie: session.cookieHeader, origin: `http://${host}` } });
  const messages: { type: string; [key: string]: any }[] = [];
  socket.on('message', (data: Buffer) => messages.push(JSON.parse(data.toString())));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  await eventually(() => messages.some((m) => m.type === 'snapshot'));
  return { socket, messages };
}

describe.each(testDatabases())('/api/v1/nodes (%s)', (kind) => {
  let t: NodesTestManager;
  let operator: Session;
  let viewer: Session;

  beforeAll(async () => {
    t = await nodesManager(kind, { options: { stats_history_interval_secs: 0.001, dashboard_stats_interval_ms: 50 }, drivers: [bigintDriver] });
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
      (stats.message.summary as { flows_total: number }).flows_total = 99;
      expect(((await viewer.request('GET', `/api/v1/nodes/${id}/stats`)).result as { summary: { flows_total: number } }).summary.flows_total).toBe(1);
      expect((await t.admin.request('DELETE', `/api/v1/nodes/${id}`)).statusCode).toBe(204);
      expect(heard).toContainEqual({ topic: 'live.node_removed', message: { node_id: id } });
      device.close();
    } finally {
      for (const stop of stops) stop();
    }
  });

  test('live.node_stats carries the summary, not the full stats; a browser’s detail page still gets them', async () => {
    const { bus } = t.manager.context;
    const heard: Record<string, unknown>[] = [];
    const stop = bus.subscribe('live.node_stats', (message) => void heard.push(message as unknown as Record<string, unknown>));
    const browser = await dashboard(t, t.admin);
    try {
      const { id, token } = await t.admin.addNode('detail page');
      const { device } = await RawDevice.signIn(t.nodeUrl, { registration_token: token, protocol_version: 4 });
      browser.socket.send(JSON.stringify({ type: 'subscribe_stats', node_ids: [id] }));
      const flows = [{ flow_id: 'main', state: 'Running' }];
      device.send({ type: 'stats', payload: { flows, uptime_secs: 7 } });
      const message = await eventually(() => heard.find((m) => m.node_id === id));
      expect(Object.keys(message).sort()).toEqual(['at_ms', 'node_id', 'summary']);
      const entry = await eventually(() =>
        browser.messages
          .filter((m) => m.type === 'node_stats')
          .flatMap((m) => m.nodes)
          .find((n: { node_id: string; stats?: unknown }) => n.node_id === id && n.stats)
      );
      expect(entry).toEqual({ node_id: id, at: new Date(message.at_ms as number).toISOString(), summary: message.summary, stats: { flows, uptime_secs: 7 } });
      device.close();
    } finally {
      stop();
      browser.socket.close();
    }
  });

  test('a driver summary that is not plain JSON is replaced by an empty one: the API and the feed keep working', async () => {
    const { bus } = t.manager.context;
    const heard: { node_id: string; summary: unknown }[] = [];
    const stop = bus.subscribe('live.node_stats', (message) => void heard.push(message));
    try {
      const { id, token } = await t.admin.addNode('bigint summary', 'bigint');
      const { device } = await RawDevice.signIn(t.nodeUrl, { registration_token: token, protocol_version: 4 });
      device.send({ type: 'stats', payload: { uptime_secs: 1 } });
      device.send({ type: 'stats', payload: { uptime_secs: 2 } });
      await eventually(() => heard.filter((m) => m.node_id === id).length === 2);
      expect(heard.find((m) => m.node_id === id)?.summary).toEqual({ metrics: {} });
      const list = await viewer.request('GET', '/api/v1/nodes');
      expect(list.statusCode).toBe(200);
      expect((list.result as { id: string; summary: unknown }[]).find((n) => n.id === id)?.summary).toEqual({ metrics: {} });
      expect((await t.admin.request('PUT', `/api/v1/nodes/${id}`, { name: 'bigint summary, renamed' })).statusCode).toBe(200);
      device.close();
    } finally {
      stop();
    }
  });

  test('delete and re-token of an online node: node_status only from the route (none after node_removed, one per re-token)', async () => {
    const { bus } = t.manager.context;
    const heard: { topic: string; id: string; status?: string }[] = [];
    const stops = [
      bus.subscribe('live.node_status', (node) => void heard.push({ topic: 'node_status', id: node.id, status: node.status })),
      bus.subscribe('live.node_removed', ({ node_id }) => void heard.push({ topic: 'node_removed', id: node_id }))
    ];
    const settle = () => new Promise((r) => setTimeout(r, 300));
    try {
      const retoken = await t.admin.addNode('re-tokened online');
      const first = await RawDevice.signIn(t.nodeUrl, { registration_token: retoken.token });
      await eventually(() => heard.some((m) => m.id === retoken.id && m.status === 'online'));
      const before = heard.length;
      expect((await t.admin.request('POST', `/api/v1/nodes/${retoken.id}/token`)).statusCode).toBe(200);
      await first.device.closed;
      await settle();
      expect(heard.slice(before)).toEqual([{ topic: 'node_status', id: retoken.id, status: 'pending' }]);

      const doomed = await t.admin.addNode('deleted online');
      const second = await RawDevice.signIn(t.nodeUrl, { registration_token: doomed.token });
      await eventually(() => heard.some((m) => m.id === doomed.id && m.status === 'online'));
      const from = heard.length;
      expect((await t.admin.request('DELETE', `/api/v1/nodes/${doomed.id}`)).statusCode).toBe(204);
      await second.device.closed;
      await settle();
      expect(heard.slice(from)).toEqual([{ topic: 'node_removed', id: doomed.id }]);
    } finally {
      for (const stop of stops) stop();
    }
  });

  test('delete: node_removed goes out even when the audit entry cannot be written', async () => {
    const { bus, audit } = t.manager.context;
    const removed: string[] = [];
    const stop = bus.subscribe('live.node_removed', ({ node_id }) => void removed.push(node_id));
    const { id } = await t.admin.addNode('audit fails');
    const spy = jest.spyOn(audit, 'record').mockRejectedValueOnce(new Error('audit store down'));
    try {
      expect((await t.admin.request('DELETE', `/api/v1/nodes/${id}`)).statusCode).toBe(500);
      expect(removed).toEqual([id]);
      expect((await t.admin.request('GET', `/api/v1/nodes/${id}`)).statusCode).toBe(404);
    } finally {
      spy.mockRestore();
      stop();
    }
  });

  test('an older session’s markOffline after a newer session’s markOnline leaves the node online', async () => {
    const { id } = await t.admin.addNode('quick reconnect');
    const { db } = t.manager.context;
    const hash = 'a'.repeat(64);
    await db('nodes').where({ id }).update({ secret_hash: hash, status: 'offline' });
    const directory = new NodeDirectory(db, 3_600_000);
    const session = { software_version: null, protocol_version: 4, remote_addr: null };
    const older = '2026-05-01T10:00:00.000Z';
    const newer = '2026-05-01T10:00:01.000Z';
    expect(await directory.markOnline(id, hash, older, session)).toBe(true);
    expect(await directory.markOnline(id, hash, newer, session)).toBe(true);
    await directory.markOffline(id, older, older, null);
    expect(await db('nodes').where({ id }).first()).toMatchObject({ status: 'online', connected_at: newer });
    await directory.markOffline(id, newer, newer, null);
    expect(await db('nodes').where({ id }).first()).toMatchObject({ status: 'offline', connected_at: null });
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
      device.send({
        type: 'stats',
        payload: { flows: [{ flow_id: 'a', state: 'Running', input: { bitrate_bps: bitrate }, outputs: [] }], uptime_secs: 1, active_flows: 1, total_flows: 1 }
      });
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
    await t.manager.context
      .db('nodes')
      .where({ id })
      .update({ registration_expires_at: new Date(Date.now() - 1000).toISOString() });
    const { reply } = await RawDevice.signIn(t.nodeUrl, { registration_token: token });
    expect(reply).toMatchObject({ type: 'auth_error', message: 'Registration token has expired' });
    // A fresh token works.
    const fresh = ((await t.admin.request('POST', `/api/v1/nodes/${id}/token`)).result as { registration_token: string }).registration_token;
    const again = await RawDevice.signIn(t.nodeUrl, { registration_token: fresh });
    expect(again.reply.type).toBe('register_ack');
    again.device.close();
  });
});
