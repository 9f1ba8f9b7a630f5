import crypto from 'node:crypto';
import { loadConfig, type ManagerConfig, type ManagerPlugin } from '@bilbycast/core';
import type { TestDatabase } from './databases';

/**
 * A manager config for tests: the given database and data dir, an ephemeral loopback port,
 * a fresh master key, silent logs. The caller's environment is ignored. Options the plugins
 * add (such as the users plugin's `admin_username`) need those plugins in `plugins`.
 */
export function testConfig(
  db: Pick<TestDatabase, 'url' | 'dataDir'>,
  overrides: Partial<Omit<ManagerConfig, 'plugin_options'>> & Record<string, unknown> = {},
  plugins: readonly ManagerPlugin[] = []
): ManagerConfig {
  return loadConfig({
    env: {},
    plugins,
    overrides: {
      host: '127.0.0.1',
      port: 0,
      data_dir: db.dataDir,
      database_url: db.url,
      master_key: crypto.randomBytes(32).toString('hex'),
      log_level: 'silent',
      log_format: 'json',
      ...overrides
    }
  });
}
