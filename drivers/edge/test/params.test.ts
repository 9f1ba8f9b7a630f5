import { driver } from '../src';

function check(name: string, params: unknown): string | undefined {
  const command = driver.commands.find((c) => c.name === name);
  if (!command) throw new Error(`no command ${name}`);
  return command.params.validate(params).error?.message;
}

const srtListener = { type: 'srt', mode: 'listener', local_addr: '0.0.0.0:9000', latency_ms: 200 };

describe('flow commands', () => {
  it('accepts create_flow with an SRT listener input (inline v1 form and by reference)', () => {
    expect(check('create_flow', { flow: { id: 'main', name: 'Main feed', input: srtListener, outputs: [] } })).toBeUndefined();
    expect(check('create_flow', { flow: { id: 'main', name: 'Main', input_ids: ['srt-in'], output_ids: ['udp-out'], future_field: 1 } })).toBeUndefined();
  });

  it('rejects a port of 70000 naming the field', () => {
    const message = check('create_flow', { flow: { id: 'main', name: 'Main', input: { ...srtListener, local_addr: '0.0.0.0:70000' } } });
    expect(message).toMatch(/flow\.input\.local_addr/);
    expect(message).toMatch(/65535/);
  });

  it('rejects missing ids, unknown input types and SRT callers without remote_addr', () => {
    expect(check('create_flow', { flow: { name: 'x' } })).toMatch(/flow\.id/);
    expect(check('create_flow', { flow: { id: 'a', name: 'x', input: { type: 'carrier_pigeon' } } })).toMatch(/flow\.input\.type/);
    expect(check('create_flow', { flow: { id: 'a', name: 'x', input: { type: 'srt', mode: 'caller' } } })).toMatch(/remote_addr/);
    expect(check('start_flow', {})).toMatch(/flow_id/);
    expect(check('start_flow', { flow_id: 'main', extra: true })).toMatch(/extra/);
  });

  it('bounds the lip-sync offset and defaults reset scope', () => {
    expect(check('set_master_clock_lipsync', { flow_id: 'f', lipsync_offset_90k: -18000 })).toBeUndefined();
    expect(check('set_master_clock_lipsync', { flow_id: 'f', lipsync_offset_90k: 18001 })).toMatch(/lipsync_offset_90k/);
    const reset = driver.commands.find((c) => c.name === 'reset_counters')!;
    expect(reset.params.validate({ flow_id: 'f' }).value).toEqual({ flow_id: 'f', scope: 'all' });
  });
});

describe('input and output commands', () => {
  it('validates protocol variants', () => {
    expect(
      check('create_input', { input: { id: 'rtp-in', name: 'RTP', type: 'rtp', bind_addr: '239.1.1.1:5000', interface_addr: '10.0.0.2' } })
    ).toBeUndefined();
    expect(check('create_input', { input: { id: 'rtsp', name: 'Cam', type: 'rtsp', rtsp_url: 'rtsp://cam.local/stream', transport: 'tcp' } })).toBeUndefined();
    expect(
      check('create_input', { input: { id: 'a', name: 'A', type: 'st2110_30', bind_addr: '239.10.0.1:5004', channels: 8, sample_rate: 48000 } })
    ).toBeUndefined();
    expect(check('create_input', { input: { id: 'a', name: 'A', type: 'st2110_20', bind_addr: '239.10.0.1:5004' } })).toMatch(/input\.width/);
    expect(check('create_input', { input: { type: 'udp', bind_addr: '0.0.0.0:5000' } })).toMatch(/input\.id/);
    expect(check('create_input', { input: { id: 'a', name: 'A', type: 'rtsp', rtsp_url: 'http://x/' } })).toMatch(/rtsp_url/);
    expect(check('add_output', { flow_id: 'main', output: { id: 'o', name: 'O', type: 'udp', dest_addr: '239.1.1.1:5000' } })).toBeUndefined();
    expect(check('add_output', { flow_id: 'main', output: { id: 'o', name: 'O', type: 'udp' } })).toMatch(/output\.dest_addr/);
    expect(check('create_output', { output: { id: 'h', name: 'H', type: 'hls', ingest_url: 'https://cdn.example.com/live' } })).toBeUndefined();
    expect(check('create_output', { output: { id: 'r', name: 'R', type: 'rtmp', dest_url: 'rtmp://a/live' } })).toMatch(/stream_key/);
    expect(check('create_output', { output: { id: 'w', name: 'W', type: 'webrtc', mode: 'whip_client' } })).toMatch(/whip_url/);
    expect(check('create_output', { output: { id: 's', name: 'S', type: 'st2110_40', dest_addr: '239.1.1.9:5006', dscp: 46 } })).toBeUndefined();
    expect(check('create_output', { output: { id: 's', name: 'S', type: 'st2110_40', dest_addr: '239.1.1.9:5006', dscp: 64 } })).toMatch(/dscp/);
  });

  it('activate_output needs active', () => {
    expect(check('activate_output', { flow_id: 'f', output_id: 'o', active: false })).toBeUndefined();
    expect(check('activate_output', { flow_id: 'f', output_id: 'o' })).toMatch(/active/);
    expect(check('activate_input', { flow_id: 'f', input_id: 'i', splice_mode_override: 'pes_aligned' })).toBeUndefined();
    expect(check('activate_input', { flow_id: 'f', input_id: 'i', splice_mode_override: 'nope' })).toMatch(/splice_mode_override/);
  });
});

describe('tunnel, flow group, PTP and system commands', () => {
  const key = 'a'.repeat(64);
  const relayTunnel = {
    id: '0b6f1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d',
    name: 'syd-per',
    enabled: true,
    protocol: 'udp',
    mode: 'relay',
    direction: 'egress',
    local_addr: '0.0.0.0:9100',
    relay_addr: 'relay.example.com:4433',
    tunnel_encryption_key: key,
    tunnel_bind_secret: key
  };

  it('validates tunnels', () => {
    expect(check('create_tunnel', { tunnel: relayTunnel })).toBeUndefined();
    expect(check('create_tunnel', { tunnel: { ...relayTunnel, relay_addr: undefined } })).toMatch(/relay_addr/);
    expect(check('create_tunnel', { tunnel: { ...relayTunnel, direction: 'sideways' } })).toMatch(/tunnel\.direction/);
    expect(check('create_tunnel', { tunnel: { ...relayTunnel, tunnel_bind_secret: 'short' } })).toMatch(/tunnel_bind_secret/);
    expect(check('delete_tunnel', { tunnel_id: relayTunnel.id })).toBeUndefined();
    expect(check('delete_tunnel', { tunnel_id: 'nope' })).toMatch(/tunnel_id/);
  });

  it('validates flow groups', () => {
    expect(check('add_flow_group', { flow_group: { id: 'g1', name: 'Studio A', clock_domain: 0, flow_ids: ['aud', 'anc'] } })).toBeUndefined();
    expect(check('add_flow_group', { flow_group: { id: 'g1', name: 'A', clock_domain: 300 } })).toMatch(/clock_domain/);
    expect(check('add_essence_flow', { flow_group_id: 'g1', flow_id: 'aud' })).toBeUndefined();
  });

  it('validates PTP mode', () => {
    expect(check('set_ptp_mode', { mode: 'slave-only', iface: 'eth0', domain: 127 })).toBeUndefined();
    expect(check('set_ptp_mode', { mode: 'boss' })).toMatch(/mode/);
    expect(check('set_ptp_mode', { mode: 'auto', iface: 'eth0; rm -rf /' })).toMatch(/iface/);
  });

  it('validates config, secret and upgrade', () => {
    expect(check('update_config', { config: { version: 2, server: {}, flows: [], inputs: [], outputs: [] } })).toBeUndefined();
    expect(check('update_config', { config: { version: 1, flows: [] } })).toMatch(/config\.version/);
    expect(check('rotate_secret', { new_secret: 'x'.repeat(32) })).toBeUndefined();
    expect(check('rotate_secret', {})).toMatch(/new_secret/);
    expect(check('upgrade_binary', { version: '0.9.1', channel: 'stable' })).toBeUndefined();
    expect(check('upgrade_binary', { version: 'latest', channel: 'stable' })).toMatch(/version/);
    expect(check('get_config', {})).toBeUndefined();
  });
});
