import crypto from 'node:crypto';
import { loadConfig, type ManagerConfig } from '@bilbycast/core';
import type { TestDatabase } from './databases';

/**
 * A manager config for tests: the given database and data dir, an ephemeral loopback port,
 * a fresh master key, silent logs. The caller's environment is ignored.
 */
export function testConfig(db: Pick<TestDatabase, 'url' | 'dataDir'>, overrides: Partial<ManagerConfig> = {}): ManagerConfig {
  return loadConfig({
    env: {},
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
