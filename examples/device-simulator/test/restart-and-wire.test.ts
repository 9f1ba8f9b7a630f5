import { sortedJson } from '../src';
import { RFC3339_NANOS, useManager } from './scripted-manager';

describe('sortedJson: JSON as serde_json writes it', () => {
  it('sorts keys at every depth by their UTF-8 bytes and is otherwise JSON.stringify', () => {
    expect(sortedJson({ type: 'event', payload: { b: [{ z: 1, a: null }], a: 'x' }, timestamp: 't' })).toBe(
      '{"payload":{"a":"x","b":[{"a":null,"z":1}]},"timestamp":"t","type":"event"}'
    );
    // Integer-like keys are text to serde: "10" before "2"; a code point above U+FFFF after U+E000.
    expect(sortedJson({ 2: 'b', 10: 'a', '\u{1F600}': 1, '\uE000': 2 })).toBe('{"10":"a","2":"b","\uE000":2,"\u{1F600}":1}');
    expect(sortedJson({ when: new Date(0), skip: undefined, f: () => 1, s: Symbol('x'), list: [undefined, NaN] })).toBe(
      '{"list":[null,null],"when":"1970-01-01T00:00:00.000Z"}'
    );
    expect(sortedJson(undefined)).toBe('null');
  });
});

describe('restarts and what the device saved', () => {
  const ctx = useManager();

  it('a relay that registered in this process saves its spent token on rotate_secret, and after a restart signs in with it', async () => {
    const device = ctx.device({ kind: 'relay', registration_token: 'tok-relay' });
    const first = await ctx.manager.nextPeer();
    await first.authenticate({ type: 'register_ack', payload: { node_id: 'relay-1', node_secret: 'secret-1' } });
    await device.waitForState('online');
    expect(device.persisted).toEqual({ credentials: { node_id: 'relay-1', node_secret: 'secret-1' } });
    // Its config_response is the startup configuration: the spent token, in clear, and no node id.
    const configId = first.command({ type: 'get_config' });
    const config = await first.takeType('config_response');
    expect(config.payload.manager).toMatchObject({ registration_token: 'tok-relay' });
    expect(config.payload.manager.node_id).toBeUndefined();
    expect(first.frames.some((f) => f.type === 'command_ack' && f.payload.command_id === configId)).toBe(false);

    const rotate = first.command({ type: 'rotate_secret', new_secret: 'secret-2-0123456789' });
    await first.ack(rotate);
    expect(device.persisted).toEqual({ registration_token: 'tok-relay' });
    await device.restart();
    const auth = await (await ctx.manager.nextPeer()).takeType('auth');
    expect(auth.payload).toEqual({ registration_token: 'tok-relay', software_version: '0.10.6', protocol_version: 1 });
  });

  it('a relay that started with its credentials saves the rotated secret; configure_distribution after a rotation in the same process saves the startup secret again', async () => {
    const { device, peer } = await ctx.online({ kind: 'relay' });
    await peer.ack(peer.command({ type: 'rotate_secret', new_secret: 'secret-2-0123456789' }));
    expect(device.persisted).toEqual({ credentials: { node_id: 'node-1', node_secret: 'secret-2-0123456789' } });
    await peer.ack(peer.command({ type: 'configure_distribution', require_viewer_token: true }));
    expect(device.persisted).toEqual({ credentials: { node_id: 'node-1', node_secret: 'secret-1' } });
    // Live at once, but config_response shows the startup configuration until a restart loads the file.
    peer.command({ type: 'get_config' });
    expect((await peer.takeType('config_response')).payload.distribution).toBeUndefined();
    await device.restart();
    const next = await ctx.manager.nextPeer();
    expect((await next.authenticate()).payload.node_secret).toBe('secret-1');
    await device.waitForState('online');
    next.command({ type: 'get_config' });
    expect((await next.takeType('config_response')).payload.distribution).toEqual({ require_viewer_token: true });
    // The new process's uptime starts from zero.
    const stats = await next.takeType('stats');
    expect(stats.payload.uptime_secs).toBeLessThan(2);
  });

  it('a network drop makes the relay report it after the next auth, with what ended the session', async () => {
    const { device, peer } = await ctx.online({ kind: 'relay' });
    device.simulateNetworkDrop();
    expect(await peer.closed).toBe(1006);
    const next = await ctx.manager.nextPeer();
    await next.authenticate();
    const warning = await next.takeType('event', (f) => f.payload.category === 'manager' && f.payload.severity === 'warning');
    expect(warning.payload).toEqual({
      category: 'manager',
      details: null,
      flow_id: null,
      message: 'Manager connection lost, rotating to next URL: connection reset',
      severity: 'warning'
    });
    expect(warning.timestamp).toMatch(RFC3339_NANOS);
  });

  it('connects from the local address it is given', async () => {
    ctx.device({ kind: 'edge', credentials: { node_id: 'n', node_secret: 's' }, local_address: '127.0.0.9' });
    const peer = await ctx.manager.nextPeer();
    expect(peer.remoteAddress).toBe('127.0.0.9');
  });
});
