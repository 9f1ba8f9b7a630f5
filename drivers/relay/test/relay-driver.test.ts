import { describeDriverProblem, type CommandCheckInput, type HealthInput } from '@bilbycast/driver-sdk';
import defaultExport, { driver, RELAY_COMMAND_TIMEOUT_MS } from '../src';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const joiToJson = require('joi-to-json') as (schema: unknown, type: string) => Record<string, unknown>;

const TUNNEL = '0b6f1d2e-3c4b-4a5d-8e6f-7a8b9c0d1e2f';
const HEX64 = 'a'.repeat(32) + '0123456789abcdef0123456789ABCDEF';

const command = (name: string) => {
  const found = driver.commands.find((c) => c.name === name);
  if (!found) throw new Error(`no command ${name}`);
  return found;
};
const validate = (name: string, params: unknown) => command(name).params.validate(params, { abortEarly: false });

const EXAMPLE_STATS = {
  tunnels: [
    {
      tunnel_id: '0b6f…',
      protocol: 'udp',
      status: 'active',
      ingress_edge_id: '5e2d…',
      egress_edge_id: '77aa…',
      ingress_remote_addr: '203.0.113.7:50211',
      egress_remote_addr: '198.51.100.9:40100',
      stats: { bytes_ingress: 1234, bytes_egress: 1200, tcp_streams_total: 0, tcp_streams_active: 0, udp_datagrams_total: 10, uptime_secs: 60 }
    }
  ],
  udp_sessions: [
    { tunnel_id: '…', transport: 'udp', status: 'active', ingress_addr: '…', egress_addr: '…', bytes_ingress: 0, bytes_egress: 0, datagrams: 0, uptime_secs: 5 }
  ],
  udp_sessions_total: 1,
  udp_sessions_active: 1,
  edges: [{ edge_id: '5e2d…', remote_addr: '203.0.113.7:50211' }],
  connected_edges: 2,
  active_tunnels: 1,
  total_tunnels: 1,
  total_bytes_ingress: 1234,
  total_bytes_egress: 1200,
  total_bytes_forwarded: 2434,
  total_bandwidth_bps: 9000000,
  total_tcp_streams: 0,
  active_tcp_streams: 0,
  total_udp_datagrams: 10,
  peak_tunnels: 3,
  peak_edges: 4,
  connections_total: 17,
  uptime_secs: 3600
};

describe('relay driver definition', () => {
  it('conforms to the driver contract', () => {
    expect(describeDriverProblem(driver)).toBeNull();
    expect(defaultExport).toBe(driver);
    expect(driver.device_type).toBe('relay');
    expect(driver.display_name).toBe('Relay Server');
    expect(driver.ui_sections).toEqual(['tunnels', 'edges', 'config', 'events']);
    expect(driver.topology?.color).toMatch(/^#[0-9a-f]{6}$/i);
    expect(driver.ai_protocol).toContain('authorize_tunnel');
  });

  it('declares every relay command with its role, timeout and mutation flag', () => {
    const table = Object.fromEntries(driver.commands.map((c) => [c.name, [c.requires_role, c.mutates]]));
    expect(table).toEqual({
      get_config: ['operator', false],
      list_tunnels: ['operator', false],
      list_edges: ['operator', false],
      list_udp_sessions: ['operator', false],
      disconnect_edge: ['admin', true],
      close_tunnel: ['admin', true],
      close_udp_session: ['admin', true],
      authorize_tunnel: ['admin', true],
      revoke_tunnel: ['admin', true],
      configure_distribution: ['admin', true],
      rotate_secret: ['admin', true]
    });
    expect(RELAY_COMMAND_TIMEOUT_MS).toBe(15_000);
    for (const c of driver.commands) expect(c.timeout_ms).toBe(15_000);
  });

  it.each(driver.commands.map((c) => [c.name, c]))('%s params convert to JSON Schema', (_name, c) => {
    const json = joiToJson(c.params, 'json');
    expect(json.type).toBe('object');
  });
});

describe('relay command parameters', () => {
  it('accepts commands without parameters only empty', () => {
    for (const name of ['get_config', 'list_tunnels', 'list_edges', 'list_udp_sessions']) {
      expect(validate(name, {}).error).toBeUndefined();
      expect(validate(name, { extra: 1 }).error?.message).toContain('"extra" is not allowed');
    }
  });

  it('validates tunnel ids as UUIDs', () => {
    for (const name of ['close_tunnel', 'close_udp_session', 'revoke_tunnel']) {
      expect(validate(name, { tunnel_id: TUNNEL }).error).toBeUndefined();
      expect(validate(name, {}).error?.message).toContain('"tunnel_id" is required');
      expect(validate(name, { tunnel_id: 'main' }).error?.message).toContain('"tunnel_id" must be a valid GUID');
    }
  });

  it('validates disconnect_edge', () => {
    expect(validate('disconnect_edge', { edge_id: '5e2d9c1a-node' }).error).toBeUndefined();
    expect(validate('disconnect_edge', {}).error?.message).toContain('"edge_id" is required');
    // The relay lists edges by whatever id they gave themselves: spaces and accents included.
    expect(validate('disconnect_edge', { edge_id: 'Studio edge 1 (Ü-Wagen)' }).error).toBeUndefined();
    expect(validate('disconnect_edge', { edge_id: 'line\nbreak' }).error?.message).toContain('must not contain control characters');
    expect(validate('disconnect_edge', { edge_id: 'é'.repeat(129) }).error?.message).toContain('at most 256 bytes');
    expect(validate('disconnect_edge', { edge_id: '' }).error?.message).toContain('"edge_id"');
  });

  it('validates authorize_tunnel tokens', () => {
    expect(validate('authorize_tunnel', { tunnel_id: TUNNEL, ingress_token: HEX64, egress_token: HEX64 }).error).toBeUndefined();
    const missing = validate('authorize_tunnel', { tunnel_id: TUNNEL, ingress_token: HEX64 });
    expect(missing.error?.message).toContain('"egress_token" is required');
    const notHex = validate('authorize_tunnel', { tunnel_id: TUNNEL, ingress_token: 'zz', egress_token: HEX64 });
    expect(notHex.error?.message).toContain('"ingress_token" must be a hex string');
  });

  it('validates configure_distribution', () => {
    const full = {
      token_secret: HEX64,
      require_viewer_token: true,
      require_ingest_token: false,
      public_ip: '203.0.113.10',
      public_base_url: 'https://relay.example.com/live',
      cascade_sources: ['https://origin.example.com']
    };
    expect(validate('configure_distribution', full).error).toBeUndefined();
    expect(validate('configure_distribution', { require_viewer_token: false }).error).toBeUndefined();
    expect(validate('configure_distribution', {}).error?.message).toContain('must set at least one distribution field');
    expect(validate('configure_distribution', { token_secret: 'abc' }).error?.message).toContain('"token_secret" must be 64 hex characters');
    expect(validate('configure_distribution', { token_secret: 'g'.repeat(64) }).error?.message).toContain('"token_secret"');
    expect(validate('configure_distribution', { public_base_url: 'ftp://x.example' }).error?.message).toContain('"public_base_url"');
    expect(validate('configure_distribution', { public_ip: 'not-an-ip' }).error?.message).toContain('"public_ip"');
    expect(validate('configure_distribution', { require_viewer_token: 'maybe' }).error?.message).toContain('"require_viewer_token" must be a boolean');
    expect(validate('configure_distribution', { cascade_sources: 'x' }).error?.message).toContain('"cascade_sources" must be an array');
  });

  it('validates rotate_secret', () => {
    expect(validate('rotate_secret', { new_secret: HEX64 }).error).toBeUndefined();
    expect(validate('rotate_secret', {}).error?.message).toContain('"new_secret" is required');
    expect(validate('rotate_secret', { new_secret: 'short' }).error?.message).toContain('"new_secret"');
  });
});

describe('relay summarize', () => {
  const summarize = driver.summarize!;

  it('summarises the protocol example', () => {
    const summary = summarize(EXAMPLE_STATS);
    expect(summary).toMatchObject({ tunnels_active: 1, tunnels_total: 1, bitrate_bps: 9_000_000, uptime_secs: 3600 });
    expect(summary.metrics).toMatchObject({
      connected_edges: 2,
      total_bytes_ingress: 1234,
      total_bytes_egress: 1200,
      total_bytes_forwarded: 2434,
      peak_tunnels: 3,
      peak_edges: 4,
      connections_total: 17,
      udp_sessions_active: 1,
      udp_sessions_total: 1,
      total_tcp_streams: 0,
      total_udp_datagrams: 10
    });
  });

  it('accepts the whole stats envelope and the distribution block', () => {
    const summary = summarize({ type: 'stats', payload: { ...EXAMPLE_STATS, distribution: { viewers: 12, streams: 2 } } });
    expect(summary.tunnels_active).toBe(1);
    expect(summary.metrics).toMatchObject({ distribution_viewers: 12, distribution_streams: 2 });
  });

  it('falls back to the lists when the counters are missing', () => {
    const summary = summarize({ tunnels: EXAMPLE_STATS.tunnels, edges: EXAMPLE_STATS.edges });
    expect(summary).toMatchObject({ tunnels_active: 1, tunnels_total: 1, metrics: { connected_edges: 1 } });
  });

  it.each([
    null,
    undefined,
    'x',
    42,
    [],
    { tunnels: 'no' },
    { tunnels: [null, 1, 'x'], edges: {}, total_bandwidth_bps: 'fast', uptime_secs: -1, distribution: 'x' }
  ])('never throws on %p', (garbage) => {
    expect(() => summarize(garbage)).not.toThrow();
    const summary = summarize(garbage);
    expect(summary.metrics).toBeDefined();
    expect(summary.bitrate_bps).toBeUndefined();
  });
});

describe('relay health and severity', () => {
  const derive = driver.deriveHealth!;
  const input = (partial: Partial<HealthInput>): HealthInput => ({ health: { status: 'ok' }, stats: null, active_alarms: [], ...partial });

  it('derives health', () => {
    expect(derive(input({}))).toBe('healthy');
    expect(derive(input({ health: null }))).toBe('healthy');
    expect(derive(input({ active_alarms: [{ severity: 'warning', raw_severity: 'warning', category: 'edge' }] }))).toBe('warning');
    expect(derive(input({ active_alarms: [{ severity: 'critical', raw_severity: 'critical', category: 'tunnel' }] }))).toBe('critical');
    expect(derive(input({ health: { status: 'critical' } }))).toBe('critical');
    expect(derive(input({ health: { status: 'degraded' } }))).toBe('warning');
  });

  it('maps event severities', () => {
    const map = driver.mapEventSeverity!;
    expect(map('critical')).toBe('critical');
    expect(map('major')).toBe('critical');
    expect(map('warning')).toBe('warning');
    expect(map('minor')).toBe('warning');
    expect(map('info')).toBe('info');
    expect(map('whatever')).toBe('info');
    expect(map(undefined as unknown as string)).toBe('info');
  });
});

describe('relay write-back guard', () => {
  const registered = Date.UTC(2026, 11, 2, 10, 0, 0);
  const input = (over: Partial<CommandCheckInput>): CommandCheckInput => ({
    command: 'rotate_secret',
    registered_at: new Date(registered).toISOString(),
    connected_at: new Date(registered).toISOString(),
    secret_rotation_pending: false,
    now_ms: registered + 60_000,
    health: null,
    health_at_ms: null,
    stats: null,
    stats_at_ms: null,
    ...over
  });

  it('refuses while the relay runs the process that registered, from its freshest uptime report', () => {
    // Started 2 s before it registered, reported 60 s later.
    const refusal = driver.refuseCommand!(input({ stats: { uptime_secs: 62 }, stats_at_ms: registered + 60_000 }));
    expect(refusal).toMatchObject({ error_code: 'relay_restart_required' });
    expect(driver.refuseCommand!(input({ command: 'configure_distribution', health: { uptime_secs: 30 }, health_at_ms: registered + 28_000 }))).toMatchObject({
      error_code: 'relay_restart_required'
    });
    // A stale health from before the restart is outweighed by fresher stats.
    expect(
      driver.refuseCommand!(
        input({
          health: { uptime_secs: 500 },
          health_at_ms: registered + 100_000,
          stats: { uptime_secs: 20 },
          stats_at_ms: registered + 300_000,
          now_ms: registered + 300_000
        })
      )
    ).toBeNull();
  });

  it('allows after a restart (with a minute of margin for late or rounded uptimes), other commands always, and refuses when the uptime is unknown', () => {
    expect(driver.refuseCommand!(input({ stats: { uptime_secs: 10 }, stats_at_ms: registered + 300_000 }))).toBeNull();
    // A restart 50 s after registering is within the margin: refused, the safe side.
    expect(driver.refuseCommand!(input({ stats: { uptime_secs: 10 }, stats_at_ms: registered + 60_000 }))).toMatchObject({
      error_code: 'relay_restart_required'
    });
    expect(driver.refuseCommand!(input({ registered_at: 'not a date', stats: { uptime_secs: 10 }, stats_at_ms: registered + 300_000 }))).toMatchObject({
      error_code: 'relay_restart_required'
    });
    expect(driver.refuseCommand!(input({ command: 'list_tunnels', stats: { uptime_secs: 99 }, stats_at_ms: registered + 60_000 }))).toBeNull();
    expect(driver.refuseCommand!(input({ stats: { uptime_secs: 'soon' }, stats_at_ms: registered }))).toMatchObject({ error_code: 'relay_uptime_unknown' });
    // Never registered with a token (or before the manager recorded it): nothing to protect.
    expect(driver.refuseCommand!(input({ registered_at: null }))).toBeNull();
  });

  it('refuses configure_distribution while a rotation is unconfirmed (it would save the old secret back), even long after registering', () => {
    const restarted = { stats: { uptime_secs: 10 }, stats_at_ms: registered + 300_000 };
    expect(driver.refuseCommand!(input({ command: 'configure_distribution', secret_rotation_pending: true, ...restarted }))).toMatchObject({
      error_code: 'relay_restart_required',
      message: expect.stringMatching(/old secret/)
    });
    expect(driver.refuseCommand!(input({ command: 'configure_distribution', secret_rotation_pending: false, ...restarted }))).toBeNull();
  });

  it('declares the secrets of its config_response, distribution.token_secret included', () => {
    expect(driver.config_secrets).toEqual(
      expect.arrayContaining(['distribution.token_secret', 'api_token', 'manager.node_secret', 'manager.registration_token'])
    );
  });
});
