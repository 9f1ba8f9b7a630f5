import { ConfigError, createManager } from '@bilbycast/core';
import nodes, { type StoredEvent } from '@bilbycast/nodes';
import { createTestDatabase, testConfig, testDatabases } from '@bilbycast/tests';
import users from '@bilbycast/users';
import events from '../src';
import { addNode, eventsManager, insertEvent, until, type EventsEnv } from './events-harness';

const DAY_MS = 86_400_000;
const daysAgo = (days: number) => new Date(Date.now() - days * DAY_MS).toISOString();

describe.each(testDatabases())('event store on %s', (kind) => {
  let env: EventsEnv;
  let nodeA: string;
  let nodeB: string;
  beforeAll(async () => {
    env = await eventsManager(kind);
    nodeA = await addNode(env.db, 'alpha');
    nodeB = await addNode(env.db, 'bravo');
  });
  afterAll(() => env.close());
  beforeEach(() => env.db('events').del());

  it('stores an event, returns it as stored and publishes it on the live feed', async () => {
    const published: StoredEvent[] = [];
    const unsubscribe = env.manager.context.services.get('liveFeed')!.subscribe('event', (e) => published.push(e));
    const event = await env.store.record({
      node_id: nodeA,
      severity: 'critical',
      raw_severity: 'major',
      category: 'srt',
      message: 'SRT input lost',
      details: { error_code: 'srt_timeout', retries: 3 },
      flow_id: 'flow-1',
      input_id: 'in-1',
      output_id: null
    });
    unsubscribe();
    expect(event).toEqual({
      id: expect.any(Number),
      node_id: nodeA,
      severity: 'critical',
      raw_severity: 'major',
      category: 'srt',
      message: 'SRT input lost',
      details: { error_code: 'srt_timeout', retries: 3 },
      flow_id: 'flow-1',
      input_id: 'in-1',
      output_id: null,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      acknowledged: false,
      acknowledged_by: null,
      acknowledged_at: null
    });
    expect(published).toEqual([event]);
    const row = await env.db('events').where({ id: event.id }).first();
    expect(row).toMatchObject({ node_id: nodeA, severity: 'critical', raw_severity: 'major', message: 'SRT input lost', created_at: event.created_at });
    expect(JSON.parse(row.details)).toEqual({ error_code: 'srt_timeout', retries: 3 });
  });

  it('truncates long fields, fills in defaults and wraps details that are not a plain object', async () => {
    const long = await env.store.record({
      node_id: nodeA,
      severity: 'warning',
      raw_severity: 'r'.repeat(40),
      category: 'c'.repeat(300),
      message: `${'m'.repeat(9_999)}😀tail`,
      details: ['a', 1] as never,
      flow_id: 'f'.repeat(300),
      input_id: 'i'.repeat(257),
      output_id: 'o'.repeat(256)
    });
    expect(long.raw_severity).toBe('r'.repeat(32));
    expect(long.category).toBe('c'.repeat(256));
    // The emoji would straddle the 10 000 limit: it is dropped whole, not split.
    expect(long.message).toBe('m'.repeat(9_999));
    expect(long.flow_id).toBe('f'.repeat(256));
    expect(long.input_id).toBe('i'.repeat(256));
    expect(long.output_id).toBe('o'.repeat(256));
    expect(long.details).toEqual({ value: ['a', 1] });
    const stored = await env.db('events').where({ id: long.id }).first();
    expect([stored.category.length, stored.message.length, stored.flow_id.length]).toEqual([256, 9_999, 256]);

    const blank = await env.store.record({
      node_id: nodeA,
      severity: 'bogus' as never,
      raw_severity: '',
      category: '',
      message: '  ',
      details: 'just text',
      flow_id: ''
    });
    expect(blank).toMatchObject({
      severity: 'info',
      raw_severity: 'info',
      category: 'unknown',
      message: 'Unknown event',
      details: { value: 'just text' },
      flow_id: null,
      input_id: null,
      output_id: null
    });
    expect((await env.store.record({ node_id: nodeA, severity: 'info', raw_severity: 'info', category: 'x', message: 'y' })).details).toBeNull();
  });

  it('replaces oversized details with a marker', async () => {
    const event = await env.store.record({
      node_id: nodeA,
      severity: 'info',
      raw_severity: 'info',
      category: 'x',
      message: 'big',
      details: { blob: 'z'.repeat(40_000) }
    });
    expect(event.details).toEqual({ truncated: true, original_bytes: expect.any(Number) });
    expect(event.details!.original_bytes).toBeGreaterThan(40_000);
  });

  it('reports the unacknowledged warning and critical events of a node as active alarms, newest first', async () => {
    await insertEvent(env.db, { node_id: nodeA, severity: 'critical', raw_severity: 'major', category: 'srt', created_at: daysAgo(2) });
    await insertEvent(env.db, { node_id: nodeA, severity: 'warning', raw_severity: 'minor', category: 'bandwidth', created_at: daysAgo(1) });
    await insertEvent(env.db, { node_id: nodeA, severity: 'info', category: 'connection' });
    await insertEvent(env.db, { node_id: nodeA, severity: 'critical', category: 'acked', acknowledged: true });
    await insertEvent(env.db, { node_id: nodeB, severity: 'critical', category: 'other-node' });
    expect(await env.store.activeAlarms(nodeA)).toEqual([
      { severity: 'warning', raw_severity: 'minor', category: 'bandwidth' },
      { severity: 'critical', raw_severity: 'major', category: 'srt' }
    ]);
  });

  it('counts unacknowledged alarms over the given nodes', async () => {
    for (const [node_id, severity, acknowledged] of [
      [nodeA, 'critical', false],
      [nodeA, 'warning', false],
      [nodeA, 'warning', false],
      [nodeA, 'info', false],
      [nodeA, 'critical', true],
      [nodeB, 'critical', false]
    ] as const) {
      await insertEvent(env.db, { node_id, severity, acknowledged });
    }
    expect(await env.store.alarmCounts(null)).toEqual({ count: 4, critical: 2, warning: 2 });
    expect(await env.store.alarmCounts([nodeA])).toEqual({ count: 3, critical: 1, warning: 2 });
    expect(await env.store.alarmCounts([nodeB])).toEqual({ count: 1, critical: 1, warning: 0 });
    expect(await env.store.alarmCounts([])).toEqual({ count: 0, critical: 0, warning: 0 });
  });

  it('purges events created before a cutoff and keeps the rest', async () => {
    const oldIds = [];
    for (let i = 0; i < 3; i++) oldIds.push(await insertEvent(env.db, { node_id: nodeA, created_at: daysAgo(40 + i) }));
    const kept = await insertEvent(env.db, { node_id: nodeB, created_at: daysAgo(10) });
    expect(await env.store.purgeOlderThan(daysAgo(30))).toBe(3);
    expect((await env.db('events').pluck('id')).map(Number)).toEqual([kept]);
  });

  it("deletes a node's events with the node", async () => {
    const doomed = await addNode(env.db, 'doomed');
    await env.store.record({ node_id: doomed, severity: 'critical', raw_severity: 'critical', category: 'x', message: 'y' });
    const other = await insertEvent(env.db, { node_id: nodeA });
    await env.db('nodes').where({ id: doomed }).del();
    expect((await env.db('events').pluck('id')).map(Number)).toEqual([other]);
  });
});

describe.each(testDatabases())('event retention on %s', (kind) => {
  it('purges events older than retention_days at start and on schedule, keeping newer ones', async () => {
    const env = await eventsManager(kind, { retention_days: 7, retention_interval_ms: 1000 });
    try {
      const node = await addNode(env.db, 'alpha');
      const oldAtStart = await insertEvent(env.db, { node_id: node, created_at: daysAgo(8) });
      const recent = await insertEvent(env.db, { node_id: node, created_at: daysAgo(6) });
      const fresh = await insertEvent(env.db, { node_id: node });
      await env.manager.start();
      const ids = async () => (await env.db('events').pluck('id')).map(Number).sort((a, b) => a - b);
      await until(async () => !(await ids()).includes(oldAtStart), 'the start-up purge removed the old event');
      // Inserted while running: only a later, scheduled run removes it.
      const oldLater = await insertEvent(env.db, { node_id: node, created_at: daysAgo(30) });
      await until(async () => !(await ids()).includes(oldLater), 'a scheduled purge removed the old event');
      expect(await ids()).toEqual([recent, fresh]);
    } finally {
      await env.close();
    }
  });
});

describe.each(testDatabases())('events plugin options on %s', (kind) => {
  const badOptions: [string, unknown][] = [
    ['retention_days 0', { retention_days: 0 }],
    ['retention_days 366', { retention_days: 366 }],
    ['fractional retention_days', { retention_days: 1.5 }],
    ['retention_days as text', { retention_days: 'thirty' }],
    ['retention_interval_ms 999', { retention_interval_ms: 999 }],
    ['retention_interval_ms beyond what setInterval takes', { retention_interval_ms: 2 ** 31 }],
    ['an unknown option', { retention: 30 }]
  ];

  it.each(badOptions)('refuses registration with %s', async (_, options) => {
    const database = await createTestDatabase(kind);
    try {
      const creating = createManager({ config: testConfig(database), plugins: [users, nodes, { plugin: events, options }] });
      await expect(creating).rejects.toThrow(ConfigError);
      await expect(creating).rejects.toThrow(/^events options: /);
    } finally {
      await database.cleanup();
    }
  });

  it('says why a retention beyond a year is refused', async () => {
    const database = await createTestDatabase(kind);
    try {
      const creating = createManager({ config: testConfig(database), plugins: [users, nodes, { plugin: events, options: { retention_days: 366 } }] });
      await expect(creating).rejects.toThrow('events options: "retention_days" must be less than or equal to 365');
    } finally {
      await database.cleanup();
    }
  });

  it('refuses registration before the nodes plugin', async () => {
    const database = await createTestDatabase(kind);
    try {
      await expect(createManager({ config: testConfig(database), plugins: [users, events, nodes] })).rejects.toThrow(/after @bilbycast\/nodes/);
    } finally {
      await database.cleanup();
    }
  });

  it('accepts the largest values', async () => {
    const starting = eventsManager(kind, { retention_days: 365, retention_interval_ms: 2 ** 31 - 1 });
    await expect(starting).resolves.toHaveProperty('store');
    await (await starting).close();
  });
});
