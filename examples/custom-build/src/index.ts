import fs from 'node:fs';
import path from 'node:path';
import auth from '@bilbycast/auth';
import { createManager, runCli, type CliManifest, type ManagerConfig } from '@bilbycast/core';
import users from '@bilbycast/users';

/**
 * An integrator's manager: users and auth only (no other plugins), the ACME driver as its
 * only built-in driver, 12-hour sessions, and the whole bilbycast-manager command line under
 * its own name.
 */
export const manifest: CliManifest = {
  name: 'acme-manager',
  version: (JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version,
  plugins: [users, { plugin: auth, options: { session_absolute_hours: 12 } }],
  builtinDrivers: ['bilbycast-driver-acme'],
  driverResolvePaths: [path.join(__dirname, '..')]
};

export function createAcmeManager(config: ManagerConfig) {
  return createManager({
    config,
    plugins: manifest.plugins,
    builtinDrivers: manifest.builtinDrivers,
    driverResolvePaths: manifest.driverResolvePaths,
    version: manifest.version
  });
}

export async function main(argv: string[] = process.argv): Promise<void> {
  process.exitCode = await runCli(manifest, argv);
}
