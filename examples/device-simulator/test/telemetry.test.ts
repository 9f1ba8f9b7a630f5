import { EDGE_CAPABILITIES, THUMBNAIL_JPEG_BASE64, rfc3339Nanos } from '../src';
import { RFC3339_NANOS, useManager } from './scripted-manager';

const ctx = useManager();

describe('edge telemetry', () => {
  it('sends health, health and the flows: [] fallback stats right after auth, then full stats', async () => {
    const { peer } = await ctx.online({ kind: 'edge', name: 'edge-a', flows: 2 });
    const fullStats = await peer.takeType('stats', (f) => f.payload.flows.length > 0);
    expect(peer.frames.slice(1, 4).map((f) => f.type)).toEqual(['health', 'health', 'stats']);
    const fallback = peer.frames[3].payload;
    expect(fallback.flows).toEqual([]);
    expect(fallback).toMatchObject({ active_flows: 2, total_flows: 2, tunnels: [] });

    const s = fullStats.payload;
    expect(s).toMatchObject({ active_flows: 2, total_flows: 2, tunnels: [], standby_inputs: [] });
    expect(s.system_resources).toEqual({
      cpu_percent: expect.any(Number),
      ram_percent: expect.any(Number),
      ram_used_mb: expect.any(Number),
      ram_total_mb: 8000
    });
    expect(s.flows[0]).toMatchObject({
      flow_id: 'flow-1',
      flow_name: 'edge-a feed 1',
      state: 'Running',
      health: 'Healthy',
      active_input_id: 'in-1',
      input: { input_type: 'srt', state: 'receiving', mode: 'listener', local_addr: '0.0.0.0:9001', packets_lost: 0 },
      outputs: [{ output_id: 'out-1', output_name: 'UDP out 1', output_type: 'udp', state: 'active', dest_addr: '239.1.0.1:5000' }]
    });
    for (const flow of s.flows) {
      expect(flow.input.bitrate_bps).toBeGreaterThanOrEqual(4_900_000);
      expect(flow.input.bitrate_bps).toBeLessThanOrEqual(10_200_000);
    }

    const health = peer.frames[1].payload;
    expect(health).toMatchObject({ status: 'ok', version: '0.106.0', active_flows: 2, total_flows: 2, monitor_addr: null, ptp_mode: 'auto' });
    expect(health.capabilities).toEqual(EDGE_CAPABILITIES);
    expect(health.capabilities).toContain('st2110-30');
    expect(health.ptp_state.lock_state).toBe('unavailable');
    expect(health.api_addr).toMatch(/^10\.\d+\.\d+\.\d+:8080$/);
  });

  it('counters grow with the bitrate from one sample to the next', async () => {
    const { peer } = await ctx.online({ kind: 'edge', flows: 1 });
    const a = (await peer.takeType('stats', (f) => f.payload.flows.length > 0)).payload.flows[0];
    const b = (await peer.takeType('stats', (f) => f.payload.flows[0]?.input.bytes_received > a.input.bytes_received)).payload.flows[0];
    expect(b.outputs[0].bytes_sent).toBe(b.input.bytes_received);
    expect(b.input.bytes_received % 1316).toBe(0);
    expect(b.input.packets_received).toBe(b.input.bytes_received / 1316);
  });

  it('stamps every envelope after auth with an RFC 3339 nanosecond timestamp and a payload', async () => {
    const { peer } = await ctx.online({ kind: 'edge' });
    await peer.takeType('event', (f) => f.payload.message === 'Connected to manager');
    for (const frame of peer.frames.slice(1)) {
      expect(frame.timestamp).toMatch(RFC3339_NANOS);
      expect(frame).toHaveProperty('payload');
    }
  });

  it('sends thumbnails of running flows that capture them', async () => {
    const { peer } = await ctx.online({ kind: 'edge', flows: 2, thumbnail_interval_ms: 30 });
    const thumb = await peer.takeType('thumbnail', (f) => f.payload.flow_id === 'Studio feed 2');
    expect(thumb.payload).toEqual({ flow_id: 'Studio feed 2', data: THUMBNAIL_JPEG_BASE64, width: 320, height: 180 });
  });

  it('queues events raised while offline (bounded at 4096, newest dropped) and flushes them after auth', async () => {
    const device = ctx.device({ kind: 'edge', credentials: { node_id: 'n', node_secret: 's' } });
    for (let i = 0; i < 4100; i++) device.raiseEvent({ severity: 'info', category: 'test', message: `event ${i}`, flow_id: 'flow-1' });
    const peer = await ctx.manager.nextPeer();
    await peer.authenticate();
    await peer.takeType('event', (f) => f.payload.message === 'Connected to manager');
    const queued = peer.frames.filter((f) => f.type === 'event' && f.payload.category === 'test');
    expect(queued).toHaveLength(4096);
    expect(queued[0].payload).toEqual({
      severity: 'info',
      category: 'test',
      message: 'event 0',
      flow_id: 'flow-1',
      input_id: null,
      output_id: null,
      details: null
    });
    expect(queued[4095].payload.message).toBe('event 4095');
  });

  it('sends a raised event at once when online', async () => {
    const { device, peer } = await ctx.online({ kind: 'edge' });
    device.raiseEvent({ severity: 'critical', category: 'port_conflict', message: 'boom', input_id: 'in-1', details: { error_code: 'port_conflict' } });
    const event = await peer.takeType('event', (f) => f.payload.category === 'port_conflict');
    expect(event.payload).toEqual({
      severity: 'critical',
      category: 'port_conflict',
      message: 'boom',
      input_id: 'in-1',
      details: { error_code: 'port_conflict' },
      flow_id: null,
      output_id: null
    });
    // Keys sorted at every depth, as serde_json writes them: `type` comes last.
    expect(peer.texts.find((text) => text.includes('port_conflict'))).toMatch(
      /^\{"payload":\{"category":"port_conflict","details":\{"error_code":"port_conflict"\},"flow_id":null,"input_id":"in-1",.*\},"timestamp":"[^"]+\+00:00","type":"event"\}$/
    );
  });
});

describe('relay telemetry', () => {
  it('sends the health/health/stats burst with relay shapes', async () => {
    const { peer } = await ctx.online({ kind: 'relay' });
    await peer.takeType('stats');
    expect(peer.frames.slice(1, 4).map((f) => f.type)).toEqual(['health', 'health', 'stats']);
    expect(peer.frames[1].payload).toMatchObject({
      status: 'ok',
      version: '0.10.6',
      connected_edges: 2,
      public_quic_addr: null,
      capabilities: ['udp-relay', 'viewer-distribution']
    });
    // Edges are listed under the ids they gave themselves, spaces and accents included.
    expect(peer.frames[3].payload).toMatchObject({
      tunnels: [],
      udp_sessions: [],
      edges: [{ edge_id: 'Studio edge 1' }, { edge_id: 'Ü-Wagen 2 (backup)' }],
      connected_edges: 2,
      total_bytes_forwarded: 0
    });
  });

  it('drops input_id/output_id from events (relays only scope by flow_id)', async () => {
    const { device, peer } = await ctx.online({ kind: 'relay' });
    device.raiseEvent({ severity: 'warning', category: 'tunnel', message: 'slow', flow_id: 't1', input_id: 'x', output_id: 'y' });
    const event = await peer.takeType('event', (f) => f.payload.category === 'tunnel');
    expect(event.payload).toEqual({ severity: 'warning', category: 'tunnel', message: 'slow', flow_id: 't1', details: null });
  });
});

describe('gateway telemetry', () => {
  it('sends no health right after auth: the first message is a stats snapshot with flows[]', async () => {
    const { peer } = await ctx.online({ kind: 'gateway', flows: 2 });
    const stats = await peer.takeType('stats');
    expect(peer.frames[1]).toBe(stats);
    expect(stats.payload).toMatchObject({ active_flows: 2, total_flows: 2, alarms: [], slots: { '1': { card: 'IP Gateway' } } });
    expect(stats.payload.flows[0]).toMatchObject({ flow_id: 'slot1-ipin-1', flow_name: 'IP input 1', input: { input_type: 'srt' }, outputs: [] });
    expect(stats.payload.inputs['1']).toHaveLength(2);
    expect(peer.frames.some((f) => f.type === 'event')).toBe(false);
  });

  it('heartbeat health reflects the chassis alarms', async () => {
    const { peer } = await ctx.online({ kind: 'gateway', health_interval_ms: 30, alarms: [{ severity: 'MAJOR', description: 'Input loss' }] });
    const health = await peer.takeType('health');
    expect(health.payload).toMatchObject({
      status: 'critical',
      alarms: [{ severity: 'MAJOR', description: 'Input loss' }],
      version: '0.11.8',
      capabilities: ['upgrade'],
      gateway_target: { reachable: true, consecutive_failures: 0 }
    });
  });

  it('sends thumbnails as image_base64 when enabled', async () => {
    const { peer } = await ctx.online({ kind: 'gateway', thumbnail_interval_ms: 30 });
    const thumb = await peer.takeType('thumbnail');
    expect(thumb.payload).toEqual({ flow_id: 'slot1-ipin-1', image_base64: THUMBNAIL_JPEG_BASE64 });
  });
});

describe('building blocks', () => {
  it('rfc3339Nanos has nine fraction digits, +00:00, and tracks the wall clock', () => {
    const before = Date.now();
    const stamp = rfc3339Nanos();
    expect(stamp).toMatch(RFC3339_NANOS);
    const ms = Date.parse(stamp.slice(0, 23) + 'Z');
    expect(Math.abs(ms - before)).toBeLessThan(1000);
    expect(rfc3339Nanos() > stamp).toBe(true);
  });

  it('the thumbnail is a baseline JPEG of 320×180', () => {
    const jpeg = Buffer.from(THUMBNAIL_JPEG_BASE64, 'base64');
    expect(jpeg.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    expect(jpeg.subarray(-2)).toEqual(Buffer.from([0xff, 0xd9]));
    const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
    expect(sof).toBeGreaterThan(0);
    expect(jpeg.readUInt16BE(sof + 5)).toBe(180);
    expect(jpeg.readUInt16BE(sof + 7)).toBe(320);
  });
});
