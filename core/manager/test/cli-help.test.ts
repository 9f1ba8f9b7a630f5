// `--help` for the program and every command, `--version`, and unknown commands.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { killLeftovers, runCli, stderrLines, type CliEnv } from './run-cli';

jest.setTimeout(60_000);

const version = (JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;

let dataDir: string;
let env: CliEnv;
beforeAll(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bilbycast-cli-help-'));
  // Port 0 so that a command which wrongly starts serving cannot clash; it would time out instead.
  env = { BILBYCAST_DATA_DIR: dataDir, BILBYCAST_HOST: '127.0.0.1', BILBYCAST_PORT: '0' };
});
afterEach(() => killLeftovers());
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

describe('help', () => {
  it('lists every command and the global options', async () => {
    const result = await runCli(['--help'], { env });
    expect([result.code, result.timedOut, result.stderr]).toEqual([0, false, '']);
    expect(result.stdout).toMatch(/^Usage: bilbycast-manager \[options\] \[command\]/);
    for (const text of ['-c, --config <file>', '-V, --version', 'serve', 'setup', 'migrate', 'user', 'rotate-master-key', 'driver']) {
      expect(result.stdout).toContain(text);
    }
  });

  it.each([
    [['serve'], []],
    [['setup'], ['--username <name>', '--password <password>', '--display-name <name>', '--email <email>']],
    [['migrate'], ['--status', '--rollback', '--all']],
    [['user'], ['reset-password', 'reset-mfa']],
    [
      ['user', 'reset-password'],
      ['<username>', '--password <password>']
    ],
    [['user', 'reset-mfa'], ['<username>']],
    [['rotate-master-key'], []],
    [['driver'], ['list', 'add']],
    [['driver', 'list'], ['--json']],
    [['driver', 'add'], ['<package>']]
  ])('%j --help describes the command and its options', async (command, options) => {
    const result = await runCli([...command, '--help'], { env });
    expect([result.code, result.timedOut, result.stderr]).toEqual([0, false, '']);
    expect(result.stdout).toMatch(new RegExp(`^Usage: bilbycast-manager ${command.join(' ')} `));
    expect(result.stdout).toContain('-h, --help');
    for (const option of options) expect(result.stdout).toContain(option);
  });

  it('`help <command>` works too', async () => {
    const result = await runCli(['help', 'migrate'], { env });
    expect([result.code, result.timedOut]).toEqual([0, false]);
    expect(result.stdout).toContain('--rollback');
  });

  it('--version prints the package version', async () => {
    const result = await runCli(['--version'], { env });
    expect([result.code, result.timedOut, result.stdout]).toEqual([0, false, `${version}\n`]);
  });

  it('names an unknown command instead of treating it as arguments of the default command', async () => {
    const result = await runCli(['no-such-command'], { env, timeoutMs: 10_000 });
    expect(result.code).toBe(2);
    expect(stderrLines(result)).toEqual(['bilbycast-manager: unknown command "no-such-command" (see bilbycast-manager --help)']);
    expect(fs.readdirSync(dataDir)).toEqual([]);
  });

  it('an unknown option or subcommand fails without starting anything', async () => {
    for (const args of [['--no-such-option'], ['migrate', '--no-such-option'], ['user', 'no-such-subcommand']]) {
      const result = await runCli(args, { env, timeoutMs: 10_000 });
      expect({ args, timedOut: result.timedOut }).toEqual({ args, timedOut: false });
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(stderrLines(result)[0]).toMatch(/^error: /);
      expect(result.stderr).not.toMatch(/^\s*at /m);
    }
    // Nothing was created by a command that should not have run.
    expect(fs.readdirSync(dataDir)).toEqual([]);
  });
});
