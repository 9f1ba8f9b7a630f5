import events, { type EventStore } from '@bilbycast/events';
import { testDatabases } from '@bilbycast/tests';
import WebSocket from 'ws';
import { RawDevice, Session, eventually, nodesManager, seedUser, type NodesTestManager } from '../../plugins/nodes/test/nodes-harness';

type Message = { type: string; [key: string]: any };

/** A browser's `/ws/dashboard` connection, with every message kept in order. */
class DashboardClient {
  readonly messages: Message[] = [];
  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => this.messages.push(JSON.parse(data.toString())));
  }

  static async open(url: string, headers: Record<string, string>): Promise<DashboardClient> {
    const socket = new WebSocket(url, { headers });
    const client = new DashboardClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      socket.once('error', reject);
    });
    return client;
  }

  of(type: string): Message[] {
    return this.messages.filter((m) => m.type === type);
  }

  async waitFor(predicate: (m: Message) => boolean): Promise<Message> {
    return eventually(() => this.messages.find(predicate));
  }
}

describe.each(testDatabases())('/ws/dashboard (%s)', (kind) => {
  let t: NodesTestManager;
  let url: string;
  let host: string;

  beforeAll(async () => {
    t = await nodesManager(kind, {
      options: {
        dashboard_stats_interval_ms: 100,
        dashboard_buffer_soft_bytes: 16 * 1024,
        dashboard_buffer_hard_bytes: 256 * 1024,
        dashboard_revalidate_secs: 0.2,
        events_per_minute: 100_000,
        event_bytes_per_minute: 64 * 1024 * 1024
      },
      plugins: [events]
    });
    host = new URL(t.baseUrl).host;
    url = `ws://${host}/ws/dashboard`;
  });
  afterAll(async () => {
    await t.close();
  });

  const open = (session: Session, extra: Record<string, string> = {}) =>
    DashboardClient.open(url, { cookie: session.cookieHeader, origin: `http://${host}`, ...extra });

  test('needs a valid session cookie (401) and our own Origin (403)', async () => {
    await expect(DashboardClient.open(url, {})).rejects.toThrow('HTTP 401');
    await expect(DashboardClient.open(url, { cookie: 'session=forged' })).rejects.toThrow('HTTP 401');
    await expect(open(t.admin, { origin: 'https://evil.example' })).rejects.toThrow('HTTP 403');
    const ok = await open(t.admin);
    await ok.waitFor((m) => m.type === 'snapshot');
    ok.socket.close();
  });

  test('snapshot, then live status, coalesced stats, health, events and counts — scoped per user', async () => {
    const mine = await t.admin.addNode('dash mine');
    const theirs = await t.admin.addNode('dash theirs');
    await seedUser(t.manager, 'dash-viewer', 'viewer', { allowed_node_ids: JSON.stringify([mine.id]) });
    const viewer = await Session.login(t.manager, 'dash-viewer');
    const client = await open(viewer);
    const admin = await open(t.admin);

    const snapshot = await client.waitFor((m) => m.type === 'snapshot');
    expect(snapshot.nodes.map((n: { id: string }) => n.id)).toEqual([mine.id]);
    expect(snapshot.event_count).toEqual({ count: 0, critical: 0, warning: 0 });
    expect((await admin.waitFor((m) => m.type === 'snapshot')).nodes.map((n: { id: string }) => n.id)).toEqual(expect.arrayContaining([mine.id, theirs.id]));

    const device = (await RawDevice.signIn(t.nodeUrl, { registration_token: mine.token, protocol_version: 4 })).device;
    const other = (await RawDevice.signIn(t.nodeUrl, { registration_token: theirs.token, protocol_version: 4 })).device;
    await client.waitFor((m) => m.type === 'node_status' && m.node.id === mine.id && m.node.status === 'online');

    // A burst of stats arrives as at most one update per node per interval, ending with the latest.
    for (let i = 1; i <= 30; i++) device.send({ type: 'stats', payload: { flows: [], uptime_secs: i } });
    other.send({ type: 'stats', payload: { flows: [], uptime_secs: 5 } });
    await eventually(() => client.of('node_stats').some((m) => m.nodes.some((n: any) => n.node_id === mine.id && n.summary.uptime_secs === 30)));
    const updates = client
      .of('node_stats')
      .flatMap((m) => m.nodes)
      .filter((n: any) => n.node_id === mine.id);
    expect(updates.length).toBeLessThan(30);
    expect(updates.every((n: any) => n.stats === undefined)).toBe(true);

    // Asking for a node's full stats (its detail page) sends its latest ones at once, then adds them to
    // every update; another user's node cannot be asked for.
    client.socket.send(JSON.stringify({ type: 'subscribe_stats', node_ids: [mine.id, theirs.id] }));
    const latest = await eventually(() =>
      client
        .of('node_stats')
        .flatMap((m) => m.nodes)
        .find((n: any) => n.node_id === mine.id && n.stats)
    );
    expect(latest).toMatchObject({ summary: { uptime_secs: 30 }, stats: { flows: [], uptime_secs: 30 } });
    device.send({ type: 'stats', payload: { flows: [{ flow_id: 'main', state: 'Idle' }], uptime_secs: 31 } });
    other.send({ type: 'stats', payload: { flows: [], uptime_secs: 6 } });
    const detailed = await eventually(() =>
      client
        .of('node_stats')
        .flatMap((m) => m.nodes)
        .find((n: any) => n.summary.uptime_secs === 31 && n.stats)
    );
    expect(detailed.stats.flows).toEqual([{ flow_id: 'main', state: 'Idle' }]);

    device.send({ type: 'health', payload: { status: 'ok', version: '0.106.0' } });
    await client.waitFor((m) => m.type === 'node_health' && m.node_id === mine.id && m.health === 'healthy');

    device.send({ type: 'event', payload: { severity: 'critical', category: 'srt', message: 'SRT input lost' } });
    other.send({ type: 'event', payload: { severity: 'critical', category: 'srt', message: 'not for the viewer' } });
    const event = await client.waitFor((m) => m.type === 'event' && m.event.message === 'SRT input lost');
    expect(event.event).toMatchObject({ node_id: mine.id, severity: 'critical' });
    await client.waitFor((m) => m.type === 'event_count' && m.critical === 1);
    await admin.waitFor((m) => m.type === 'event' && m.event.message === 'not for the viewer');
    await admin.waitFor((m) => m.type === 'event_count' && m.critical === 2);

    // Acknowledging lowers the count live.
    await t.admin.request('POST', `/api/v1/events/${event.event.id}/ack`);
    await client.waitFor((m) => m.type === 'event_count' && m.critical === 0);
    expect((await client.waitFor((m) => m.type === 'events_acknowledged')).node_ids).toEqual([mine.id]);

    // The other node never reached the scoped viewer.
    expect(JSON.stringify(client.messages)).not.toContain(theirs.id);
    expect(JSON.stringify(client.messages)).not.toContain('not for the viewer');

    // Disconnects and deletions are pushed too.
    device.close();
    await client.waitFor((m) => m.type === 'node_status' && m.node.id === mine.id && m.node.status === 'offline');
    await t.admin.request('DELETE', `/api/v1/nodes/${mine.id}`);
    await client.waitFor((m) => m.type === 'node_removed' && m.node_id === mine.id);
    other.close();
    client.socket.close();
    admin.socket.close();
  });

  test('alarm counts follow alarms that go away unacknowledged: a deleted node’s, purged ones', async () => {
    const doomed = await t.admin.addNode('dash doomed');
    const kept = await t.admin.addNode('dash kept');
    await seedUser(t.manager, 'dash-counter', 'viewer', { allowed_node_ids: JSON.stringify([doomed.id, kept.id]) });
    const client = await open(await Session.login(t.manager, 'dash-counter'));
    await client.waitFor((m) => m.type === 'snapshot');
    const latestCount = () => client.of('event_count').at(-1);

    const doomedDevice = (await RawDevice.signIn(t.nodeUrl, { registration_token: doomed.token })).device;
    doomedDevice.send({ type: 'event', payload: { severity: 'critical', category: 'srt', message: 'doomed alarm' } });
    await eventually(() => latestCount()?.critical === 1);
    expect((await t.admin.request('DELETE', `/api/v1/nodes/${doomed.id}`)).statusCode).toBe(204);
    await eventually(() => latestCount()?.critical === 0);

    // An old unacknowledged warning, then a new one (which makes the feed recount): two; the purge leaves one.
    await t.manager.context.db('events').insert({
      node_id: kept.id,
      severity: 'warning',
      raw_severity: 'warning',
      category: 'old',
      message: 'old warning',
      created_at: '2020-01-01T00:00:00.000Z',
      acknowledged: false
    });
    const keptDevice = (await RawDevice.signIn(t.nodeUrl, { registration_token: kept.token })).device;
    keptDevice.send({ type: 'event', payload: { severity: 'warning', category: 'srt', message: 'new warning' } });
    await eventually(() => latestCount()?.warning === 2);
    const store = t.manager.context.services.get('events') as unknown as EventStore;
    expect(await store.purgeOlderThan('2021-01-01T00:00:00.000Z')).toBe(1);
    await eventually(() => latestCount()?.warning === 1);
    keptDevice.close();
    client.socket.close();
  });

  test('a database error while sessions are rechecked is not a logout', async () => {
    const client = await open(t.admin);
    await client.waitFor((m) => m.type === 'snapshot');
    const sessions = t.manager.context.services.get('browserSessions')!;
    const authenticate = sessions.authenticate;
    let failures = 0;
    sessions.authenticate = () => {
      failures++;
      return Promise.reject(new Error('database unavailable'));
    };
    try {
      // Rechecked (every 0.2 s here) at least twice while the database "fails".
      await eventually(() => failures >= 2);
    } finally {
      sessions.authenticate = authenticate;
    }
    expect(client.of('session_invalidated')).toEqual([]);
    expect(client.socket.readyState).toBe(WebSocket.OPEN);
    client.socket.close();
  });

  test('a logged-out session loses its feed', async () => {
    await seedUser(t.manager, 'dash-leaver', 'viewer');
    const session = await Session.login(t.manager, 'dash-leaver');
    const client = await open(session);
    await client.waitFor((m) => m.type === 'snapshot');
    const closed = new Promise<number>((resolve) => client.socket.once('close', (code) => resolve(code)));
    await session.request('POST', '/api/v1/auth/logout');
    expect(await closed).toBe(4401);
    expect(client.of('session_invalidated')).toHaveLength(1);
  });

  test('a browser that stops reading is cut off instead of buffered without bound; others carry on', async () => {
    const node = await t.admin.addNode('firehose');
    const device = (await RawDevice.signIn(t.nodeUrl, { registration_token: node.token, protocol_version: 4 })).device;
    const slow = await open(t.admin);
    await slow.waitFor((m) => m.type === 'snapshot');
    const closed = new Promise<number>((resolve) => slow.socket.once('close', (code) => resolve(code)));
    // Stop reading: the kernel buffers fill, then the manager's send buffer grows.
    (slow.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    const big = { blob: 'x'.repeat(30_000) };
    for (let i = 0; i < 800; i++) device.send({ type: 'event', payload: { severity: 'info', category: 'flood', message: `event ${i}`, details: big } });
    await eventually(
      async () => ((await t.admin.request('GET', `/api/v1/events?node_id=${node.id}&category=flood&per_page=1`)).headers['x-total-count'] as string) === '800',
      30_000
    );
    (slow.socket as unknown as { _socket: { resume(): void } })._socket.resume();
    expect(await closed).toBe(1006);
    const fresh = await open(t.admin);
    expect((await fresh.waitFor((m) => m.type === 'snapshot')).nodes.some((n: { id: string }) => n.id === node.id)).toBe(true);
    fresh.socket.close();
    device.close();
  });
});

describe.each(testDatabases())('/ws/dashboard and session ends (%s)', (kind) => {
  let t: NodesTestManager;
  let host: string;

  beforeAll(async () => {
    // Re-checked rarely: whatever closes a feed at once does not wait for a re-check.
    t = await nodesManager(kind, { options: { dashboard_revalidate_secs: 3600 }, plugins: [events] });
    host = new URL(t.baseUrl).host;
  });
  afterAll(async () => {
    await t.close();
  });

  const open = (session: Session) => DashboardClient.open(`ws://${host}/ws/dashboard`, { cookie: session.cookieHeader, origin: `http://${host}` });

  test('logout, a password reset, disabling and deleting close that user’s feeds at once', async () => {
    let userId = await seedUser(t.manager, 'dash-ended', 'viewer');
    for (const end of [
      (s: Session) => s.request('POST', '/api/v1/auth/logout'),
      () => t.admin.request('PUT', `/api/v1/users/${userId}`, { password: 'Reset-Passw0rd-1' }),
      () => t.admin.request('PUT', `/api/v1/users/${userId}`, { is_active: false }),
      // Its sessions go with the user row (a cascade): the feed still closes at once.
      async () => {
        const res = await t.admin.request('DELETE', `/api/v1/users/${userId}`);
        userId = await seedUser(t.manager, 'dash-ended', 'viewer');
        return { statusCode: res.statusCode === 204 ? 200 : res.statusCode };
      }
    ]) {
      await t.manager.context
        .db('users')
        .where({ id: userId })
        .update({ is_active: true, password_hash: (await t.manager.context.db('users').where({ username: 'admin' }).first()).password_hash });
      const session = await Session.login(t.manager, 'dash-ended');
      const client = await open(session);
      await client.waitFor((m) => m.type === 'snapshot');
      const closed = new Promise<number>((resolve) => client.socket.once('close', (code) => resolve(code)));
      expect((await end(session)).statusCode).toBe(200);
      expect(await closed).toBe(4401);
      expect(client.of('session_invalidated')).toHaveLength(1);
    }
  });
});

describe.each(testDatabases())('/ws/dashboard re-checks (%s)', (kind) => {
  let t: NodesTestManager;
  let host: string;

  beforeAll(async () => {
    t = await nodesManager(kind, { options: { dashboard_revalidate_secs: 0.05 }, plugins: [events] });
    host = new URL(t.baseUrl).host;
  });
  afterAll(async () => {
    await t.close();
  });

  test('an open feed’s re-checks are not activity: they never refresh the idle timer', async () => {
    await seedUser(t.manager, 'dash-idle', 'viewer');
    const session = await Session.login(t.manager, 'dash-idle');
    const client = await DashboardClient.open(`ws://${host}/ws/dashboard`, { cookie: session.cookieHeader, origin: `http://${host}` });
    await client.waitFor((m) => m.type === 'snapshot');
    const userId = (await t.manager.context.db('users').where({ username: 'dash-idle' }).first()).id;
    // Last active two minutes ago: a check that counted as activity would move this forward.
    const twoMinutesAgo = new Date(Date.now() - 120_000).toISOString();
    await t.manager.context.db('auth_sessions').where({ user_id: userId }).update({ last_seen_at: twoMinutesAgo });
    const sessions = t.manager.context.services.get('browserSessions')!;
    const authenticate = sessions.authenticate;
    let checks = 0;
    sessions.authenticate = async (...args) => {
      checks++;
      return authenticate(...args);
    };
    try {
      await eventually(() => checks >= 3);
    } finally {
      sessions.authenticate = authenticate;
    }
    expect((await t.manager.context.db('auth_sessions').where({ user_id: userId }).first()).last_seen_at).toBe(twoMinutesAgo);
    expect(client.socket.readyState).toBe(WebSocket.OPEN);
    // A request is activity.
    expect((await session.request('GET', '/api/v1/auth/me')).statusCode).toBe(200);
    expect((await t.manager.context.db('auth_sessions').where({ user_id: userId }).first()).last_seen_at).not.toBe(twoMinutesAgo);
    client.socket.close();
  });
});
