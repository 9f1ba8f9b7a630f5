import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { createTestDatabase, testConfig } from '@bilbycast/tests';
import { createAcmeManager } from '../src';

describe('custom build', () => {
  it('serves only its chosen plugins and its own driver', async () => {
    const database = await createTestDatabase('sqlite');
    const manager = await createAcmeManager(testConfig(database));
    await manager.initialize();
    expect(manager.context.drivers.list().map((d) => d.definition.device_type)).toEqual(['acme_encoder']);
    const paths = manager.server.table().map((r) => r.path);
    expect(paths).toContain('/api/v1/auth/login');
    expect(paths).toContain('/api/v1/users');
    expect(paths).toContain('/api/v1/device-types');
    expect((await manager.server.inject('/health')).statusCode).toBe(200);
    expect((await manager.server.inject('/api/v1/device-types')).statusCode).toBe(401);
    await manager.stop();
    await database.cleanup();
  });

  it('has the whole command line under its own name', () => {
    const result = spawnSync(process.execPath, [path.join(__dirname, '..', 'bin', 'acme-manager.js'), '--help'], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Usage: acme-manager/);
    expect(result.stdout).toMatch(/rotate-master-key/);
  });
});
