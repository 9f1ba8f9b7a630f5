import { describeDriverProblem, type HealthInput } from '@bilbycast/driver-sdk';
import defaultExport, { APPEAR_X_UPGRADE_TIMEOUT_MS, driver } from '../src';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const joiToJson = require('joi-to-json') as (schema: unknown, type: string) => Record<string, any>;

const UUID = '3f2a9c1e-7b4d-4e8f-9a0b-1c2d3e4f5a6b';

const command = (name: string) => {
  const found = driver.commands.find((c) => c.name === name);
  if (!found) throw new Error(`no command ${name}`);
  return found;
};
const validate = (name: string, params: unknown) => command(name).params.validate(params, { abortEarly: false });

describe('appear_x driver definition', () => {
  it('conforms to the driver contract', () => {
    expect(describeDriverProblem(driver)).toBeNull();
    expect(defaultExport).toBe(driver);
    expect(driver.device_type).toBe('appear_x');
    expect(driver.display_name).toBe('Appear X (via gateway)');
    expect(driver.ui_sections).toEqual(['inputs', 'outputs', 'alarms', 'config', 'events']);
    expect(driver.ai_protocol).toContain('set_coder_services');
  });

  it('declares the gateway commands named by the protocol', () => {
    const names = driver.commands.map((c) => c.name);
    for (const name of [
      'get_config',
      'get_inputs',
      'get_outputs',
      'get_services',
      'get_alarms',
      'get_ip_interfaces',
      'get_chassis',
      'set_ip_input',
      'set_ip_output',
      'set_coder_services',
      'install_license',
      'clear_all_counters',
      'upgrade_binary'
    ]) {
      expect(names).toContain(name);
    }
  });

  it('assigns roles, mutation flags and timeouts by kind', () => {
    for (const c of driver.commands) {
      if (c.name === 'install_license' || c.name === 'upgrade_binary') {
        expect([c.name, c.requires_role, c.mutates]).toEqual([c.name, 'admin', true]);
      } else if (c.name.startsWith('get_')) {
        expect([c.name, c.mutates]).toEqual([c.name, false]);
        expect(['viewer', 'operator']).toContain(c.requires_role);
      } else {
        // set_*, delete_*, clear_all_counters
        expect([c.name, c.requires_role, c.mutates]).toEqual([c.name, 'operator', true]);
      }
      expect(c.timeout_ms).toBeGreaterThanOrEqual(15_000);
    }
    expect(command('get_inputs').requires_role).toBe('viewer');
    expect(command('get_inputs').timeout_ms).toBe(15_000);
    expect(command('set_ip_input').timeout_ms).toBe(30_000);
    expect(command('upgrade_binary').timeout_ms).toBe(APPEAR_X_UPGRADE_TIMEOUT_MS);
    expect(APPEAR_X_UPGRADE_TIMEOUT_MS).toBeGreaterThanOrEqual(180_000);
  });

  it.each(driver.commands.map((c) => [c.name, c]))('%s params convert to JSON Schema', (_name, c) => {
    const json = joiToJson(c.params, 'json');
    expect(json.type).toBe('object');
  });

  it('publishes the slot with its default and bounds', () => {
    const json = joiToJson(command('get_inputs').params, 'json');
    expect(json.properties.slot).toMatchObject({ type: 'integer', minimum: 1, default: 1 });
  });
});

describe('appear_x command parameters', () => {
  it('defaults and validates the slot', () => {
    expect(validate('get_inputs', {}).value).toEqual({ slot: 1 });
    expect(validate('get_inputs', { slot: 3 }).error).toBeUndefined();
    expect(validate('get_inputs', { slot: 0 }).error?.message).toContain('"slot" must be greater than or equal to 1');
    expect(validate('get_inputs', { slot: 1.5 }).error?.message).toContain('"slot" must be an integer');
    expect(validate('get_inputs', { slot: 'two' }).error?.message).toContain('"slot" must be a number');
    expect(validate('get_inputs', { bogus: true }).error?.message).toContain('"bogus" is not allowed');
  });

  it('takes no slot on chassis-wide reads', () => {
    expect(validate('get_alarms', {}).error).toBeUndefined();
    expect(validate('get_chassis', { slot: 2 }).error?.message).toContain('"slot" is not allowed');
  });

  it('validates set_ip_input / set_ip_output rows', () => {
    expect(validate('set_ip_input', { slot: 2, inputs: [{ id: UUID, label: 'Cam 1', anything: { nested: true } }] }).error).toBeUndefined();
    expect(validate('set_ip_input', { inputs: [{ label: 'no id is fine' }] }).error).toBeUndefined();
    expect(validate('set_ip_input', {}).error?.message).toContain('"inputs" is required');
    expect(validate('set_ip_input', { inputs: [] }).error?.message).toContain('"inputs" must contain at least 1 items');
    expect(validate('set_ip_input', { inputs: ['x'] }).error?.message).toContain('"inputs[0]" must be of type object');
    expect(validate('set_ip_input', { inputs: [{ id: 'bad id;' }] }).error?.message).toContain('"inputs[0].id" must be a chassis object id');
    expect(validate('set_ip_output', { outputs: 'all' }).error?.message).toContain('"outputs" must be an array');
  });

  it('validates keyed set_* entries', () => {
    expect(validate('set_coder_services', { coder_services: [{ key: UUID, value: { name: 'enc1' } }] }).error).toBeUndefined();
    expect(validate('set_coder_services', {}).error?.message).toContain('"coder_services" is required');
    expect(validate('set_coder_services', { coder_services: [{ value: {} }] }).error?.message).toContain('"coder_services[0].key" is required');
    expect(validate('set_coder_services', { coder_services: [{ key: UUID, value: 3 }] }).error?.message).toContain(
      '"coder_services[0].value" must be of type object'
    );
    expect(validate('set_coder_services', { coder_services: [{ key: UUID, value: {} }], slot: -1 }).error?.message).toContain('"slot"');
  });

  it('validates delete_* ids', () => {
    expect(validate('delete_coder_services', { ids: [UUID] }).error).toBeUndefined();
    expect(validate('delete_coder_services', {}).error?.message).toContain('"ids" is required');
    expect(validate('delete_coder_services', { ids: [] }).error?.message).toContain('"ids" must contain at least 1 items');
    expect(validate('delete_coder_services', { ids: [UUID, UUID] }).error?.message).toContain('"ids[1]" contains a duplicate value');
    expect(validate('delete_coder_services', { ids: [''] }).error?.message).toContain('"ids[0]"');
  });

  it('validates free-form configuration payloads', () => {
    expect(validate('set_pool_config', { pool_config: { pools: [] } }).error).toBeUndefined();
    expect(validate('set_pool_config', { pool_config: 'x' }).error?.message).toContain('"pool_config" must be of type object');
    expect(validate('set_hip_encoders', {}).error?.message).toContain('"config" is required');
    expect(validate('get_scte35_history', { limit: 100, since_pts: 0 }).error).toBeUndefined();
    expect(validate('get_scte35_history', { limit: 0 }).error?.message).toContain('"limit"');
  });

  it('validates install_license and upgrade_binary', () => {
    expect(validate('install_license', { license: 'ABCD-EFGH' }).error).toBeUndefined();
    expect(validate('install_license', {}).error?.message).toContain('"license" is required');
    expect(validate('upgrade_binary', { version: '1.4.2' }).value).toEqual({ version: '1.4.2', channel: 'stable' });
    expect(validate('upgrade_binary', { version: 'v2.0.0-beta.1', channel: 'beta' }).error).toBeUndefined();
    expect(validate('upgrade_binary', { version: 'latest' }).error?.message).toContain('"version" must be a release version');
    expect(validate('upgrade_binary', { version: '1.0.0', channel: 'edge' }).error?.message).toContain('"channel" must be one of');
    expect(validate('clear_all_counters', {}).error).toBeUndefined();
  });
});

describe('appear_x summarize', () => {
  const summarize = driver.summarize!;

  it('summarises a gateway snapshot', () => {
    const snapshot = {
      status: 'degraded',
      uptime_secs: 7200,
      chassis_uptime_secs: 864000,
      alarms: [
        { alarmId: 'a1', severity: 'MAJOR', text: 'Input loss' },
        { alarmId: 'a2', severity: 'MINOR', text: 'CC errors' },
        { alarmId: 'a3', severity: 'WARNING' },
        { alarmId: 'a4' }
      ],
      slots: [{ slot: 1 }, { slot: 2 }],
      inputs: { '1': [{}, {}], '2': [{}] },
      outputs: [{}]
    };
    expect(summarize(snapshot)).toEqual({
      uptime_secs: 7200,
      metrics: {
        chassis_uptime_secs: 864000,
        alarms_active: 4,
        alarms_critical: 1,
        alarms_warning: 2,
        slots: 2,
        inputs: 3,
        outputs: 1
      }
    });
  });

  it('counts flows when a gateway sends them', () => {
    expect(summarize({ flows: [{ flow_id: 'a' }, { flow_id: 'b' }], active_flows: 1 })).toMatchObject({ flows_total: 2, flows_active: 1 });
  });

  it.each([
    null,
    undefined,
    'x',
    7,
    [],
    { tunnels: 'no' },
    { alarms: 'many', uptime_secs: 'long', slots: 3, inputs: { 1: 'x' } },
    { alarms: [null, 5, 'MAJOR'] }
  ])('never throws on %p', (garbage) => {
    expect(() => summarize(garbage)).not.toThrow();
    expect(summarize(garbage).metrics).toBeDefined();
  });
});

describe('appear_x health and severity', () => {
  const derive = driver.deriveHealth!;
  const input = (partial: Partial<HealthInput>): HealthInput => ({ health: { status: 'ok', alarms: [] }, stats: null, active_alarms: [], ...partial });
  const alarm = (raw: string, severity: 'info' | 'warning' | 'critical' = 'info') => ({ severity, raw_severity: raw, category: 'alarm' });

  it('is healthy without alarms', () => {
    expect(derive(input({}))).toBe('healthy');
    expect(derive(input({ health: null }))).toBe('healthy');
    expect(derive(input({ health: 'garbage', active_alarms: [alarm('info')] }))).toBe('healthy');
  });

  it('maps MAJOR/CRITICAL alarms and a critical status to critical', () => {
    expect(derive(input({ active_alarms: [alarm('major')] }))).toBe('critical');
    expect(derive(input({ active_alarms: [alarm('CRITICAL')] }))).toBe('critical');
    expect(derive(input({ active_alarms: [alarm('minor', 'critical')] }))).toBe('critical');
    expect(derive(input({ health: { status: 'critical' } }))).toBe('critical');
    expect(derive(input({ health: { status: 'ok', alarms: [{ severity: 'MAJOR' }] } }))).toBe('critical');
    expect(derive(input({ active_alarms: [alarm('minor')], health: { status: 'degraded', alarms: [{ severity: 'CRITICAL' }] } }))).toBe('critical');
  });

  it('maps MINOR/WARNING alarms and a degraded status to warning', () => {
    expect(derive(input({ active_alarms: [alarm('minor')] }))).toBe('warning');
    expect(derive(input({ active_alarms: [alarm('WARNING')] }))).toBe('warning');
    expect(derive(input({ health: { status: 'degraded' } }))).toBe('warning');
    expect(derive(input({ health: { status: 'ok', alarms: [{ severity: 'MINOR' }] } }))).toBe('warning');
  });

  it('maps event severities', () => {
    const map = driver.mapEventSeverity!;
    expect(map('major')).toBe('critical');
    expect(map('MAJOR')).toBe('critical');
    expect(map('critical')).toBe('critical');
    expect(map('minor')).toBe('warning');
    expect(map('warning')).toBe('warning');
    expect(map('info')).toBe('info');
    expect(map('cleared')).toBe('info');
    expect(map('something-new')).toBe('info');
    expect(map(null as unknown as string)).toBe('info');
  });
});
