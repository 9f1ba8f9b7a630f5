import type { Command } from 'commander';
import type { Manager } from '../manager';
import { pluginObject } from '../plugin-object';
import { commandConfig, withInitializedManager } from './command-context';
import type { CliManifest } from './program';
import { promptSecret, promptText } from './prompt';

/**
 * What a plugin's command-line contribution gets: the program to add commands to, shared
 * command groups, a manager built from the global `--config` (migrated, plugins started; logs
 * go to stderr so stdout stays the command's), and prompts that read piped input in scripts.
 * A command reports an operation that failed by throwing `CommandFailed` (exit status 1).
 */
export interface CliHost {
  program: Command;
  /** The top-level command `name` several plugins may add subcommands to (e.g. `user`). */
  group(name: string, description: string): Command;
  withManager<T>(work: (manager: Manager) => Promise<T>): Promise<T>;
  promptSecret(label: string, confirm?: boolean): Promise<string>;
  promptText(label: string): Promise<string>;
}

/** A plugin's commands: a `cli` function on its hapi plugin object, called when the CLI starts. */
export type CliContribution = (cli: CliHost) => void;

/** Adds the commands every plugin of the build contributes, in the build's plugin order. */
export function registerPluginCommands(program: Command, manifest: CliManifest): void {
  const host: CliHost = {
    program,
    group: (name, description) => program.commands.find((c) => c.name() === name) ?? program.command(name).description(description),
    withManager: (work) => withInitializedManager(manifest, commandConfig(manifest, program.opts(), true), work),
    promptSecret,
    promptText
  };
  for (const entry of manifest.plugins) pluginObject(entry).cli?.(host);
}
