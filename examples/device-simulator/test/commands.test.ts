import type { CommandOutcome, DeviceCredentials } from '../src';
import { type Frame, useManager } from './scripted-manager';

const ctx = useManager();

const flowOf = (frame: Frame, id: string) => frame.payload.flows.find((f: { flow_id: string }) => f.flow_id === id);

describe('edge commands', () => {
  it('stop_flow: ack, a flow event, Idle with zeroed counters in the next stats, enabled persisted; start_flow reverses it', async () => {
    const { device, peer } = await ctx.online({ kind: 'edge', flows: 2 });
    const id = peer.command({ type: 'stop_flow', flow_id: 'flow-1' });
    expect((await peer.ack(id)).payload).toEqual({ command_id: id, success: true });
    const event = await peer.takeType('event', (f) => f.payload.category === 'flow');
    expect(event.payload).toMatchObject({ severity: 'info', message: `Flow '${device.name} feed 1' stopped`, flow_id: 'flow-1' });
    const stats = await peer.takeType('stats', (f) => flowOf(f, 'flow-1')?.state === 'Idle');
    const idle = flowOf(stats, 'flow-1');
    expect(idle).toMatchObject({ uptime_secs: 0, input: { state: 'idle', bytes_received: 0, packets_received: 0, bitrate_bps: 0 } });
    expect(idle.outputs[0]).toMatchObject({ state: 'idle', bytes_sent: 0, bitrate_bps: 0 });
    expect(flowOf(stats, 'Studio feed 2').state).toBe('Running');
    expect(stats.payload).toMatchObject({ active_flows: 1, total_flows: 2 });
    expect((device.config as any).flows[0].enabled).toBe(false);

    const start = peer.command({ type: 'start_flow', flow_id: 'flow-1' });
    expect((await peer.ack(start)).payload.success).toBe(true);
    await peer.takeType('event', (f) => f.payload.message === `Flow '${device.name} feed 1' started`);
    await peer.takeType('stats', (f) => flowOf(f, 'flow-1')?.state === 'Running');
    expect((device.config as any).flows[0].enabled).toBe(true);
  });

  it('get_config: only a config_response (no ack) holding a version 2 config without secrets', async () => {
    const { peer } = await ctx.online({ kind: 'edge', name: 'edge-cfg', credentials: { node_id: 'node-7', node_secret: 'very-secret' } });
    const tunnel = {
      id: '0b6f5d1e-0000-4000-8000-000000000001',
      name: 't',
      protocol: 'udp',
      mode: 'relay',
      direction: 'egress',
      local_addr: '0.0.0.0:9100',
      relay_addr: 'relay:4433',
      tunnel_encryption_key: 'k'.repeat(64),
      tunnel_bind_secret: 'b'.repeat(64)
    };
    await peer.ack(peer.command({ type: 'create_tunnel', tunnel }));
    const id = peer.command({ type: 'get_config' });
    const config = (await peer.takeType('config_response')).payload;
    // Prove no ack for get_config was sent before a later reply.
    peer.send({ type: 'ping', payload: null });
    await peer.takeType('pong');
    expect(peer.frames.some((f) => f.type === 'command_ack' && f.payload.command_id === id)).toBe(false);

    expect(config).toMatchObject({
      version: 2,
      device_name: 'edge-cfg',
      manager: { enabled: true, urls: [ctx.manager.url], node_id: 'node-7' },
      inputs: [{ id: 'in-1' }, { id: 'Studio in 2' }],
      outputs: [{ id: 'out-1' }, { id: 'Studio out 2' }],
      flows: [
        { id: 'flow-1', name: 'edge-cfg feed 1', enabled: true, input_ids: ['in-1'], output_ids: ['out-1'] },
        { id: 'Studio feed 2', enabled: true }
      ],
      flow_groups: []
    });
    expect(config.tunnels).toEqual([
      { id: tunnel.id, name: 't', protocol: 'udp', mode: 'relay', direction: 'egress', local_addr: '0.0.0.0:9100', relay_addr: 'relay:4433' }
    ]);
    const text = JSON.stringify(config);
    expect(text).not.toContain('very-secret');
    expect(text).not.toContain('node_secret');
    expect(text).not.toContain('registration_token');
  });

  it('answers unknown commands with unknown_action and echoes "unknown" for a missing command_id', async () => {
    const { peer } = await ctx.online({ kind: 'edge' });
    const id = peer.command({ type: 'frobnicate' });
    expect((await peer.ack(id)).payload).toEqual({ command_id: id, success: false, error: 'Unknown command: frobnicate', error_code: 'unknown_action' });
    peer.send({ type: 'command', payload: { action: { type: 'get_ptp_mode' } } });
    const ack = await peer.ack('unknown');
    expect(ack.payload.data).toMatchObject({ mode: 'auto', available_ifaces: ['eth0'] });
  });

  it('flow, input and output CRUD against the in-memory config, with edge error codes', async () => {
    const { device, peer } = await ctx.online({ kind: 'edge', flows: 1 });
    const run = async (action: Record<string, unknown>) => (await peer.ack(peer.command(action))).payload;

    expect(await run({ type: 'create_input', input: { id: 'in-x', name: 'X', type: 'udp', bind_addr: '0.0.0.0:5000' } })).toMatchObject({ success: true });
    expect(
      await run({ type: 'create_output', output: { id: 'out-x', name: 'X out', type: 'srt', mode: 'caller', remote_addr: '10.0.0.1:9000' } })
    ).toMatchObject({ success: true });
    expect(await run({ type: 'create_flow', flow: { id: 'flow-x', name: 'X', enabled: true, input_ids: ['in-x'], output_ids: ['out-x'] } })).toEqual({
      command_id: expect.any(String),
      success: true
    });
    await peer.takeType('event', (f) => f.payload.message === "Flow 'X' started");
    const stats = await peer.takeType('stats', (f) => flowOf(f, 'flow-x')?.state === 'Running');
    expect(flowOf(stats, 'flow-x')).toMatchObject({
      input: { input_type: 'udp', bind_addr: '0.0.0.0:5000' },
      outputs: [{ output_type: 'srt', mode: 'caller', remote_addr: '10.0.0.1:9000' }]
    });

    expect(await run({ type: 'create_flow', flow: { id: 'flow-x', name: 'again' } })).toMatchObject({ success: false, error_code: 'validation_error' });
    expect(await run({ type: 'create_flow', flow: { id: 'flow-y', name: 'Y', input_ids: ['nope'] } })).toMatchObject({
      success: false,
      error_code: 'validation_error'
    });
    expect(await run({ type: 'delete_input', input_id: 'in-x' })).toMatchObject({
      success: false,
      error_code: 'validation_error',
      error: expect.stringContaining("used by flow 'flow-x'")
    });
    expect(await run({ type: 'delete_flow', flow_id: 'nope' })).toMatchObject({ success: false, error_code: 'unknown_flow' });
    expect(await run({ type: 'restart_flow' })).toMatchObject({ success: false, error_code: 'missing_field' });

    expect(await run({ type: 'add_output', flow_id: 'flow-x', output: { id: 'out-y', name: 'Y', type: 'udp', dest_addr: '239.0.0.9:5000' } })).toMatchObject({
      success: true
    });
    expect(await run({ type: 'add_output', flow_id: 'flow-x', output: { id: 'out-y', name: 'Y', type: 'udp' } })).toMatchObject({
      error_code: 'output_already_member'
    });
    expect((device.config as any).flows.find((f: { id: string }) => f.id === 'flow-x').output_ids).toEqual(['out-x', 'out-y']);
    expect(await run({ type: 'remove_output', flow_id: 'flow-x', output_id: 'out-x' })).toMatchObject({ success: true });
    expect(await run({ type: 'remove_input', flow_id: 'flow-x', input_id: 'in-x' })).toMatchObject({ error_code: 'active_input_in_use' });
    expect(await run({ type: 'update_input', input_id: 'in-x', input: { name: 'X2', type: 'rtp', bind_addr: '0.0.0.0:5004' } })).toMatchObject({
      success: true
    });
    expect((device.config as any).inputs.find((i: { id: string }) => i.id === 'in-x')).toEqual({
      id: 'in-x',
      name: 'X2',
      type: 'rtp',
      bind_addr: '0.0.0.0:5004'
    });

    expect(
      await run({ type: 'update_flow', flow_id: 'flow-x', flow: { name: 'X renamed', enabled: true, input_ids: ['in-x'], output_ids: ['out-y'] } })
    ).toMatchObject({
      success: true
    });
    await peer.takeType('stats', (f) => flowOf(f, 'flow-x')?.flow_name === 'X renamed');

    expect(await run({ type: 'delete_flow', flow_id: 'flow-x' })).toMatchObject({ success: true });
    await peer.takeType('event', (f) => f.payload.message === "Flow 'X renamed' stopped");
    expect(await run({ type: 'delete_input', input_id: 'in-x' })).toMatchObject({ success: true });
    expect((device.config as any).flows.map((f: { id: string }) => f.id)).toEqual(['flow-1']);
  });

  it('update_config: version must be 2; replaces flows and keeps the local manager block', async () => {
    const { device, peer } = await ctx.online({ kind: 'edge', flows: 2 });
    const run = async (action: Record<string, unknown>) => (await peer.ack(peer.command(action))).payload;
    expect(await run({ type: 'update_config', config: { version: 1, flows: [] } })).toMatchObject({ success: false, error_code: 'validation_error' });

    const tunnel = {
      id: '0b6f5d1e-0000-4000-8000-000000000003',
      name: 't',
      protocol: 'tcp',
      mode: 'relay',
      direction: 'ingress',
      local_addr: '10.0.0.5:80',
      relay_addr: 'r:4433'
    };
    await run({ type: 'create_tunnel', tunnel: { ...tunnel, tunnel_encryption_key: 'e'.repeat(64) } });
    const manager = (device.config as any).manager;
    const config = {
      version: 2,
      tunnels: [{ ...tunnel, name: 'renamed' }],
      manager: { enabled: false, urls: ['wss://evil/ws/node'] },
      inputs: [{ id: 'in-1', name: 'SRT in 1', type: 'srt', mode: 'listener', local_addr: '0.0.0.0:9001' }],
      outputs: [],
      flows: [{ id: 'flow-1', name: 'only', enabled: false, input_ids: ['in-1'], output_ids: [] }]
    };
    expect(await run({ type: 'update_config', config })).toEqual({ command_id: expect.any(String), success: true });
    expect((device.config as any).manager).toBe(manager);
    expect((device.config as any).flows).toEqual(config.flows);
    // Node-local tunnel secrets the push lacks are merged back.
    expect((device.config as any).tunnels).toEqual([{ ...tunnel, name: 'renamed', tunnel_encryption_key: 'e'.repeat(64) }]);
    const stats = await peer.takeType('stats', (f) => f.payload.flows.length === 1);
    expect(stats.payload.flows[0]).toMatchObject({ flow_id: 'flow-1', flow_name: 'only', state: 'Idle' });
    expect(stats.payload.active_flows).toBe(0);
  });

  it('reset_counters zeroes a running flow and returns {flow_id, scope}', async () => {
    const { peer } = await ctx.online({ kind: 'edge', flows: 1 });
    // ≥ 300 kB is many 30 ms samples' worth (5–10 Mb/s ≈ 19–38 kB per sample).
    await peer.takeType('stats', (f) => flowOf(f, 'flow-1')?.input.bytes_received >= 300_000);
    const ack = await peer.ack(peer.command({ type: 'reset_counters', flow_id: 'flow-1', scope: 'input' }));
    expect(ack.payload.data).toEqual({ flow_id: 'flow-1', scope: 'input' });
    const ackIndex = peer.frames.indexOf(ack);
    const isFull = (f: Frame) => f.type === 'stats' && f.payload.flows.length > 0;
    const before = peer.frames.slice(0, ackIndex).filter(isFull).at(-1)!;
    const after = await peer.take((f) => isFull(f) && peer.frames.indexOf(f) > ackIndex);
    expect(flowOf(after, 'flow-1').input.bytes_received).toBeLessThan(flowOf(before, 'flow-1').input.bytes_received);
  });

  it('rotate_secret updates the credentials, emits them and reconnects with the new secret', async () => {
    const { device, peer } = await ctx.online({ kind: 'edge' });
    const persisted = new Promise<DeviceCredentials>((resolve) => device.once('credentials', resolve));
    const id = peer.command({ type: 'rotate_secret', new_secret: 'new-secret-0123456789' });
    expect((await peer.ack(id)).payload).toEqual({ command_id: id, success: true });
    expect(await persisted).toEqual({ node_id: 'node-1', node_secret: 'new-secret-0123456789' });
    expect(device.credentials).toEqual({ node_id: 'node-1', node_secret: 'new-secret-0123456789' });
    peer.ws.close(1001);
    const auth = await (await ctx.manager.nextPeer()).takeType('auth');
    expect(auth.payload.node_secret).toBe('new-secret-0123456789');
  });

  it('rotate_secret_bug: persists the new secret but reconnects with the old one', async () => {
    const { device, peer } = await ctx.online({ kind: 'relay', rotate_secret_bug: true });
    const persisted = new Promise<DeviceCredentials>((resolve) => device.once('credentials', resolve));
    const id = peer.command({ type: 'rotate_secret', new_secret: 'new-secret-0123456789' });
    expect((await peer.ack(id)).payload).toEqual({ command_id: id, success: true, error: null });
    expect((await persisted).node_secret).toBe('new-secret-0123456789');
    peer.ws.close(1001);
    const auth = await (await ctx.manager.nextPeer()).takeType('auth');
    expect(auth.payload.node_secret).toBe('secret-1');
  });

  it('answers a JSON ping with a pong whose payload is null', async () => {
    const { peer } = await ctx.online({ kind: 'edge' });
    peer.send({ type: 'ping', timestamp: new Date().toISOString(), payload: null });
    const pong = await peer.takeType('pong');
    expect(pong).toEqual({ type: 'pong', timestamp: expect.any(String), payload: null });
  });

  it('ignores unknown types and bad JSON; a binary frame raises a manager warning', async () => {
    const { peer } = await ctx.online({ kind: 'edge' });
    peer.send({ type: 'mystery', payload: {} });
    peer.ws.send('{not json');
    peer.ws.send(Buffer.from(JSON.stringify({ type: 'command', payload: { command_id: 'b1', action: { type: 'stop_flow', flow_id: 'flow-1' } } })));
    const warning = await peer.takeType('event', (f) => f.payload.category === 'manager' && f.payload.severity === 'warning');
    expect(warning.payload.message).toMatch(/binary frame/);
    const id = peer.command({ type: 'get_ptp_mode' });
    await peer.ack(id);
    expect(peer.frames.some((f) => f.type === 'command_ack' && f.payload.command_id === 'b1')).toBe(false);
  });
});

describe('relay commands', () => {
  it('get_config: config_response only, node_secret and api_token redacted', async () => {
    const { peer } = await ctx.online({ kind: 'relay' });
    peer.command({ type: 'get_config' });
    const config = (await peer.takeType('config_response')).payload;
    expect(config.manager).toMatchObject({ node_id: 'node-1', node_secret: '***REDACTED***', urls: [ctx.manager.url] });
    expect(config.api_token).toBe('***REDACTED***');
    expect(JSON.stringify(config)).not.toContain('secret-1');
    peer.send({ type: 'ping', payload: null });
    await peer.takeType('pong');
    expect(peer.frames.some((f) => f.type === 'command_ack')).toBe(false);
  });

  it('tunnels, edges and sessions; failures carry only error', async () => {
    const { peer } = await ctx.online({ kind: 'relay' });
    const run = async (action: Record<string, unknown>) => (await peer.ack(peer.command(action))).payload;
    const tunnelId = '0b6f5d1e-0000-4000-8000-000000000002';
    expect(await run({ type: 'authorize_tunnel', tunnel_id: tunnelId, ingress_token: 'a'.repeat(64), egress_token: 'b'.repeat(64) })).toEqual({
      command_id: expect.any(String),
      success: true
    });
    expect((await run({ type: 'list_tunnels' })).data).toEqual([expect.objectContaining({ tunnel_id: tunnelId, status: 'empty' })]);
    const stats = await peer.takeType('stats', (f) => f.payload.total_tunnels === 1);
    expect(stats.payload.tunnels[0].tunnel_id).toBe(tunnelId);
    expect(await run({ type: 'close_tunnel', tunnel_id: tunnelId })).toMatchObject({ success: true });
    expect(await run({ type: 'revoke_tunnel', tunnel_id: tunnelId })).toMatchObject({ success: true });
    expect((await run({ type: 'list_tunnels' })).data).toEqual([]);
    expect((await run({ type: 'list_edges' })).data).toEqual([
      expect.objectContaining({ edge_id: 'Studio edge 1' }),
      expect.objectContaining({ edge_id: 'Ü-Wagen 2 (backup)' })
    ]);
    expect(await run({ type: 'disconnect_edge', edge_id: 'Studio edge 1' })).toMatchObject({ success: true });
    expect((await run({ type: 'list_edges' })).data).toEqual([expect.objectContaining({ edge_id: 'Ü-Wagen 2 (backup)' })]);
    expect((await run({ type: 'list_udp_sessions' })).data).toEqual([]);

    for (const action of [
      { type: 'close_tunnel', tunnel_id: tunnelId },
      { type: 'close_udp_session', tunnel_id: tunnelId },
      { type: 'disconnect_edge', edge_id: 'edge-x' },
      { type: 'authorize_tunnel', tunnel_id: tunnelId }
    ]) {
      const ack = await run(action);
      expect(ack).toEqual({ command_id: expect.any(String), success: false, error: expect.any(String) });
    }
    expect(await run({ type: 'frobnicate' })).toEqual({ command_id: expect.any(String), success: false, error: 'Unknown relay command: frobnicate' });
  });

  it('configure_distribution: ack with error null, validated, reflected in health', async () => {
    const { peer } = await ctx.online({ kind: 'relay', health_interval_ms: 30 });
    const run = async (action: Record<string, unknown>) => (await peer.ack(peer.command(action))).payload;
    expect(await run({ type: 'configure_distribution', token_secret: 'zz' })).toMatchObject({ success: false, error: expect.stringContaining('64 hex') });
    expect(await run({ type: 'configure_distribution', public_base_url: 'https://cdn.example/live', require_viewer_token: true })).toEqual({
      command_id: expect.any(String),
      success: true,
      error: null
    });
    const health = await peer.takeType('health', (f) => f.payload.distribution_base_url !== undefined);
    expect(health.payload.distribution_base_url).toBe('https://cdn.example/live');
  });
});

describe('gateway commands', () => {
  it('get_config: command_ack first, then config_response', async () => {
    const { peer } = await ctx.online({ kind: 'gateway' });
    const id = peer.command({ type: 'get_config' });
    const response = await peer.takeType('config_response');
    const ack = await peer.ack(id);
    expect(ack.payload).toEqual({ command_id: id, success: true });
    expect(peer.frames.indexOf(ack)).toBeLessThan(peer.frames.indexOf(response));
    expect(response.payload).toMatchObject({ chassis: { model: 'Appear X20' }, inputs: { '1': [{ id: 'ipin-1' }, { id: 'ipin-2' }] } });
  });

  it('set_ip_input / get_inputs / get_alarms; failures always carry an error_code', async () => {
    const { peer } = await ctx.online({ kind: 'gateway', alarms: [{ severity: 'MINOR', description: 'Fan' }] });
    const run = async (action: Record<string, unknown>) => (await peer.ack(peer.command(action))).payload;
    expect((await run({ type: 'get_alarms' })).data).toEqual([{ severity: 'MINOR', description: 'Fan' }]);
    const rows = [{ id: 'ipin-9', name: 'Nine', enabled: true, protocol: 'udp', local_addr: '0.0.0.0:5000' }];
    expect(await run({ type: 'set_ip_input', inputs: rows })).toEqual({ command_id: expect.any(String), success: true });
    expect((await run({ type: 'get_inputs', slot: 1 })).data).toEqual(rows);
    const stats = await peer.takeType('stats', (f) => f.payload.flows[0]?.flow_id === 'slot1-ipin-9');
    expect(stats.payload.total_flows).toBe(1);
    expect(await run({ type: 'clear_all_counters' })).toMatchObject({ success: true });

    expect(await run({ type: 'set_ip_input', inputs: [] })).toMatchObject({ success: false, error_code: 'validation_error' });
    expect(await run({ type: 'get_inputs', slot: 3 })).toMatchObject({ success: false, error_code: 'unsupported_on_card' });
    expect(await run({ type: 'rotate_secret', new_secret: 'x'.repeat(20) })).toEqual({
      command_id: expect.any(String),
      success: false,
      error: 'Unknown action: rotate_secret',
      error_code: 'unknown_action'
    });
  });
});

describe('fault injection', () => {
  it('hang_commands are never answered (emitted with a null result); later commands still are', async () => {
    const { device, peer } = await ctx.online({ kind: 'edge', hang_commands: ['stop_flow'] });
    const seen: Array<[string, CommandOutcome | null]> = [];
    device.on('command', (action, result) => seen.push([action.type, result]));
    const hung = peer.command({ type: 'stop_flow', flow_id: 'flow-1' });
    const next = peer.command({ type: 'get_ptp_mode' });
    await peer.ack(next);
    expect(peer.frames.some((f) => f.type === 'command_ack' && f.payload.command_id === hung)).toBe(false);
    expect(seen[0]).toEqual(['stop_flow', null]);
    expect(seen[1][0]).toBe('get_ptp_mode');
    expect((device.config as any).flows[0].enabled).toBe(true);
  });

  it('fail_commands fail with the given error; relays drop error_code and details, gateways keep them', async () => {
    const fail = { start_flow: { error: 'Port conflict: 0.0.0.0:9000', error_code: 'port_conflict', details: { addr: '0.0.0.0:9000' } } };
    const edge = await ctx.online({ kind: 'edge', fail_commands: fail });
    const id = edge.peer.command({ type: 'start_flow', flow_id: 'flow-1' });
    expect((await edge.peer.ack(id)).payload).toEqual({ command_id: id, success: false, error: 'Port conflict: 0.0.0.0:9000', error_code: 'port_conflict' });

    const relay = await ctx.online({ kind: 'relay', fail_commands: { list_edges: fail.start_flow } });
    const rid = relay.peer.command({ type: 'list_edges' });
    expect((await relay.peer.ack(rid)).payload).toEqual({ command_id: rid, success: false, error: 'Port conflict: 0.0.0.0:9000' });

    const gateway = await ctx.online({ kind: 'gateway', fail_commands: { get_alarms: fail.start_flow, get_inputs: { error: 'chassis busy' } } });
    const gid = gateway.peer.command({ type: 'get_alarms' });
    expect((await gateway.peer.ack(gid)).payload).toEqual({
      command_id: gid,
      success: false,
      error: 'Port conflict: 0.0.0.0:9000',
      error_code: 'port_conflict',
      details: { addr: '0.0.0.0:9000' }
    });
    const gid2 = gateway.peer.command({ type: 'get_inputs' });
    expect((await gateway.peer.ack(gid2)).payload.error_code).toBe('internal_error');
  });

  it('ack_delay_ms: edge acks arrive out of order across commands', async () => {
    const { peer } = await ctx.online({ kind: 'edge', ack_delay_ms: { stop_flow: 150 } });
    const slow = peer.command({ type: 'stop_flow', flow_id: 'flow-1' });
    const fast = peer.command({ type: 'get_ptp_mode' });
    const slowAck = await peer.ack(slow);
    const fastAck = await peer.ack(fast);
    expect(peer.frames.indexOf(fastAck)).toBeLessThan(peer.frames.indexOf(slowAck));
  });

  it('ack_delay_ms: relays answer one command at a time, so a slow one holds back the next', async () => {
    const { peer } = await ctx.online({ kind: 'relay', ack_delay_ms: { list_tunnels: 150 } });
    const slow = peer.command({ type: 'list_tunnels' });
    const fast = peer.command({ type: 'list_edges' });
    const fastAck = await peer.ack(fast);
    const slowAck = await peer.ack(slow);
    expect(peer.frames.indexOf(slowAck)).toBeLessThan(peer.frames.indexOf(fastAck));
  });

  it('a numeric ack_delay_ms delays every answer, get_config included', async () => {
    const { device, peer } = await ctx.online({ kind: 'edge', ack_delay_ms: 100 });
    const sentAt = Date.now();
    peer.command({ type: 'get_config' });
    const answered = new Promise<number>((resolve) => device.once('command', () => resolve(Date.now())));
    await peer.takeType('config_response');
    expect((await answered) - sentAt).toBeGreaterThanOrEqual(90);
  });
});
