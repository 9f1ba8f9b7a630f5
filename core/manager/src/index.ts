import fs from 'node:fs';
import path from 'node:path';
import { createManager, runCli, type CliManifest, type CreateManagerOptions, type ManagerConfig } from '@bilbycast/core';
import auth from '@bilbycast/auth';
import events from '@bilbycast/events';
import nodes from '@bilbycast/nodes';
import ui from '@bilbycast/ui';
import users from '@bilbycast/users';
import { authOptionsFromEnv } from './auth-options';
import { eventsOptionsFromEnv, nodesOptionsFromEnv } from './device-options';

export { AUTH_ENV, authOptionsFromEnv } from './auth-options';
export { DEVICE_ENV, nodesOptionsFromEnv, eventsOptionsFromEnv } from './device-options';

const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };

/** The standard build: every first-party plugin and the built-in drivers (drivers/*). */
export const defaultManifest: CliManifest = {
  name: 'bilbycast-manager',
  version: pkg.version,
  // Read when a command builds its manager, so a bad variable is reported like any config error.
  get plugins() {
    return [
      users,
      { plugin: auth, options: authOptionsFromEnv() },
      { plugin: nodes, options: nodesOptionsFromEnv() },
      { plugin: events, options: eventsOptionsFromEnv() },
      ui
    ];
  },
  builtinDrivers: ['@bilbycast/driver-edge', '@bilbycast/driver-relay', '@bilbycast/driver-appear-x'],
  driverResolvePaths: [path.join(__dirname, '..')]
};

/** The standard build as a library call, for tests and embedding. */
export function createDefaultManager(config: ManagerConfig, extra: Partial<CreateManagerOptions> = {}) {
  return createManager({
    config,
    plugins: defaultManifest.plugins,
    builtinDrivers: defaultManifest.builtinDrivers,
    driverResolvePaths: defaultManifest.driverResolvePaths,
    version: defaultManifest.version,
    ...extra
  });
}

/** Entry point of the `bilbycast-manager` command. */
export async function main(argv: string[] = process.argv): Promise<void> {
  process.exitCode = await runCli(defaultManifest, argv);
}
