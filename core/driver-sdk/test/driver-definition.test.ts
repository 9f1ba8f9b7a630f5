import fs from 'node:fs';
import path from 'node:path';
import { COMMAND_ROLES, DRIVER_API_VERSION, Joi, SUPPORTED_DRIVER_API_VERSIONS, defineDriver, describeDriverProblem, driverDefinitionSchema } from '../src';

/** A definition that conforms, as a driver author would write it. */
function validDriver() {
  return defineDriver({
    device_type: 'edge_node',
    display_name: 'Edge node',
    commands: [
      {
        name: 'stop_flow',
        description: 'Stops a flow',
        requires_role: 'operator',
        params: Joi.object({ flow_id: Joi.string().required() }),
        timeout_ms: 5000,
        mutates: true
      },
      {
        name: 'get_status',
        description: 'Reads the status',
        requires_role: 'viewer',
        params: Joi.object({}),
        timeout_ms: 100,
        mutates: false
      }
    ]
  });
}

/** A valid definition with one field of its first command replaced. */
function withCommand(patch: Record<string, unknown>): Record<string, unknown> {
  const driver = validDriver();
  return { ...driver, commands: [{ ...driver.commands[0], ...patch }, driver.commands[1]] };
}

function withoutKey<T extends object>(value: T, key: string): Record<string, unknown> {
  const copy = { ...value } as Record<string, unknown>;
  delete copy[key];
  return copy;
}

describe('describeDriverProblem', () => {
  it('accepts a valid definition built with defineDriver and the SDK Joi', () => {
    const driver = validDriver();
    expect(describeDriverProblem(driver)).toBeNull();
    // defineDriver is an identity helper.
    expect(driver.commands.map((c) => c.name)).toEqual(['stop_flow', 'get_status']);
  });

  it('accepts every listed role and both timeout bounds', () => {
    for (const role of COMMAND_ROLES) expect(describeDriverProblem(withCommand({ requires_role: role }))).toBeNull();
    expect(describeDriverProblem(withCommand({ timeout_ms: 600_000 }))).toBeNull();
    expect(describeDriverProblem({ ...validDriver(), commands: [] })).toBeNull();
  });

  it('rejects a missing device_type', () => {
    expect(describeDriverProblem(withoutKey(validDriver(), 'device_type'))).toBe('"device_type" is required');
  });

  it.each([['Edge'], ['edge node'], ['1edge'], ['']])('rejects the device_type %j', (deviceType) => {
    const problem = describeDriverProblem({ ...validDriver(), device_type: deviceType });
    expect(problem).toMatch(/^"device_type" /);
  });

  it('names the pattern when device_type has uppercase letters or spaces', () => {
    expect(describeDriverProblem({ ...validDriver(), device_type: 'EdgeNode' })).toMatch(
      /"device_type" with value "EdgeNode" fails to match the required pattern/
    );
    expect(describeDriverProblem({ ...validDriver(), device_type: 'edge node' })).toMatch(/fails to match the required pattern/);
  });

  it('rejects a missing display_name', () => {
    expect(describeDriverProblem(withoutKey(validDriver(), 'display_name'))).toBe('"display_name" is required');
  });

  it('rejects missing commands and non-object definitions', () => {
    expect(describeDriverProblem(withoutKey(validDriver(), 'commands'))).toBe('"commands" is required');
    expect(describeDriverProblem(undefined)).toBe('"value" is required');
    expect(describeDriverProblem('edge')).toBe('"value" must be of type object');
  });

  it('rejects params given as a plain object', () => {
    expect(describeDriverProblem(withCommand({ params: { flow_id: Joi.string() } }))).toBe('"commands[0].params" must be a joi object schema');
  });

  it('rejects params given as a non-object joi schema', () => {
    expect(describeDriverProblem(withCommand({ params: Joi.string() }))).toBe('"commands[0].params" must be a joi object schema');
  });

  it('rejects missing params', () => {
    const driver = validDriver();
    const command = withoutKey(driver.commands[0], 'params');
    expect(describeDriverProblem({ ...driver, commands: [command] })).toBe('"commands[0].params" is required');
  });

  it('rejects a requires_role that is not a known role', () => {
    expect(describeDriverProblem(withCommand({ requires_role: 'root' }))).toBe('"commands[0].requires_role" must be one of [viewer, operator, admin]');
  });

  it('rejects two commands with the same name', () => {
    const driver = validDriver();
    const problem = describeDriverProblem({ ...driver, commands: [driver.commands[0], { ...driver.commands[1], name: 'stop_flow' }] });
    expect(problem).toMatch(/^"commands\[1\]" contains a duplicate value/);
  });

  it('rejects a bad command name', () => {
    expect(describeDriverProblem(withCommand({ name: 'Stop-Flow' }))).toMatch(/^"commands\[0\].name" with value "Stop-Flow" fails to match/);
  });

  it.each([
    [99, 'greater than or equal to 100'],
    [600_001, 'less than or equal to 600000'],
    [1500.5, 'must be an integer'],
    ['5000', 'must be a number']
  ])('rejects timeout_ms %j', (timeout, reason) => {
    const problem = describeDriverProblem(withCommand({ timeout_ms: timeout }));
    expect(problem).toContain('"commands[0].timeout_ms"');
    expect(problem).toContain(reason);
  });

  it.each([['yes'], [1], [null]])('rejects mutates %j', (mutates) => {
    expect(describeDriverProblem(withCommand({ mutates }))).toMatch(/^"commands\[0\].mutates" must be (a boolean|\[boolean\])/);
  });

  it('rejects an unknown extra key on the driver and on a command', () => {
    expect(describeDriverProblem({ ...validDriver(), vendor: 'acme' })).toBe('"vendor" is not allowed');
    expect(describeDriverProblem(withCommand({ retries: 3 }))).toBe('"commands[0].retries" is not allowed');
  });

  it('exports a schema that agrees with describeDriverProblem', () => {
    expect(driverDefinitionSchema.validate(validDriver()).error).toBeUndefined();
    expect(driverDefinitionSchema.validate({ ...validDriver(), vendor: 'acme' }).error).toBeDefined();
  });
});

describe('the SDK package', () => {
  it('supports the API version it describes', () => {
    expect(SUPPORTED_DRIVER_API_VERSIONS).toContain(DRIVER_API_VERSION);
  });

  it('does not depend on hapi or knex', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as {
      name: string;
      dependencies?: Record<string, string>;
      peerDependencies?: Record<string, string>;
    };
    expect(pkg.name).toBe('@bilbycast/driver-sdk');
    const names = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})];
    expect(names).toContain('joi');
    expect(names.filter((name) => /hapi|knex/i.test(name))).toEqual([]);
  });
});
