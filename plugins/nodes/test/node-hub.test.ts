import { defineDriver } from '@bilbycast/driver-sdk';
import { LiveFeed } from '../src';
import { NodeDirectory } from '../src/services/node-directory';
import { NodeHub, type NodeHubOptions } from '../src/services/node-hub';
import type { NodeSession } from '../src/services/node-session';
import { nodesManager, type NodesTestManager } from './nodes-harness';

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
  return { sent, socket: { readyState: 1, OPEN: 1, send: (frame: string) => sent.push(frame), close() {}, terminate() {} } as unknown as NodeSession['socket'] };
}

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
    hub = new NodeHub(
      { directory: new NodeDirectory(db, 3_600_000), drivers, logger, audit, liveFeed, events: () => undefined },
      hubOptions()
    );
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
    const session = (await hub.sessions.open(auth, recordingSocket().socket, { remoteAddr: null, softwareVersion: null, protocolVersion: 4, deviceType: null }))!;
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
    const session = (await hub.sessions.open(auth, recordingSocket().socket, { remoteAddr: null, softwareVersion: null, protocolVersion: 1, deviceType: null }))!;
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
    const slow = new NodeHub(
      { directory, drivers, logger, audit, liveFeed, events: () => undefined },
      hubOptions({ authFailuresPerAddress: 8 })
    );
    const burst = Array.from({ length: 20 }, () => slow.signIn.authenticate({ node_id: 'a2b4c6d8-0000-4000-8000-000000000001', node_secret: 'guess' }, '203.0.113.5'));
    const others = Array.from({ length: 10 }, (_, i) => slow.signIn.authenticate({ node_id: `a2b4c6d8-0000-4000-8000-00000000010${i}`, node_secret: 'guess' }, '203.0.113.5'));
    answer();
    const results = [...(await Promise.all(burst)), ...(await Promise.all(others))];
    // Five checks for that node, three more for others from the address (eight in all): the rest refused unchecked.
    expect(lookups).toBe(8);
    expect(results.filter((r) => !r.ok && r.message === 'Invalid node credentials')).toHaveLength(8);
    await slow.stop();
  });
});
