import { describeDriverProblem } from '@bilbycast/driver-sdk';
import edgeDefault, { driver } from '../src';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const joiToJson = require('joi-to-json') as (schema: unknown, type: string) => unknown;

type Expect = [role: 'viewer' | 'operator' | 'admin', timeout: number, mutates: boolean];
const OP: Expect = ['operator', 15_000, true];

const REQUIRED: Record<string, Expect> = {
  create_flow: OP,
  update_flow: OP,
  delete_flow: OP,
  start_flow: OP,
  stop_flow: OP,
  restart_flow: OP,
  update_flow_assembly: OP,
  add_output: OP,
  remove_output: OP,
  add_input: OP,
  remove_input: OP,
  create_input: OP,
  update_input: OP,
  delete_input: OP,
  create_output: OP,
  update_output: OP,
  delete_output: OP,
  activate_input: OP,
  activate_output: OP,
  test_input: ['operator', 30_000, false],
  test_output: ['operator', 30_000, false],
  create_tunnel: OP,
  delete_tunnel: OP,
  start_flow_group: OP,
  stop_flow_group: OP,
  remove_flow_group: OP,
  add_flow_group: OP,
  update_flow_group: OP,
  add_essence_flow: OP,
  remove_essence_flow: OP,
  get_ptp_mode: ['viewer', 15_000, false],
  set_ptp_mode: OP,
  reset_counters: OP,
  rotate_secret: ['admin', 15_000, true],
  get_config: ['operator', 15_000, false],
  update_config: ['operator', 60_000, true],
  upgrade_binary: ['admin', 180_000, true],
  set_master_clock_lipsync: OP,
  get_audio_channel_map: ['viewer', 15_000, false]
};

describe('edge driver definition', () => {
  it('conforms to the driver contract', () => {
    expect(describeDriverProblem(driver)).toBeNull();
    expect(edgeDefault).toBe(driver);
    expect(driver.device_type).toBe('edge');
  });

  it.each(Object.entries(REQUIRED))('%s has the expected role, timeout and mutates', (name, [role, timeout, mutates]) => {
    const command = driver.commands.find((c) => c.name === name);
    expect(command).toBeDefined();
    expect(command!.requires_role).toBe(role);
    expect(command!.timeout_ms).toBe(timeout);
    expect(command!.mutates).toBe(mutates);
    expect(command!.description.length).toBeGreaterThan(0);
  });

  it('converts every command schema to JSON Schema', () => {
    for (const command of driver.commands) {
      const json = joiToJson(command.params, 'json') as { type?: string };
      expect(json).toBeDefined();
      expect(json.type).toBe('object');
    }
  });
});
