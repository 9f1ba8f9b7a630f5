import type { Plugin } from '@hapi/hapi';
import { createTestDatabase, type TestDatabase } from '@bilbycast/tests';
import { CommandFailed, ConfigError, runCli, type CliContribution, type CliManifest } from '../src';

/** Two plugins adding commands, one of them to a group the other created. */
function manifest(calls: string[], form: 'plain' | 'module' = 'plain'): CliManifest {
  const first: Plugin<unknown> & { cli: CliContribution } = {
    name: 'first',
    register: () => undefined,
    cli: (cli) => {
      cli
        .group('things', 'manage things')
        .command('count')
        .action(() => {
          calls.push('count');
        });
      cli.program.command('fail').action(() => {
        throw new CommandFailed('the thing failed');
      });
    }
  };
  const second: Plugin<unknown> & { cli: CliContribution } = {
    name: 'second',
    register: () => undefined,
    cli: (cli) => {
      cli
        .group('things', 'ignored: the group exists')
        .command('name <thing>')
        .action(async (thing: string) => {
          // A manager built from the global options, with this build's plugins registered.
          await cli.withManager((manager) => {
            calls.push(`${thing} with ${manager.context.version}`);
            return Promise.resolve();
          });
        });
    }
  };
  // `module`: the form of `{ plugin: require('a-plugin-package'), options }`, which hapi registers too.
  const firstEntry = form === 'plain' ? first : { plugin: { plugin: first }, options: {} };
  return { name: 'test-manager', version: '9.9.9', plugins: [firstEntry, { plugin: second, options: {} }], builtinDrivers: [], driverResolvePaths: [] };
}

describe('commands contributed by plugins', () => {
  let database: TestDatabase;
  const env = { ...process.env };
  beforeAll(async () => {
    database = await createTestDatabase('sqlite');
    process.env.BILBYCAST_DATABASE_URL = database.url;
    process.env.BILBYCAST_DATA_DIR = database.dataDir;
    process.env.BILBYCAST_LOG_LEVEL = 'silent';
  });
  afterAll(async () => {
    process.env = env;
    await database.cleanup();
  });

  it('runs a plugin’s command and a subcommand another plugin added to its group', async () => {
    const calls: string[] = [];
    expect(await runCli(manifest(calls), ['node', 'cli', 'things', 'count'])).toBe(0);
    expect(await runCli(manifest(calls), ['node', 'cli', 'things', 'name', 'widget'])).toBe(0);
    expect(calls).toEqual(['count', 'widget with 9.9.9']);
  });

  it('answers a CommandFailed with exit status 1 and an unknown command with 2', async () => {
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await runCli(manifest([]), ['node', 'cli', 'fail'])).toBe(1);
      expect(await runCli(manifest([]), ['node', 'cli', 'nothing'])).toBe(2);
      expect(stderr.mock.calls.map(([text]) => String(text))).toEqual([
        'test-manager: the thing failed\n',
        'test-manager: unknown command "nothing" (see test-manager --help)\n'
      ]);
    } finally {
      stderr.mockRestore();
    }
  });

  it('finds the commands of a plugin given as a required module ({ plugin: { plugin } })', async () => {
    const calls: string[] = [];
    expect(await runCli(manifest(calls, 'module'), ['node', 'cli', 'things', 'count'])).toBe(0);
    expect(calls).toEqual(['count']);
  });

  it('still answers --help and --version when reading the plugins’ options fails, and names the problem for other commands', async () => {
    const broken: CliManifest = {
      ...manifest([]),
      get plugins(): CliManifest['plugins'] {
        throw new ConfigError('BILBYCAST_THING: must be a number');
      }
    };
    const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await runCli(broken, ['node', 'cli', '--version'])).toBe(0);
      expect(await runCli(broken, ['node', 'cli', '--help'])).toBe(0);
      const printed = stdout.mock.calls.map(([text]) => String(text)).join('');
      expect(printed).toContain('9.9.9');
      expect(printed).toContain("The plugins' commands are not listed: BILBYCAST_THING: must be a number");
      expect(await runCli(broken, ['node', 'cli', 'things', 'count'])).toBe(2);
      expect(stderr.mock.calls.map(([text]) => String(text))).toEqual(['test-manager: BILBYCAST_THING: must be a number\n']);
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
    }
  });
});
