import { defineDriver } from '@bilbycast/driver-sdk';
import { LiveFeed, type EventRecorder, type NodeEventInput, type StoredEvent } from '../src';
import type { ActiveAlarm } from '../src/services/event-recorder';
import { NodeDirectory } from '../src/services/node-directory';
import { NodeHub, type NodeHubOptions } from '../src/services/node-hub';
import type { NodeSession } from '../src/services/node-session';
import { eventually, nodesManager, type NodesTestManager } from './nodes-harness';

/** Hub options as the plugin's defaults would give them, with the test's changes. */
function hubOptions(overrides: Partial<NodeHubOptions> = {}): NodeHubOptions {
  return {
    offlineAfterMs: 45_000,
    authFailuresBeforeLockout: 5,
    authFailuresPerAddress: 50,
    authLockoutWindowMs: 60_000,
    eventsPerMinute: 1000,
    eventBytesPerMinute: 1024 * 1024,
    bytesPerMinute: 64 * 1024 * 1024,
    lastSeenFlushMs: 10_000,
    historyIntervalMs: 5000,
    historyPoints: 10,
    ...overrides
  };
}

/** A socket that records what would go on the wire. */
function recordingSocket() {
  const sent: string[] = [];
  return {
    sent,
    socket: { readyState: 1, OPEN: 1, send: (frame: string) => sent.push(frame), close() {}, terminate() {} } as unknown as NodeSession['socket']
  };
}

/** An event store that keeps what it is given in memory; `activeAlarms` as the test wants it. */
function memoryEventStore(activeAlarms: EventRecorder['activeAlarms'] = () => Promise.resolve([])) {
  const recorded: NodeEventInput[] = [];
  const store: EventRecorder = {
    record: (event) => {
      recorded.push(event);
      return Promise.resolve({ ...event, id: recorded.length } as unknown as StoredEvent);
    },
    activeAlarms: (nodeId, excluded) => activeAlarms(nodeId, excluded),
    alarmCounts: () => Promise.resolve({ count: 0, critical: 0, warning: 0 })
  };
  return { store, recorded };
}

const deviceInfo = { remoteAddr: null, softwareVersion: null, protocolVersion: 4, deviceType: null };

/** A third-party driver whose hooks answer what they must not. */
const sloppyDriver = defineDriver({
  device_type: 'sloppy',
  display_name: 'Sloppy device',
  commands: [],
  mapEventSeverity: () => 'catastrophic' as never,
  deriveHealth: (() => Promise.resolve('healthy')) as never
});

describe('NodeHub', () => {
  let t: NodesTestManager;
  let hub: NodeHub;
  let liveFeed: LiveFeed;

  beforeAll(async () => {
    t = await nodesManager('sqlite', { drivers: [sloppyDriver] });
    const { db, drivers, logger, audit, bus } = t.manager.context;
    liveFeed = new LiveFeed(bus);
    hub = new NodeHub({ directory: new NodeDirectory(db, 3_600_000), drivers, logger, audit, liveFeed, events: () => undefined }, hubOptions());
  });
  afterAll(async () => {
    await hub.stop();
    await t.close();
  });

  test('a command issued before the auth reply has gone out waits until it has (PROTOCOL.md §4.3)', async () => {
    const { token } = await t.admin.addNode('early command');
    const auth = await hub.signIn.authenticate({ registration_token: token }, '127.0.0.1');
    if (!auth.ok) throw new Error(auth.message);
    const { sent, socket } = recordingSocket();
    const session = (await hub.sessions.open(auth, socket, { remoteAddr: null, softwareVersion: null, protocolVersion: 4, deviceType: null }))!;
    const pending = hub.service.commands.send(session.nodeId, { type: 'stop_flow', flow_id: 'main' }, 5000, true);
    expect(sent).toEqual([]);
    socket.send('{"type":"register_ack"}');
    hub.sessions.ready(session);
    expect(sent[0]).toBe('{"type":"register_ack"}');
    const command = JSON.parse(sent[1]);
    expect(command).toMatchObject({ type: 'command', payload: { action: { type: 'stop_flow', flow_id: 'main' } } });
    session.channel.onCommandAck({ command_id: command.payload.command_id, success: true });
    await expect(pending).resolves.toMatchObject({ success: true });
  });

  test('a session keeps at most 500 unacknowledged alarms, the newest', async () => {
    const { token } = await t.admin.addNode('alarming');
    const auth = await hub.signIn.authenticate({ registration_token: token }, '127.0.0.1');
    if (!auth.ok) throw new Error(auth.message);
    const session = (await hub.sessions.open(auth, recordingSocket().socket, {
      remoteAddr: null,
      softwareVersion: null,
      protocolVersion: 4,
      deviceType: null
    }))!;
    for (let n = 1; n <= 600; n++) hub.telemetry.onEvent(session, { severity: 'warning', category: `alarm-${n}`, message: 'x' }, 100);
    expect(session.telemetry.activeAlarms).toHaveLength(500);
    expect(session.telemetry.activeAlarms[0].category).toBe('alarm-101');
    expect(session.telemetry.activeAlarms[499].category).toBe('alarm-600');
  });

  test('a driver hook that answers something invalid gets the default instead', async () => {
    const { token } = await t.admin.addNode('sloppy device', 'sloppy');
    const auth = await hub.signIn.authenticate({ registration_token: token }, '127.0.0.1');
    if (!auth.ok) throw new Error(auth.message);
    const healths: unknown[] = [];
    liveFeed.subscribe('node_health', ({ health }) => healths.push(health));
    const session = (await hub.sessions.open(auth, recordingSocket().socket, {
      remoteAddr: null,
      softwareVersion: null,
      protocolVersion: 1,
      deviceType: null
    }))!;
    hub.telemetry.onEvent(session, { severity: 'major', category: 'chassis', message: 'fan failure' }, 100);
    // "catastrophic" is no severity: stored as info, so no alarm.
    expect(session.telemetry.activeAlarms).toEqual([]);
    hub.telemetry.onHealth(session, { status: 'ok' });
    expect(healths.length).toBeGreaterThan(0);
    for (const health of healths) expect(['healthy', 'warning', 'critical']).toContain(health);
  });

  test('over its byte budget, a node gets frames read only as answers, no more often than requests wait; sessions the hub let go are not its own', async () => {
    const clock = { now: Date.UTC(2026, 11, 2, 10, 0, 5) };
    const { db, drivers, logger, audit } = t.manager.context;
    const tight = new NodeHub(
      { directory: new NodeDirectory(db, 3_600_000), drivers, logger, audit, liveFeed, events: () => undefined },
      hubOptions({ bytesPerMinute: 1000, now: () => clock.now })
    );
    const { token } = await t.admin.addNode('budgeted');
    const auth = await tight.signIn.authenticate({ registration_token: token }, '127.0.0.1');
    if (!auth.ok) throw new Error(auth.message);
    const { sent, socket } = recordingSocket();
    const session = (await tight.sessions.open(auth, socket, { remoteAddr: null, softwareVersion: null, protocolVersion: 4, deviceType: null }))!;
    tight.sessions.ready(session);
    expect(tight.admitFrame(session, 900, () => false)).toBe('process');
    // Over budget, nothing waiting: dropped, even if it looks like an answer.
    expect(tight.admitFrame(session, 200, () => true)).toBe('drop');
    const pending = tight.service.commands.send(session.nodeId, { type: 'quick' }, 5000, false);
    const commandId = JSON.parse(sent.at(-1)!).payload.command_id;
    // One request waiting: one frame that may be an answer is read; frames that cannot be are not.
    expect(tight.admitFrame(session, 200, () => false)).toBe('drop');
    expect(tight.admitFrame(session, 200, () => true)).toBe('answers_only');
    expect(tight.admitFrame(session, 200, () => true)).toBe('drop');
    // That read answered nothing, so no other is read until a new minute, when everything is.
    clock.now += 60_000;
    expect(tight.admitFrame(session, 200, () => true)).toBe('process');
    session.channel.onCommandAck({ command_id: commandId, success: true });
    await expect(pending).resolves.toMatchObject({ success: true });
    // A real answer read over budget gives its read back.
    clock.now += 60_000;
    expect(tight.admitFrame(session, 1200, () => false)).toBe('drop');
    const second = tight.service.commands.send(session.nodeId, { type: 'quick' }, 5000, false);
    const secondId = JSON.parse(sent.at(-1)!).payload.command_id;
    expect(tight.admitFrame(session, 200, () => true)).toBe('answers_only');
    session.channel.onCommandAck({ command_id: secondId, success: true });
    await expect(second).resolves.toMatchObject({ success: true });
    const third = tight.service.commands.send(session.nodeId, { type: 'quick' }, 5000, false);
    expect(tight.admitFrame(session, 200, () => true)).toBe('answers_only');
    session.channel.onCommandAck({ command_id: JSON.parse(sent.at(-1)!).payload.command_id, success: true });
    await third;

    expect(tight.sessions.owns(session)).toBe(true);
    tight.service.disconnect(session.nodeId, 'deleted');
    expect(tight.sessions.owns(session)).toBe(false);
    await tight.stop();
  });

  /** A hub on the test manager's database and bus, with the test's directory, event store and options. */
  function testHub(setup: { directory?: NodeDirectory; store?: EventRecorder; options?: Partial<NodeHubOptions> } = {}): NodeHub {
    const { db, drivers, logger, audit } = t.manager.context;
    const directory = setup.directory ?? new NodeDirectory(db, 3_600_000);
    return new NodeHub({ directory, drivers, logger, audit, liveFeed, events: () => setup.store }, hubOptions(setup.options));
  }

  /** A new node signed in on `hub` with its registration token, its auth reply sent. */
  async function liveSession(hub: NodeHub, name: string) {
    const { id, token } = await t.admin.addNode(name);
    const auth = await hub.signIn.authenticate({ registration_token: token }, '127.0.0.1');
    if (!auth.ok || auth.method !== 'register_ack') throw new Error('registration failed');
    const { sent, socket } = recordingSocket();
    const session = (await hub.sessions.open(auth, socket, deviceInfo))!;
    hub.sessions.ready(session);
    return { id, secret: auth.secret, session, sent };
  }

  test('a sign-in whose markOnline fails takes the session it superseded offline and fails its own queued requests', async () => {
    const { db } = t.manager.context;
    const directory = new NodeDirectory(db, 3_600_000);
    const { store, recorded } = memoryEventStore();
    const flaky = testHub({ directory, store });
    const { id, secret } = await liveSession(flaky, 'flaky sign-in');
    expect((await db('nodes').where({ id }).first()).status).toBe('online');
    const statuses: string[] = [];
    const stop = liveFeed.subscribe('node_status', (node) => void (node.id === id && statuses.push(node.status)));
    try {
      const again = await flaky.signIn.authenticate({ node_id: id, node_secret: secret }, '127.0.0.1');
      if (!again.ok) throw new Error(again.message);
      let fail!: (err: Error) => void;
      directory.markOnline = () => new Promise<boolean>((_resolve, reject) => (fail = reject));
      const opening = flaky.sessions.open(again, recordingSocket().socket, deviceInfo);
      // Issued while the new session is being brought online: queued on it.
      const command = flaky.service.commands.send(id, { type: 'quick' }, 3000, false);
      fail(new Error('database gone'));
      await expect(opening).rejects.toThrow('database gone');
      await expect(command).rejects.toMatchObject({ code: 'node_offline' });
      await eventually(() => statuses.includes('offline'));
      expect((await db('nodes').where({ id }).first()).status).toBe('offline');
      const disconnect = { node_id: id, severity: 'critical', category: 'connection', message: expect.stringMatching(/^Node disconnected/) };
      expect(recorded).toContainEqual(expect.objectContaining(disconnect));
    } finally {
      stop();
      await flaky.stop();
    }
  });

  test('alarms re-read after acknowledgements keep one raised meanwhile, and a session let go meanwhile derives nothing', async () => {
    const reads: ((alarms: ActiveAlarm[]) => void)[] = [];
    let deferred = false;
    const { store } = memoryEventStore(() => (deferred ? new Promise<ActiveAlarm[]>((resolve) => reads.push(resolve)) : Promise.resolve([])));
    const hub2 = testHub({ store });
    const healths: { node_id: string; health: string }[] = [];
    const stop = liveFeed.subscribe('node_health', ({ node_id, health }) => void healths.push({ node_id, health }));
    const { db } = t.manager.context;
    try {
      const { id, session } = await liveSession(hub2, 'alarm race');
      deferred = true;
      const refresh = hub2.refreshAlarms(id);
      // A critical alarm arrives while the store is read; the store's answer predates it.
      hub2.telemetry.onEvent(session, { severity: 'critical', category: 'srt', message: 'SRT input lost' }, 100);
      expect(healths.filter((h) => h.node_id === id).at(-1)?.health).toBe('critical');
      reads.shift()!([]);
      await refresh;
      expect(session.telemetry.activeAlarms).toEqual([expect.objectContaining({ severity: 'critical', category: 'srt' })]);
      expect(healths.filter((h) => h.node_id === id).at(-1)?.health).toBe('critical');

      // A re-read that settles after the session was let go (node re-tokened here) writes and publishes nothing.
      deferred = false;
      const other = await liveSession(hub2, 'alarm race, let go');
      hub2.telemetry.onEvent(other.session, { severity: 'critical', category: 'srt', message: 'SRT input lost' }, 100);
      deferred = true;
      const late = hub2.refreshAlarms(other.id);
      hub2.service.disconnect(other.id, 'Registration token regenerated');
      const heard = healths.length;
      reads.shift()!([]);
      await late;
      expect(healths.slice(heard)).toEqual([]);
      await hub2.stop();
      expect((await db('nodes').where({ id }).first()).health).toBe('critical');
      expect((await db('nodes').where({ id: other.id }).first()).health).toBe('critical');
    } finally {
      stop();
      await hub2.stop();
    }
  });

  test('over the byte budget, a gateway’s ack to get_config gives its read back: the config_response behind it is read', async () => {
    const clock = { now: Date.UTC(2026, 11, 2, 10, 0, 5) };
    const tight = testHub({ options: { bytesPerMinute: 1000, now: () => clock.now } });
    try {
      const { id, session, sent } = await liveSession(tight, 'gateway over budget');
      expect(tight.admitFrame(session, 1200, () => false)).toBe('drop');
      const config = tight.service.commands.requestConfig(id, 5000, true);
      const configId = JSON.parse(sent.at(-1)!).payload.command_id;
      expect(tight.admitFrame(session, 200, () => true)).toBe('answers_only');
      session.channel.onCommandAck({ command_id: configId, success: true });
      expect(tight.admitFrame(session, 200, () => true)).toBe('answers_only');
      session.channel.onConfigResponse({ flows: [] });
      await expect(config).resolves.toMatchObject({ config: { flows: [] }, cached: false });
      // The ack gives its read back once only: repeating it earns nothing.
      const again = tight.service.commands.requestConfig(id, 5000, true);
      const againId = JSON.parse(sent.at(-1)!).payload.command_id;
      expect(tight.admitFrame(session, 200, () => true)).toBe('answers_only');
      session.channel.onCommandAck({ command_id: againId, success: true });
      session.channel.onCommandAck({ command_id: againId, success: true });
      expect(tight.admitFrame(session, 200, () => true)).toBe('answers_only');
      expect(tight.admitFrame(session, 200, () => true)).toBe('drop');
      session.channel.onConfigResponse({ flows: [] });
      await again;
    } finally {
      await tight.stop();
    }
  });

  test('an event store whose activeAlarms throws at once does not fail a sign-in (no health alarms are loaded)', async () => {
    const { store } = memoryEventStore(() => {
      throw new Error('store not ready');
    });
    const hub2 = testHub({ store });
    try {
      const { id, session } = await liveSession(hub2, 'throwing store');
      expect(hub2.sessions.owns(session)).toBe(true);
      expect(session.telemetry.activeAlarms).toEqual([]);
      expect((await t.manager.context.db('nodes').where({ id }).first()).status).toBe('online');
      // Refreshing fails as a rejection the caller handles, never a throw.
      await expect(hub2.refreshAlarms(id)).rejects.toThrow('store not ready');
    } finally {
      await hub2.stop();
    }
  });

  test('sign-ins still being checked count against the limits: a burst cannot get more checks than the limit allows', async () => {
    const { db, drivers, logger, audit } = t.manager.context;
    const directory = new NodeDirectory(db, 3_600_000);
    // The database answers only when the test says so: every attempt of the burst is in flight at once.
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    const lookup = directory.get.bind(directory);
    let lookups = 0;
    directory.get = async (id: string) => {
      lookups++;
      await answered;
      return lookup(id);
    };
    const slow = new NodeHub({ directory, drivers, logger, audit, liveFeed, events: () => undefined }, hubOptions({ authFailuresPerAddress: 8 }));
    const burst = Array.from({ length: 20 }, () =>
      slow.signIn.authenticate({ node_id: 'a2b4c6d8-0000-4000-8000-000000000001', node_secret: 'guess' }, '203.0.113.5')
    );
    const others = Array.from({ length: 10 }, (_, i) =>
      slow.signIn.authenticate({ node_id: `a2b4c6d8-0000-4000-8000-00000000010${i}`, node_secret: 'guess' }, '203.0.113.5')
    );
    answer();
    const results = [...(await Promise.all(burst)), ...(await Promise.all(others))];
    // Five checks for that node, three more for others from the address (eight in all): the rest refused unchecked.
    expect(lookups).toBe(8);
    expect(results.filter((r) => !r.ok && r.message === 'Invalid node credentials')).toHaveLength(8);
    await slow.stop();
  });
});
