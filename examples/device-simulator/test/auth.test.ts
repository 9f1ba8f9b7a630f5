import { SimulatedDevice, type DeviceCredentials } from '../src';
import { RFC3339_NANOS, useManager } from './scripted-manager';

const ctx = useManager();

describe('auth frame (PROTOCOL.md §4.1)', () => {
  it('edge with a token: no timestamp, token, version 0.106.0, protocol 4, no device_type', async () => {
    ctx.device({ kind: 'edge', registration_token: 'tok-1' });
    const peer = await ctx.manager.nextPeer();
    const auth = await peer.takeType('auth');
    expect(auth).toEqual({ type: 'auth', payload: { registration_token: 'tok-1', software_version: '0.106.0', protocol_version: 4 } });
  });

  it('relay: credentials take precedence over a token', async () => {
    ctx.device({ kind: 'relay', registration_token: 'tok-1', credentials: { node_id: 'n1', node_secret: 's1' } });
    const auth = await (await ctx.manager.nextPeer()).takeType('auth');
    expect(auth).toEqual({ type: 'auth', payload: { node_id: 'n1', node_secret: 's1', software_version: '0.10.6', protocol_version: 1 } });
  });

  it('gateway: nanosecond timestamp and device_type', async () => {
    ctx.device({ kind: 'gateway', registration_token: 'tok-g', device_type: 'appear_x_v2', software_version: '9.9.9' });
    const auth = await (await ctx.manager.nextPeer()).takeType('auth');
    expect(auth.timestamp).toMatch(RFC3339_NANOS);
    expect(auth.payload).toEqual({ registration_token: 'tok-g', software_version: '9.9.9', device_type: 'appear_x_v2', protocol_version: 1 });
  });

  it('edge with neither token nor credentials sends an empty payload', async () => {
    ctx.device({ kind: 'edge', protocol_version: 3 });
    const auth = await (await ctx.manager.nextPeer()).takeType('auth');
    expect(auth).toEqual({ type: 'auth', payload: {} });
  });

  it('a gateway refuses to start without a token or credentials, and bad urls are refused', () => {
    expect(() => new SimulatedDevice({ url: ctx.manager.url, kind: 'gateway' })).toThrow(/registration_token or credentials/);
    expect(() => new SimulatedDevice({ url: 'http://127.0.0.1/ws/node', kind: 'edge' })).toThrow(/ws:\/\/ or wss:\/\//);
  });
});

describe('registration and reconnect', () => {
  it('stores register_ack credentials, emits them, and reconnects with node_id/node_secret', async () => {
    const device = ctx.device({ kind: 'edge', registration_token: 'tok-1' });
    const registered = new Promise<DeviceCredentials>((resolve) => device.once('registered', resolve));
    const persisted = new Promise<DeviceCredentials>((resolve) => device.once('credentials', resolve));
    const authenticated = new Promise<string>((resolve) => device.once('authenticated', resolve));
    const first = await ctx.manager.nextPeer();
    await first.authenticate({ type: 'register_ack', payload: { node_id: 'node-9', node_secret: 'sec-9' } });
    expect(await registered).toEqual({ node_id: 'node-9', node_secret: 'sec-9' });
    expect(await persisted).toEqual({ node_id: 'node-9', node_secret: 'sec-9' });
    expect(await authenticated).toBe('register_ack');
    expect(device.credentials).toEqual({ node_id: 'node-9', node_secret: 'sec-9' });
    // The registering session is live at once.
    await first.takeType('stats');
    expect((device.config as any).manager.node_id).toBeUndefined(); // credentials never live in the config
    first.ws.close(1001);

    const second = await ctx.manager.nextPeer();
    const auth = await second.authenticate();
    expect(auth.payload).toEqual({ node_id: 'node-9', node_secret: 'sec-9', software_version: '0.106.0', protocol_version: 4 });
    await device.waitForState('online');
    // The queued "connection lost" warning is delivered on the new session, then "Connected".
    await second.takeType('event', (e) => e.payload.message === 'Manager connection lost, rotating to next URL' && e.payload.severity === 'warning');
    await second.takeType('event', (e) => e.payload.message === 'Connected to manager');
  });

  it('register_ack with an empty secret keeps the session but persists nothing', async () => {
    const device = ctx.device({ kind: 'edge', registration_token: 'tok-1' });
    const peer = await ctx.manager.nextPeer();
    const events: string[] = [];
    device.on('credentials', () => events.push('credentials'));
    await peer.authenticate({ type: 'register_ack', payload: { node_id: 'node-9', node_secret: '' } });
    await device.waitForState('online');
    await peer.takeType('stats');
    expect(device.credentials).toBeUndefined();
    expect(events).toEqual([]);
  });

  it('auth_error: emits the top-level message, drops the socket without a Close frame, retries with the same credentials', async () => {
    const device = ctx.device({ kind: 'edge', credentials: { node_id: 'n1', node_secret: 'bad' } });
    const errors: string[] = [];
    device.on('auth_error', (message) => errors.push(message));
    const first = await ctx.manager.nextPeer();
    await first.authenticate({ type: 'auth_error', message: 'Invalid node secret', payload: { error: 'payload wording' } });
    expect(await first.closed).toBe(1006);
    expect(errors).toEqual(['Invalid node secret']);

    const second = await ctx.manager.nextPeer();
    const auth = await second.authenticate();
    expect(auth.payload.node_secret).toBe('bad');
    await device.waitForState('online');
    const failed = await second.takeType('event', (e) => e.payload.category === 'manager' && e.payload.severity === 'critical');
    expect(failed.payload.message).toContain('Invalid node secret');
  });

  it('gateway auth_error prefers payload.error (SDK)', async () => {
    const device = ctx.device({ kind: 'gateway', registration_token: 'tok' });
    const message = new Promise<string>((resolve) => device.once('auth_error', resolve));
    const peer = await ctx.manager.nextPeer();
    await peer.authenticate({ type: 'auth_error', message: 'top level', payload: { error: 'token expired', message: 'other' } });
    expect(await message).toBe('token expired');
  });

  it.each([
    ['a command', { type: 'command', payload: { command_id: 'c1', action: { type: 'get_config' } } }],
    ['a JSON ping', { type: 'ping', payload: null }]
  ])('treats %s as the first frame as a failed handshake and reconnects', async (_label, frame) => {
    const device = ctx.device({ kind: 'relay', credentials: { node_id: 'n1', node_secret: 's1' } });
    const first = await ctx.manager.nextPeer();
    await first.authenticate(frame);
    expect(await first.closed).toBe(1006);
    expect(first.frames.map((f) => f.type)).toEqual(['auth']);
    await (await ctx.manager.nextPeer()).authenticate();
    await device.waitForState('online');
  });

  it('a WebSocket Ping before the auth reply fails the handshake', async () => {
    ctx.device({ kind: 'edge', credentials: { node_id: 'n1', node_secret: 's1' } });
    const first = await ctx.manager.nextPeer();
    await first.takeType('auth');
    first.ws.ping();
    expect(await first.closed).toBe(1006);
    await (await ctx.manager.nextPeer()).takeType('auth');
  });

  it('reconnect_delay_ms 0: a closed session leaves the device stopped', async () => {
    const { device, peer } = await ctx.online({ kind: 'edge', reconnect_delay_ms: 0 });
    const reason = new Promise<string>((resolve) => device.once('disconnected', resolve));
    peer.ws.close(1001);
    await device.waitForState('stopped');
    expect(await reason).toContain('1001');
    await expect(ctx.manager.nextPeer(300)).rejects.toThrow(/no device connected/);
  });

  it('a gateway without reconnect_delay_ms follows the SDK ladder: 1 s after an authenticated session', async () => {
    const { device, peer } = await ctx.online({ kind: 'gateway', reconnect_delay_ms: undefined });
    const closedAt = Date.now();
    peer.ws.close(1001);
    await device.waitForState('backoff');
    const next = await ctx.manager.nextPeer(4000);
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(900);
    await next.takeType('auth');
  });

  it('stop() closes with a Close frame and does not reconnect', async () => {
    const { device, peer } = await ctx.online({ kind: 'edge' });
    await device.stop();
    expect(device.state).toBe('stopped');
    expect(await peer.closed).toBe(1005);
    await expect(ctx.manager.nextPeer(300)).rejects.toThrow(/no device connected/);
  });
});

describe('sendRaw', () => {
  it('sends the text as is when connected and throws otherwise', async () => {
    const { device, peer } = await ctx.online({ kind: 'edge' });
    device.sendRaw('{"type": "stats", "payload": {trunc');
    device.sendRaw('{"type":"raw-probe","payload":1}');
    await peer.takeType('raw-probe');
    // Frames arrive in order, so the malformed one came just before.
    expect(peer.texts[peer.texts.indexOf('{"type":"raw-probe","payload":1}') - 1]).toBe('{"type": "stats", "payload": {trunc');
    await device.stop();
    expect(() => device.sendRaw('x')).toThrow(/not connected/);
  });
});
