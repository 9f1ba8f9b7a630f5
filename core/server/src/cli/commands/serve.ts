import type { Command } from 'commander';
import { createManager } from '../../manager';
import { commandConfig } from '../command-context';
import type { CliManifest } from '../program';

/** `serve` (the default): run the manager until SIGINT/SIGTERM, then shut down gracefully. */
export function registerServeCommand(program: Command, manifest: CliManifest): void {
  program
    .command('serve', { isDefault: true })
    .description('run the manager (the default command)')
    .action(async () => {
      const config = commandConfig(manifest, program.opts(), false);
      const manager = await createManager({
        config,
        plugins: manifest.plugins,
        builtinDrivers: manifest.builtinDrivers,
        driverResolvePaths: manifest.driverResolvePaths,
        version: manifest.version
      });
      await manager.start();
      await new Promise<void>((resolve) => {
        const shutdown = (signal: NodeJS.Signals) => {
          manager.context.logger.info({ signal }, 'shutting down');
          manager.stop().then(resolve, (err: unknown) => {
            manager.context.logger.error({ err }, 'shutdown failed');
            process.exitCode = 1;
            resolve();
          });
        };
        process.once('SIGINT', shutdown);
        process.once('SIGTERM', shutdown);
      });
      manager.context.logger.info('stopped');
    });
}
