import { testDatabases } from '@bilbycast/tests';
import type { Browser } from '../../auth/test/auth-harness';
import { addNode, body, eventsManager, insertEvent, signIn, type EventsEnv } from './events-harness';

const at = (minute: number) => new Date(Date.UTC(2026, 10, 28, 12, minute)).toISOString();

describe.each(testDatabases())('events API on %s', (kind) => {
  let env: EventsEnv;
  let nodeA: string;
  let nodeB: string;
  let viewer: Browser;
  let operator: Browser;
  let otherOperator: Browser;
  let scoped: Browser;
  let operatorId: string;
  let scopedId: string;

  beforeAll(async () => {
    env = await eventsManager(kind);
    nodeA = await addNode(env.db, 'alpha');
    nodeB = await addNode(env.db, 'bravo');
    viewer = await signIn(env.manager, 'vera', 'viewer');
    operator = await signIn(env.manager, 'otto', 'operator');
    otherOperator = await signIn(env.manager, 'olga', 'operator');
    // An operator who may only see node A.
    scoped = await signIn(env.manager, 'sam', 'operator', { allowed_node_ids: JSON.stringify([nodeA]) });
    const userId = async (username: string) => (await env.db('users').where({ username }).first()).id as string;
    operatorId = await userId('otto');
    scopedId = await userId('sam');
  });
  afterAll(() => env.close());
  beforeEach(async () => {
    await env.db('events').del();
    await env.db('audit_log').whereIn('action', ['event.ack', 'events.ack']).del();
  });

  const list = async (as: Browser, query = '') => {
    const res = await as.request('GET', `/api/v1/events${query}`);
    expect(res.statusCode).toBe(200);
    return { events: body(res) as any[], total: Number(res.headers['x-total-count']) };
  };
  const ids = async (as: Browser, query = '') => (await list(as, query)).events.map((e) => e.id);
  const eventRow = (id: number) => env.db('events').where({ id }).first();
  const acknowledgedIds = async () => (await env.db('events').where({ acknowledged: true }).pluck('id')).map(Number).sort((a, b) => a - b);
  /** Records the events_acknowledged messages published until stop(). */
  const collect = () => {
    const seen: unknown[] = [];
    const stop = env.manager.context.services.get('liveFeed')!.subscribe('events_acknowledged', (m) => seen.push(m));
    return { seen, stop };
  };

  it('lists events newest first with node names, paged, with X-Total-Count', async () => {
    const e1 = await insertEvent(env.db, { node_id: nodeA, created_at: at(1), details: JSON.stringify({ error_code: 'x' }) });
    const e2 = await insertEvent(env.db, { node_id: nodeB, created_at: at(3) });
    // Same time: the later id comes first.
    const e3 = await insertEvent(env.db, { node_id: nodeA, created_at: at(2) });
    const e4 = await insertEvent(env.db, { node_id: nodeA, created_at: at(2) });
    const e5 = await insertEvent(env.db, { node_id: nodeB, created_at: at(0) });

    const first = await list(viewer, '?per_page=2');
    expect(first.total).toBe(5);
    expect(first.events.map((e) => e.id)).toEqual([e2, e4]);
    expect(await ids(viewer, '?per_page=2&page=2')).toEqual([e3, e1]);
    const last = await list(viewer, '?per_page=2&page=3');
    expect(last.events.map((e) => e.id)).toEqual([e5]);
    expect(last.total).toBe(5);
    expect(await ids(viewer, '?per_page=2&page=4')).toEqual([]);

    expect(first.events[0]).toEqual({
      id: e2,
      node_id: nodeB,
      node_name: 'bravo',
      severity: 'info',
      raw_severity: 'info',
      category: 'test',
      message: 'test event',
      details: null,
      flow_id: null,
      input_id: null,
      output_id: null,
      created_at: at(3),
      acknowledged: false,
      acknowledged_by: null,
      acknowledged_at: null
    });
    expect((await list(viewer, '?per_page=200')).events.find((e) => e.id === e1)).toMatchObject({ node_name: 'alpha', details: { error_code: 'x' } });
  });

  it('filters by node, severity (one or a list), category, flow and acknowledgement', async () => {
    const critA = await insertEvent(env.db, { node_id: nodeA, severity: 'critical', category: 'srt', flow_id: 'flow-1', created_at: at(1) });
    const warnA = await insertEvent(env.db, { node_id: nodeA, severity: 'warning', category: 'bandwidth', flow_id: 'flow-2', created_at: at(2) });
    const infoB = await insertEvent(env.db, { node_id: nodeB, severity: 'info', category: 'srt', created_at: at(3) });
    const ackedB = await insertEvent(env.db, { node_id: nodeB, severity: 'critical', category: 'srt', acknowledged: true, created_at: at(4) });

    expect(await ids(viewer, `?node_id=${nodeA}`)).toEqual([warnA, critA]);
    expect(await ids(viewer, `?node_id=${nodeB.toUpperCase()}`)).toEqual([ackedB, infoB]);
    expect(await ids(viewer, '?severity=critical')).toEqual([ackedB, critA]);
    expect(await ids(viewer, '?severity=critical,warning')).toEqual([ackedB, warnA, critA]);
    expect(await ids(viewer, '?severity=info,%20warning')).toEqual([infoB, warnA]);
    expect(await ids(viewer, '?category=srt')).toEqual([ackedB, infoB, critA]);
    expect(await ids(viewer, '?flow_id=flow-2')).toEqual([warnA]);
    expect(await ids(viewer, '?acknowledged=true')).toEqual([ackedB]);
    expect(await ids(viewer, '?acknowledged=false')).toEqual([infoB, warnA, critA]);
    const combined = await list(viewer, `?category=srt&severity=critical&acknowledged=false`);
    expect(combined.events.map((e) => e.id)).toEqual([critA]);
    expect(combined.total).toBe(1);
  });

  it('filters by an inclusive time range', async () => {
    const e0 = await insertEvent(env.db, { node_id: nodeA, created_at: at(0) });
    const e1 = await insertEvent(env.db, { node_id: nodeA, created_at: at(1) });
    const e2 = await insertEvent(env.db, { node_id: nodeA, created_at: at(2) });
    const e3 = await insertEvent(env.db, { node_id: nodeA, created_at: at(3) });
    expect(await ids(viewer, `?from=${at(1)}`)).toEqual([e3, e2, e1]);
    expect(await ids(viewer, `?to=${at(1)}`)).toEqual([e1, e0]);
    expect(await ids(viewer, `?from=${at(1)}&to=${at(2)}`)).toEqual([e2, e1]);
    // Another offset for the same instants.
    expect(await ids(viewer, `?from=${encodeURIComponent('2026-11-28T14:01:00+02:00')}&to=${encodeURIComponent('2026-11-28T14:01:00+02:00')}`)).toEqual([e1]);
  });

  it('searches message and category case-insensitively, taking %, _ and ! literally', async () => {
    const percent = await insertEvent(env.db, { node_id: nodeA, message: 'CPU at 100% load', created_at: at(1) });
    const plain = await insertEvent(env.db, { node_id: nodeA, message: 'sent 1000 packets', created_at: at(2) });
    const underscore = await insertEvent(env.db, { node_id: nodeA, message: 'disk_full on /var', created_at: at(3) });
    const lookalike = await insertEvent(env.db, { node_id: nodeA, message: 'diskXfull on /tmp', created_at: at(4) });
    const category = await insertEvent(env.db, { node_id: nodeB, category: 'SRT_Input', message: 'lost', created_at: at(5) });
    const bang = await insertEvent(env.db, { node_id: nodeB, message: 'Alert! now', created_at: at(6) });

    expect(await ids(viewer, '?q=0%25')).toEqual([percent]);
    expect(await ids(viewer, '?q=disk_full')).toEqual([underscore]);
    expect(await ids(viewer, '?q=DISK')).toEqual([lookalike, underscore]);
    expect(await ids(viewer, '?q=srt_in')).toEqual([category]);
    expect(await ids(viewer, '?q=t!')).toEqual([bang]);
    expect(await ids(viewer, '?q=packets')).toEqual([plain]);
    expect(await ids(viewer, '?q=')).toHaveLength(6);
  });

  it('searches non-ASCII text case-insensitively', async () => {
    const failed = await insertEvent(env.db, { node_id: nodeA, message: 'Échec du flux', created_at: at(1) });
    const category = await insertEvent(env.db, { node_id: nodeA, category: 'ÜBERTRAGUNG', created_at: at(2) });
    await insertEvent(env.db, { node_id: nodeA, message: 'flux rétabli', created_at: at(3) });
    for (const q of ['échec', 'ÉCHEC', 'Échec du']) expect(await ids(viewer, `?q=${encodeURIComponent(q)}`)).toEqual([failed]);
    expect(await ids(viewer, `?q=${encodeURIComponent('übertragung')}`)).toEqual([category]);
  });

  it.each([
    ['per_page above 200', '?per_page=201'],
    ['per_page 0', '?per_page=0'],
    ['page 0', '?page=0'],
    ['from after to', `?from=${at(2)}&to=${at(1)}`],
    ['a q longer than 256', `?q=${'x'.repeat(257)}`],
    ['an unknown severity', '?severity=minor'],
    ['a malformed severity list', '?severity=info,,warning'],
    ['a malformed node_id', '?node_id=node-1'],
    ['a non-ISO from', '?from=yesterday'],
    ['a numeric to', '?to=1700000000000'],
    ['a to on a day its month lacks', '?to=2026-04-31T10:00:00Z'],
    ['a non-boolean acknowledged', '?acknowledged=maybe'],
    ['an unknown parameter', '?search=x']
  ])('refuses %s with 400 validation_error', async (_, query) => {
    const res = await viewer.request('GET', `/api/v1/events${query}`);
    expect(res.statusCode).toBe(400);
    expect(body(res)).toMatchObject({ error_code: 'validation_error', errors: [expect.objectContaining({ path: expect.any(String) })] });
  });

  it('refuses a from that is no calendar date instead of rolling it into the next month', async () => {
    const res = await viewer.request('GET', '/api/v1/events?from=2026-02-30');
    expect(res.statusCode).toBe(400);
    expect(body(res)).toMatchObject({
      error_code: 'validation_error',
      errors: [{ path: 'from', message: '"from" must be a real calendar date', type: 'date.calendar' }]
    });
  });

  it('refuses malformed acknowledgements with 4xx and an error_code', async () => {
    const event = await insertEvent(env.db, { node_id: nodeA, severity: 'critical' });
    const cases: [string, string, unknown][] = [
      ['POST', '/api/v1/events/abc/ack', undefined],
      ['POST', '/api/v1/events/0/ack', undefined],
      ['POST', '/api/v1/events/99999999999999999999/ack', undefined],
      ['POST', `/api/v1/events/${event}/ack`, { note: 'x' }],
      ['POST', '/api/v1/events/ack', undefined],
      ['POST', '/api/v1/events/ack', {}],
      ['POST', '/api/v1/events/ack', { ids: [event], filter: {} }],
      ['POST', '/api/v1/events/ack', { ids: [] }],
      ['POST', '/api/v1/events/ack', { ids: ['x'] }],
      ['POST', '/api/v1/events/ack', { ids: [event, event] }],
      ['POST', '/api/v1/events/ack', { ids: Array.from({ length: 1001 }, (_, i) => i + 1) }],
      ['POST', '/api/v1/events/ack', { filter: { acknowledged: false } }],
      ['POST', '/api/v1/events/ack', { filter: { from: at(2), to: at(1) } }],
      ['POST', '/api/v1/events/ack', { filter: { from: '2025-02-29' } }],
      ['POST', '/api/v1/events/ack', { filter: { q: 'x'.repeat(257) } }],
      ['POST', '/api/v1/events/ack', { filter: 'all' }]
    ];
    for (const [method, url, payload] of cases) {
      const res = await operator.request(method, url, payload);
      expect({ url, payload, status: res.statusCode }).toEqual({ url, payload, status: 400 });
      expect(body(res).error_code).toBe('validation_error');
    }
    expect(await acknowledgedIds()).toEqual([]);
  });

  it('confines a user with allowed_node_ids to those nodes', async () => {
    const a1 = await insertEvent(env.db, { node_id: nodeA, severity: 'critical', created_at: at(1) });
    const a2 = await insertEvent(env.db, { node_id: nodeA, severity: 'warning', created_at: at(2) });
    const b1 = await insertEvent(env.db, { node_id: nodeB, severity: 'critical', created_at: at(3) });
    const b2 = await insertEvent(env.db, { node_id: nodeB, severity: 'warning', created_at: at(4) });

    const seen = await list(scoped);
    expect(seen.events.map((e) => e.id)).toEqual([a2, a1]);
    expect(seen.total).toBe(2);
    const outOfScope = await list(scoped, `?node_id=${nodeB}`);
    expect(outOfScope).toEqual({ events: [], total: 0 });
    expect(body(await scoped.request('GET', '/api/v1/events/count'))).toEqual({ count: 2, critical: 1, warning: 1 });

    const denied = await scoped.request('POST', `/api/v1/events/${b1}/ack`);
    expect(denied.statusCode).toBe(404);
    expect(body(denied)).toMatchObject({ error_code: 'event_not_found' });
    expect(body(await scoped.request('POST', '/api/v1/events/ack', { ids: [b1, b2] }))).toEqual({ acknowledged: 0 });

    const bulk = await scoped.request('POST', '/api/v1/events/ack', { filter: {} });
    expect(body(bulk)).toEqual({ acknowledged: 2 });
    expect(await acknowledgedIds()).toEqual([a1, a2]);
    expect((await eventRow(b1)).acknowledged_by).toBeNull();
    expect(await ids(operator)).toEqual([b2, b1, a2, a1]);
  });

  it('lets viewers read but not acknowledge, and refuses anonymous callers', async () => {
    const event = await insertEvent(env.db, { node_id: nodeA, severity: 'critical' });
    for (const [url, payload] of [
      [`/api/v1/events/${event}/ack`, undefined],
      ['/api/v1/events/ack', { ids: [event] }]
    ] as const) {
      const res = await viewer.request('POST', url, payload);
      expect(res.statusCode).toBe(403);
      expect(body(res)).toMatchObject({ error_code: 'insufficient_role', required_role: 'operator' });
    }
    expect(await acknowledgedIds()).toEqual([]);
    for (const url of ['/api/v1/events', '/api/v1/events/count']) {
      const res = await env.manager.server.inject({ url });
      expect(res.statusCode).toBe(401);
      expect(body(res).error_code).toBe('unauthorized');
    }
    expect((await operator.request('POST', `/api/v1/events/${event}/ack`)).statusCode).toBe(200);
    expect(await acknowledgedIds()).toEqual([event]);
  });

  it('requires the CSRF token on a cookie-authenticated acknowledgement', async () => {
    const event = await insertEvent(env.db, { node_id: nodeA, severity: 'critical' });
    const res = await operator.request('POST', `/api/v1/events/${event}/ack`, undefined, {}, false);
    expect(res.statusCode).toBe(403);
    expect(await acknowledgedIds()).toEqual([]);
  });

  it('acknowledges one event once: again keeps the first acknowledger and time', async () => {
    const event = await insertEvent(env.db, { node_id: nodeA, severity: 'critical', category: 'srt', message: 'secret-ish body' });
    const feed = collect();
    const first = await operator.request('POST', `/api/v1/events/${event}/ack`);
    expect(first.statusCode).toBe(200);
    const acked = body(first);
    expect(acked).toMatchObject({ id: event, node_name: 'alpha', acknowledged: true, acknowledged_by: operatorId });
    expect(Date.parse(acked.acknowledged_at)).not.toBeNaN();

    const again = await otherOperator.request('POST', `/api/v1/events/${event}/ack`);
    expect(again.statusCode).toBe(200);
    expect(body(again)).toEqual(acked);
    feed.stop();
    expect(feed.seen).toEqual([{ node_ids: [nodeA] }]);

    const audit = await env.db('audit_log').where({ action: 'event.ack' });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ user_id: operatorId, username: 'otto', target_type: 'event', target_id: String(event) });
    expect(JSON.parse(audit[0].details)).toEqual({ node_id: nodeA, severity: 'critical', category: 'srt' });

    const unknown = await operator.request('POST', `/api/v1/events/${event + 1000}/ack`);
    expect(unknown.statusCode).toBe(404);
    expect(body(unknown)).toMatchObject({ error_code: 'event_not_found' });
  });

  it('acknowledges in bulk by ids, counting only the events it changed', async () => {
    const a1 = await insertEvent(env.db, { node_id: nodeA, severity: 'critical' });
    const a2 = await insertEvent(env.db, { node_id: nodeA, severity: 'warning', acknowledged: true, acknowledged_by: scopedId, acknowledged_at: at(0) });
    const b1 = await insertEvent(env.db, { node_id: nodeB, severity: 'info' });
    const untouched = await insertEvent(env.db, { node_id: nodeB, severity: 'critical' });
    const feed = collect();
    const res = await operator.request('POST', '/api/v1/events/ack', { ids: [b1, a2, a1, untouched + 1000] });
    feed.stop();
    expect(res.statusCode).toBe(200);
    expect(body(res)).toEqual({ acknowledged: 2 });
    expect(await acknowledgedIds()).toEqual([a1, a2, b1]);
    expect(await eventRow(a2)).toMatchObject({ acknowledged_by: scopedId, acknowledged_at: at(0) });
    expect(await eventRow(b1)).toMatchObject({ acknowledged_by: operatorId });
    expect(feed.seen).toEqual([{ node_ids: [nodeA, nodeB].sort() }]);
    const [audit] = await env.db('audit_log').where({ action: 'events.ack' });
    expect(JSON.parse(audit.details)).toEqual({ count: 2, ids: [b1, a2, a1, untouched + 1000] });

    const noop = collect();
    expect(body(await operator.request('POST', '/api/v1/events/ack', { ids: [a1] }))).toEqual({ acknowledged: 0 });
    noop.stop();
    expect(noop.seen).toEqual([]);
    expect(await env.db('audit_log').where({ action: 'events.ack' })).toHaveLength(1);
  });

  it('acknowledges in bulk by filter, touching only matching events', async () => {
    const critA = await insertEvent(env.db, { node_id: nodeA, severity: 'critical', category: 'srt', message: 'do not audit me', created_at: at(1) });
    const warnA = await insertEvent(env.db, { node_id: nodeA, severity: 'warning', category: 'srt', created_at: at(2) });
    const infoA = await insertEvent(env.db, { node_id: nodeA, severity: 'info', category: 'srt', created_at: at(3) });
    const critB = await insertEvent(env.db, { node_id: nodeB, severity: 'critical', category: 'srt', created_at: at(4) });
    const lateA = await insertEvent(env.db, { node_id: nodeA, severity: 'critical', category: 'srt', created_at: at(9) });

    const filter = { node_id: nodeA, severity: 'critical,warning', category: 'srt', to: at(5) };
    const res = await operator.request('POST', '/api/v1/events/ack', { filter });
    expect(body(res)).toEqual({ acknowledged: 2 });
    expect(await acknowledgedIds()).toEqual([critA, warnA]);
    const [audit] = await env.db('audit_log').where({ action: 'events.ack' });
    expect(JSON.parse(audit.details)).toEqual({ count: 2, filter: { node_id: nodeA, severity: ['critical', 'warning'], category: 'srt', to: at(5) } });
    expect(audit.details).not.toContain('do not audit me');

    expect(body(await operator.request('POST', '/api/v1/events/ack', { filter: { q: 'AUDIT' } }))).toEqual({ acknowledged: 0 });
    expect(body(await operator.request('POST', '/api/v1/events/ack', { filter: {} }))).toEqual({ acknowledged: 3 });
    expect(await acknowledgedIds()).toEqual([critA, warnA, infoA, critB, lateA]);
  });

  it('counts unacknowledged critical and warning events', async () => {
    expect(body(await viewer.request('GET', '/api/v1/events/count'))).toEqual({ count: 0, critical: 0, warning: 0 });
    await insertEvent(env.db, { node_id: nodeA, severity: 'critical' });
    await insertEvent(env.db, { node_id: nodeB, severity: 'critical' });
    const warning = await insertEvent(env.db, { node_id: nodeB, severity: 'warning' });
    await insertEvent(env.db, { node_id: nodeA, severity: 'info' });
    await insertEvent(env.db, { node_id: nodeA, severity: 'warning', acknowledged: true });
    expect(body(await viewer.request('GET', '/api/v1/events/count'))).toEqual({ count: 3, critical: 2, warning: 1 });
    await operator.request('POST', `/api/v1/events/${warning}/ack`);
    expect(body(await viewer.request('GET', '/api/v1/events/count'))).toEqual({ count: 2, critical: 2, warning: 0 });
    expect((await viewer.request('GET', '/api/v1/events/count?node_id=x')).statusCode).toBe(400);
  });

  it('documents the routes in the OpenAPI document', async () => {
    const res = await env.manager.server.inject({ url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const paths = body(res).paths;
    expect(Object.keys(paths)).toEqual(expect.arrayContaining(['/api/v1/events', '/api/v1/events/count', '/api/v1/events/{id}/ack', '/api/v1/events/ack']));
    expect(paths['/api/v1/events'].get.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['node_id', 'severity', 'category', 'flow_id', 'acknowledged', 'from', 'to', 'q', 'page', 'per_page'])
    );
  });
});
