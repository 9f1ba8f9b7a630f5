import crypto from 'node:crypto';
import { rfc3339Nanos, sortedJson } from '@bilbycast/device-simulator';
import events from '@bilbycast/events';
import { testDatabases } from '@bilbycast/tests';
import type WebSocket from 'ws';
import { RawDevice, eventually, nodesManager, type Envelope, type NodesTestManager } from '../../plugins/nodes/test/nodes-harness';

function deviceFrame(type: string, payload: unknown): string {
  return sortedJson({ type, timestamp: rfc3339Nanos(), payload });
}

/** Every test gets source addresses of its own on the loopback range, so per-address limits do not mix. */
const from = (host: string): WebSocket.ClientOptions => ({ localAddress: host });

/**
 * Issue 9: what anyone who can reach `/ws/node` — an anonymous socket, someone guessing
 * credentials, a compromised device — can make the manager hold, and what they cannot do to
 * a legitimate device.
 */
describe.each(testDatabases())('hostile devices and anonymous sockets (%s)', (kind) => {
  let t: NodesTestManager;

  beforeAll(async () => {
    t = await nodesManager(kind, {
      plugins: [events],
      options: {
        max_unauthenticated_per_address: 3,
        max_unauthenticated_sockets: 6,
        auth_failures_before_lockout: 3,
        auth_failures_per_address: 8,
        events_per_minute: 20,
        event_bytes_per_minute: 8192
      }
    });
  });
  afterAll(async () => {
    await t.close();
  });

  const nodeEvents = async (id: string) =>
    (await t.admin.request('GET', `/api/v1/events?node_id=${id}&per_page=200`)).result as { category: string; message: string; details: any }[];

  async function registeredNode(name: string): Promise<{ id: string; secret: string }> {
    const { id, token } = await t.admin.addNode(name);
    const { device, reply } = await RawDevice.signIn(t.nodeUrl, { registration_token: token, protocol_version: 4 });
    expect(reply.type).toBe('register_ack');
    device.close();
    await device.closed;
    return { id, secret: reply.payload.node_secret };
  }

  /** One sign-in: the manager's reply, or `closed` with the code when it closed the socket without one. */
  async function signIn(payload: Record<string, unknown>, host = '127.0.0.1'): Promise<Envelope> {
    const device = await RawDevice.connect(t.nodeUrl, from(host));
    device.send({ type: 'auth', payload });
    const reply = await Promise.race([device.next(), device.closed.then(({ code }) => ({ type: 'closed', message: String(code) }))]);
    device.close();
    return reply;
  }

  test('a first frame over 64 KiB closes the socket unread: no reply, no parsing', async () => {
    const { id, token } = await t.admin.addNode('padded registration');
    for (const kib of [65, 70, 100, 200]) {
      const device = await RawDevice.connect(t.nodeUrl, from('127.0.0.11'));
      // A valid registration: had it been parsed, the token would now be spent.
      device.sendRaw(JSON.stringify({ type: 'auth', payload: { registration_token: token, padding: 'x'.repeat(kib * 1024) } }));
      expect((await device.closed).code).toBe(1006);
      expect(device.received).toEqual([]);
    }
    expect(((await t.admin.request('GET', `/api/v1/nodes/${id}`)).result as { status: string }).status).toBe('pending');
    // Not even tried (a registration whose reply cannot be delivered is undone, but leaves its time behind).
    expect((await t.manager.context.db('nodes').where({ id }).first()).registered_at).toBeNull();
    // The same registration, small, from the same address, is answered as usual.
    expect((await signIn({ registration_token: token, protocol_version: 4 }, '127.0.0.11')).type).toBe('register_ack');
  });

  test('sockets waiting to sign in are capped per source address and overall; devices elsewhere are unaffected', async () => {
    const { id, secret } = await registeredNode('capped edge');
    const waiting = await Promise.all([1, 2, 3].map(() => RawDevice.connect(t.nodeUrl, from('127.0.0.21'))));
    // A fourth from that address is closed at once with 1013 (try again later), without a word.
    const fourth = await RawDevice.connect(t.nodeUrl, from('127.0.0.21'));
    expect((await fourth.closed).code).toBe(1013);
    expect(fourth.received).toEqual([]);
    // Another address still gets in.
    expect((await signIn({ node_id: id, node_secret: secret, protocol_version: 4 }, '127.0.0.22')).type).toBe('auth_ok');
    // Three more idle ones from a second address fill the overall cap of six. A device from a
    // third address still signs in: the oldest idle socket is evicted to make room.
    const more = await Promise.all([1, 2, 3].map(() => RawDevice.connect(t.nodeUrl, from('127.0.0.23'))));
    expect((await signIn({ node_id: id, node_secret: secret, protocol_version: 4 }, '127.0.0.24')).type).toBe('auth_ok');
    expect((await waiting[0].closed).code).toBe(1006);
    for (const device of [...waiting.slice(1), ...more]) expect(device.socket.readyState).toBe(device.socket.OPEN);
    // With a slot free at the first address, it gets in again.
    expect((await signIn({ node_id: id, node_secret: secret, protocol_version: 4 }, '127.0.0.21')).type).toBe('auth_ok');
    for (const device of [...waiting, ...more]) device.close();
    await Promise.all([...waiting, ...more].map((d) => d.closed));
  });

  test('failures from one address are limited whatever node ids it tries, and only that address is refused', async () => {
    const { id, secret } = await registeredNode('probed edge');
    for (let i = 0; i < 8; i++) {
      const reply = await signIn({ node_id: crypto.randomUUID(), node_secret: 'guess', protocol_version: 4 }, '127.0.0.31');
      expect(reply.message).toBe('Invalid node credentials');
    }
    const refused = await signIn({ node_id: id, node_secret: secret, protocol_version: 4 }, '127.0.0.31');
    expect(refused.message).toMatch(/from this address/);
    expect((await signIn({ node_id: id, node_secret: secret, protocol_version: 4 })).type).toBe('auth_ok');
  });

  test('lockouts of one node from many addresses are reported once per window; the node’s own events are not crowded out', async () => {
    const { id, secret } = await registeredNode('popular target');
    for (const host of ['127.0.0.51', '127.0.0.52', '127.0.0.53']) {
      await Promise.all([1, 2, 3].map(() => signIn({ node_id: id, node_secret: 'wrong', protocol_version: 4 }, host)));
      expect((await signIn({ node_id: id, node_secret: 'wrong', protocol_version: 4 }, host)).message).toMatch(/locked out/);
    }
    const { device } = await RawDevice.signIn(t.nodeUrl, { node_id: id, node_secret: secret, protocol_version: 4 });
    device.sendRaw(
      deviceFrame('event', { category: 'flow', details: null, flow_id: 'f', input_id: null, message: 'real alarm', output_id: null, severity: 'critical' })
    );
    const stored = await eventually(async () => {
      const list = await nodeEvents(id);
      return list.some((e) => e.message === 'real alarm') ? list : undefined;
    });
    expect(stored.filter((e) => e.category === 'auth')).toHaveLength(1);
    expect(await t.manager.context.db('audit_log').where({ action: 'node.auth_lockout', target_id: id })).toHaveLength(1);
    device.close();
  });

  test('wrong secrets sent from elsewhere lock out that address, never the device', async () => {
    const { id, secret } = await registeredNode('targeted edge');
    for (let i = 0; i < 3; i++)
      expect((await signIn({ node_id: id, node_secret: `wrong-${i}`, protocol_version: 4 }, '127.0.0.41')).message).toBe('Invalid node credentials');
    expect((await signIn({ node_id: id, node_secret: secret, protocol_version: 4 }, '127.0.0.41')).message).toMatch(/locked out/);
    // The real device, at its own address, signs in.
    expect((await signIn({ node_id: id, node_secret: secret, protocol_version: 4 })).type).toBe('auth_ok');
    // The lockout is reported with where it came from.
    const lockout = await eventually(async () => (await nodeEvents(id)).find((e) => e.category === 'auth'));
    expect(lockout.details).toMatchObject({ error_code: 'auth_lockout', address: '127.0.0.41' });
  });

  test('stored event bytes per node and minute are bounded, with one warning', async () => {
    const { id, secret } = await registeredNode('chatty edge');
    const { device, reply } = await RawDevice.signIn(t.nodeUrl, { node_id: id, node_secret: secret, protocol_version: 4 });
    expect(reply.type).toBe('auth_ok');
    for (let i = 0; i < 30; i++) {
      device.sendRaw(
        deviceFrame('event', {
          category: 'flood',
          details: { blob: 'b'.repeat(900) },
          flow_id: null,
          input_id: null,
          message: `event ${i}`,
          output_id: null,
          severity: 'info'
        })
      );
    }
    device.sendRaw(deviceFrame('stats', { flows: [], uptime_secs: 77 }));
    await eventually(async () => ((await t.admin.request('GET', `/api/v1/nodes/${id}/stats`)).result as any).stats?.uptime_secs === 77);
    // Everything has been handled (the stats came after the events): dropped ones are counted.
    const view = (await t.admin.request('GET', `/api/v1/nodes/${id}`)).result as any;
    expect(view.connection.counters.events_dropped).toBeGreaterThanOrEqual(14);
    // The stored ones are written asynchronously: wait until the count stops short of the 30 sent.
    const stored = await eventually(async () => {
      const list = await nodeEvents(id);
      const flood = list.filter((e) => e.category === 'flood').length;
      return list.some((e) => e.details?.error_code === 'event_bytes_limit_exceeded') && flood + view.connection.counters.events_dropped === 30
        ? list
        : undefined;
    });
    // 8 KiB a minute holds at most eight of these ~1 KiB events (twice that if the test spans a minute boundary).
    expect(stored.filter((e) => e.category === 'flood').length).toBeLessThanOrEqual(16);
    expect(stored.filter((e) => e.details?.error_code === 'event_bytes_limit_exceeded').length).toBeLessThanOrEqual(2);
    device.close();
  });

  test('a device that used up its event budget still gets its disconnect alarm stored', async () => {
    const { id, secret } = await registeredNode('noisy then gone');
    const { device } = await RawDevice.signIn(t.nodeUrl, { node_id: id, node_secret: secret, protocol_version: 4 });
    for (let i = 0; i < 40; i++)
      device.sendRaw(
        deviceFrame('event', { category: 'noise', details: null, flow_id: null, input_id: null, message: `n${i}`, output_id: null, severity: 'info' })
      );
    device.sendRaw(deviceFrame('stats', { flows: [], uptime_secs: 55 }));
    await eventually(async () => ((await t.admin.request('GET', `/api/v1/nodes/${id}/stats`)).result as any).stats?.uptime_secs === 55);
    device.close();
    await device.closed;
    await eventually(async () => (await nodeEvents(id)).some((e) => e.category === 'connection' && /disconnected/.test(e.message)));
  });

  test('the manager’s own connect/disconnect events count against the node’s event budget', async () => {
    const { id, secret } = await registeredNode('flapping edge');
    for (let i = 0; i < 25; i++) {
      const { device, reply } = await RawDevice.signIn(t.nodeUrl, { node_id: id, node_secret: secret, protocol_version: 4 });
      expect(reply.type).toBe('auth_ok');
      device.close();
      await device.closed;
    }
    await eventually(async () => (await nodeEvents(id)).some((e) => e.category === 'event_rate_limit'));
    // 50 connect and disconnect events were due; 20 a minute are stored (40 across a minute boundary).
    const connection = (await nodeEvents(id)).filter((e) => e.category === 'connection');
    expect(connection.length).toBeLessThanOrEqual(40);
  });

  test('thumbnail ids are capped, a node’s thumbnails are capped in bytes, and GET /nodes/{id} never returns image bytes', async () => {
    const { id, secret } = await registeredNode('thumbnail edge');
    const { device } = await RawDevice.signIn(t.nodeUrl, { node_id: id, node_secret: secret, protocol_version: 4 });
    const jpeg = 'A'.repeat(1000 * 1024);
    device.sendRaw(deviceFrame('thumbnail', { data: 'QUJD', flow_id: 'f'.repeat(300), height: 180, width: 320 }));
    for (let i = 0; i < 10; i++) device.sendRaw(deviceFrame('thumbnail', { data: jpeg, flow_id: `flow ${i}`, height: 180, width: 320 }));
    device.sendRaw(deviceFrame('stats', { flows: [], uptime_secs: 99 }));
    await eventually(async () => ((await t.admin.request('GET', `/api/v1/nodes/${id}/stats`)).result as any).stats?.uptime_secs === 99);
    const res = await t.admin.request('GET', `/api/v1/nodes/${id}`);
    const view = res.result as any;
    // 8 MiB in all: eight of these ~1 MB images; the over-long id and the rest are counted as oversize.
    expect(view.connection.thumbnails).toHaveLength(8);
    expect(view.connection.counters.oversize).toBe(3);
    expect(res.payload.length).toBeLessThan(16 * 1024);
    expect(res.payload).not.toContain('AAAA');
    device.close();
  });
});

describe.each(testDatabases())('a node over its message byte budget (%s)', (kind) => {
  let t: NodesTestManager;

  beforeAll(async () => {
    t = await nodesManager(kind, { plugins: [events], options: { message_bytes_per_minute: 1024 * 1024 } });
  });
  afterAll(async () => {
    await t.close();
  });

  test('twenty parallel wrong secrets from one address are checked five times, no more (attempts in flight count)', async () => {
    const { id, token } = await t.admin.addNode('parallel target');
    const registered = await RawDevice.signIn(t.nodeUrl, { registration_token: token, protocol_version: 4 });
    const secret = registered.reply.payload.node_secret;
    registered.device.close();
    const attempt = async (payload: Record<string, unknown>, host: string) => {
      const { device, reply } = await RawDevice.signIn(t.nodeUrl, payload, { localAddress: host });
      device.close();
      return reply;
    };
    const replies = await Promise.all(Array.from({ length: 20 }, () => attempt({ node_id: id, node_secret: 'wrong', protocol_version: 4 }, '127.0.0.12')));
    expect(replies.filter((r) => r.message === 'Invalid node credentials')).toHaveLength(5);
    expect(replies.filter((r) => /locked out/.test(r.message ?? ''))).toHaveLength(15);
    expect((await attempt({ node_id: id, node_secret: secret, protocol_version: 4 }, '127.0.0.1')).type).toBe('auth_ok');
  });

  test('frames beyond the budget are dropped unread, with one warning; answers to commands still arrive', async () => {
    const { id, token } = await t.admin.addNode('greedy edge');
    const { device, reply } = await RawDevice.signIn(t.nodeUrl, { registration_token: token, protocol_version: 4 });
    expect(reply.type).toBe('register_ack');
    device.onCommand = ({ command_id }, d) => d.ack(command_id, { success: true, data: { ok: true } });
    for (let i = 0; i < 25; i++) device.sendRaw(deviceFrame('stats', { flows: [], padding: 'p'.repeat(100 * 1024), uptime_secs: i }));
    const view = await eventually(async () => {
      const v = (await t.admin.request('GET', `/api/v1/nodes/${id}`)).result as any;
      return v.connection.counters.messages >= 25 ? v : undefined;
    });
    expect(view.connection.counters.budget_dropped).toBeGreaterThan(0);
    // While it is over budget, the answer to a command is still read.
    for (let i = 0; i < 15; i++) device.sendRaw(deviceFrame('stats', { flows: [], padding: 'p'.repeat(100 * 1024), uptime_secs: 100 }));
    const stop = await t.admin.request('POST', `/api/v1/nodes/${id}/command`, { action: { type: 'stop_flow', flow_id: 'main' } });
    expect(stop.statusCode).toBe(200);
    expect(stop.result).toMatchObject({ success: true, data: { ok: true } });
    const warnings = await eventually(async () => {
      const list = ((await t.admin.request('GET', `/api/v1/events?node_id=${id}&category=message_rate_limit`)).result as { details: any }[]).filter(
        (e) => e.details?.error_code === 'message_bytes_limit_exceeded'
      );
      return list.length > 0 ? list : undefined;
    });
    // One per minute the budget was exceeded in (two if the test spans a minute boundary).
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    expect(warnings.length).toBeLessThanOrEqual(2);
    device.close();
  });
});
