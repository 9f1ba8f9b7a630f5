import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/errors';
import type { ManagerPlugin } from '../manager';
import { registerDriverCommands } from './commands/driver';
import { registerMigrateCommand } from './commands/migrate';
import { registerRotateMasterKeyCommand } from './commands/rotate-master-key';
import { registerServeCommand } from './commands/serve';
import { registerPluginCommands } from './plugin-commands';

/** What a build of the manager consists of; the CLI builds every command's manager from it. */
export interface CliManifest {
  /** Command name shown in help and error lines. */
  name: string;
  version: string;
  plugins: ManagerPlugin[];
  builtinDrivers: string[];
  /** Folders that builtin driver package names resolve from. */
  driverResolvePaths: string[];
}

/** Raised by a command for an operation that failed (exit status 1, one line, no stack). */
export class CommandFailed extends Error {}

/**
 * Runs the `bilbycast-manager` command line. Resolves with the exit status: 0 success,
 * 1 the operation failed, 2 configuration error (one line naming the problem).
 */
export async function runCli(manifest: CliManifest, argv: string[] = process.argv): Promise<number> {
  const program = new Command(manifest.name)
    .description('Control plane for bilbycast edge nodes, relays and gateways.')
    .version(manifest.version)
    .option('-c, --config <file>', 'JSON config file (environment variables override it)')
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text) });

  try {
    registerServeCommand(program, manifest);
    registerMigrateCommand(program, manifest);
    registerRotateMasterKeyCommand(program, manifest);
    registerDriverCommands(program, manifest);
    // Plugins own their commands (the users plugin `setup` and `user …`, for instance). Reading
    // the build's plugins may report a configuration error (their options come from it): then
    // `--help`, `--version` and the host's own commands still work, and a plugin's command (or
    // any command building a manager) reports that error.
    let pluginError: ConfigError | undefined;
    try {
      registerPluginCommands(program, manifest);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      pluginError = err;
      program.addHelpText('after', `\nThe plugins' commands are not listed: ${err.message}`);
    }

    const firstArgument = argv.slice(2).find((arg) => !arg.startsWith('-'));
    const optionValue = argv.slice(2).some((arg, i, all) => ['-c', '--config'].includes(all[i - 1] ?? '') && arg === firstArgument);
    if (firstArgument && !optionValue && !program.commands.some((c) => c.name() === firstArgument) && firstArgument !== 'help') {
      if (pluginError) throw pluginError;
      process.stderr.write(`${manifest.name}: unknown command "${firstArgument}" (see ${manifest.name} --help)\n`);
      return 2;
    }
    await program.parseAsync(argv.slice(2), { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof ConfigError) {
      process.stderr.write(`${manifest.name}: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`${manifest.name}: ${(err as Error).message}\n`);
    return 1;
  }
}
