import pino from 'pino';
import { loadConfig } from '../config/load';
import type { ManagerConfig } from '../config/schema';
import { createManager, type Manager } from '../manager';
import type { CliManifest } from './program';

/** The config for a command: the global `--config` file plus the environment, with the options the build's plugins add. */
export function commandConfig(manifest: CliManifest, globalOptions: { config?: string }, quiet: boolean): ManagerConfig {
  // One-shot commands log only warnings (to stderr) unless the config file or environment asks for more.
  return loadConfig({ file: globalOptions.config, defaults: quiet ? { log_level: 'warn' } : {}, plugins: manifest.plugins });
}

/** Builds the manager for a one-shot command: logs go to stderr, stdout is the command's. */
export async function commandManager(manifest: CliManifest, config: ManagerConfig): Promise<Manager> {
  return createManager({
    config,
    plugins: manifest.plugins,
    builtinDrivers: manifest.builtinDrivers,
    driverResolvePaths: manifest.driverResolvePaths,
    version: manifest.version,
    logDestination: pino.destination(2)
  });
}

/** Runs `work` against an initialized manager (migrated, started-up plugins) and shuts it down. */
export async function withInitializedManager<T>(manifest: CliManifest, config: ManagerConfig, work: (manager: Manager) => Promise<T>): Promise<T> {
  const manager = await commandManager(manifest, config);
  try {
    await manager.initialize();
    return await work(manager);
  } finally {
    await manager.stop();
  }
}
