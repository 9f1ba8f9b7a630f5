import { defaultDeriveHealth, type HealthInput } from '@bilbycast/driver-sdk';
import driver, { deriveHealth, summarize } from '../src';

const mapEventSeverity = driver.mapEventSeverity!;

const example = {
  flows: [
    {
      flow_id: 'main',
      flow_name: 'Main feed',
      state: 'Running',
      health: 'Healthy',
      active_input_id: 'srt-in',
      uptime_secs: 812,
      input: {
        input_type: 'srt',
        state: 'receiving',
        mode: 'listener',
        local_addr: '0.0.0.0:9000',
        packets_received: 1048576,
        bytes_received: 197132288,
        bitrate_bps: 8000000,
        packets_lost: 0,
        packets_filtered: 0,
        packets_recovered_fec: 0,
        redundancy_switches: 0
      },
      outputs: [
        {
          output_id: 'udp-out',
          output_name: 'Playout',
          output_type: 'udp',
          state: 'active',
          dest_addr: '239.1.1.1:5000',
          packets_sent: 1048570,
          bytes_sent: 197131160,
          bitrate_bps: 8000000,
          packets_dropped: 0,
          fec_packets_sent: 0
        }
      ]
    }
  ],
  tunnels: [
    {
      id: '0b6f…',
      name: 'syd-per',
      protocol: 'udp',
      mode: 'relay',
      direction: 'egress',
      local_addr: '0.0.0.0:9100',
      state: 'ready',
      relay_addrs: ['relay.example.com:4433'],
      active_relay_idx: 0,
      active_relay_addr: 'relay.example.com:4433',
      stats: {
        packets_sent: 1,
        packets_received: 0,
        bytes_sent: 1316,
        bytes_received: 0,
        bitrate_in_bps: 0,
        bitrate_out_bps: 8100000,
        send_errors: 0,
        decrypt_errors: 0,
        connections_total: 0,
        connections_active: 0
      }
    }
  ],
  uptime_secs: 86400,
  active_flows: 1,
  total_flows: 1,
  system_resources: { cpu_percent: 12.5, ram_percent: 41.0, ram_used_mb: 3280, ram_total_mb: 8000 },
  standby_inputs: []
};

describe('summarize', () => {
  it('computes the PROTOCOL.md §12.2 example', () => {
    const s = summarize(example);
    expect(s).toMatchObject({ flows_active: 1, flows_total: 1, tunnels_active: 1, tunnels_total: 1, bitrate_bps: 16_100_000, uptime_secs: 86400 });
    expect(s.metrics).toMatchObject({ cpu_percent: 12.5, ram_percent: 41 });
  });

  it('counts Idle flows in the total only and non-ready tunnels in the total only', () => {
    const s = summarize({
      ...example,
      flows: [...example.flows, { flow_id: 'b', state: 'Idle', input: { bitrate_bps: 0 } }],
      tunnels: [...example.tunnels, { id: 't2', state: 'down', stats: { bitrate_in_bps: 300, bitrate_out_bps: 100 } }]
    });
    expect(s).toMatchObject({ flows_active: 1, flows_total: 2, tunnels_active: 1, tunnels_total: 2, bitrate_bps: 16_100_300 });
  });

  it('handles the flows: [] fallback sample', () => {
    const s = summarize({ flows: [], tunnels: [], uptime_secs: 5, active_flows: 2, total_flows: 2 });
    expect(s).toMatchObject({ flows_active: 2, flows_total: 2, tunnels_active: 0, tunnels_total: 0, bitrate_bps: 0, uptime_secs: 5 });
  });

  it.each([null, undefined, 'x', 42, [], { flows: 'no' }, { flows: [null, 1, 'a', { input: 'x' }], tunnels: [{ stats: null }] }, { uptime_secs: NaN }])(
    'does not throw on %p',
    (value) => {
      expect(() => summarize(value)).not.toThrow();
      expect(summarize(value).metrics).toBeDefined();
    }
  );
});

describe('deriveHealth', () => {
  const base: HealthInput = { health: { status: 'ok' }, stats: example, active_alarms: [] };
  const alarm = (severity: 'info' | 'warning' | 'critical') => ({ severity, raw_severity: severity, category: 'srt' });

  it('is healthy with no alarms and healthy flows', () => {
    expect(deriveHealth(base)).toBe('healthy');
  });
  it('follows alarms', () => {
    expect(deriveHealth({ ...base, active_alarms: [alarm('info')] })).toBe('healthy');
    expect(deriveHealth({ ...base, active_alarms: [alarm('warning')] })).toBe('warning');
    expect(deriveHealth({ ...base, active_alarms: [alarm('warning'), alarm('critical')] })).toBe('critical');
  });
  it('follows running flow health', () => {
    const withHealth = (health: string, state = 'Running') => ({ ...base, stats: { flows: [{ ...example.flows[0], state, health }] } });
    expect(deriveHealth(withHealth('Warning'))).toBe('warning');
    expect(deriveHealth(withHealth('Error'))).toBe('critical');
    expect(deriveHealth(withHealth('Critical'))).toBe('critical');
    expect(deriveHealth(withHealth('Critical', 'Idle'))).toBe('healthy');
  });
  it('follows health.status', () => {
    expect(deriveHealth({ ...base, health: { status: 'degraded' } })).toBe('warning');
    expect(deriveHealth({ ...base, health: { status: 'critical' } })).toBe('critical');
  });
  it('tolerates garbage', () => {
    expect(deriveHealth({ health: null, stats: 'x', active_alarms: [] })).toBe('healthy');
    expect(deriveHealth({ health: 5, stats: { flows: [null, 'x'] }, active_alarms: [] })).toBe('healthy');
    expect(defaultDeriveHealth({ health: null, stats: null, active_alarms: [] })).toBe('healthy');
  });
});

describe('mapEventSeverity', () => {
  it.each([
    ['info', 'info'],
    ['warning', 'warning'],
    ['critical', 'critical'],
    ['minor', 'warning'],
    ['major', 'critical'],
    ['CRITICAL', 'critical'],
    ['Warning', 'warning'],
    ['whatever', 'info'],
    ['', 'info']
  ])('%s → %s', (raw, expected) => {
    expect(mapEventSeverity(raw)).toBe(expected);
  });
  it('tolerates non-strings', () => {
    expect(mapEventSeverity(undefined as unknown as string)).toBe('info');
  });
});
