import path from 'node:path';
import fs from 'node:fs';
import { TcpProxy, createTestDatabase, testConfig, testDatabases, type TestDatabase } from '@bilbycast/tests';
import { createManager } from '../src';

const version = (JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;

describe.each(testDatabases())('GET /health on %s', (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(kind);
  });
  afterAll(() => database.cleanup());

  it('answers without authentication with status, version, uptime and db', async () => {
    const manager = await createManager({ config: testConfig(database) });
    await manager.initialize();
    const res = await manager.server.inject('/health');
    expect(res.statusCode).toBe(200);
    expect(res.result).toEqual({ status: 'ok', version, uptime_secs: expect.any(Number), db: 'ok' });
    await manager.stop();
  });
});

// The outage is staged on the network path to MariaDB (SQLite is a local file), so this
// suite exists only when MariaDB is among the test databases.
const networkedDatabases = testDatabases().filter((kind) => kind === 'mysql');
if (networkedDatabases.length > 0) {
  describe.each(networkedDatabases)('GET /health while %s is unreachable', () => {
    it('is 503 with db "error" during the outage and 200 again once the database is back', async () => {
      const database = await createTestDatabase('mysql');
      const target = new URL(database.url);
      const proxy = new TcpProxy(target.hostname, Number(target.port));
      await proxy.start();
      target.port = String(proxy.port);
      const manager = await createManager({ config: testConfig({ url: target.toString(), dataDir: database.dataDir }) });
      await manager.initialize();

      expect((await manager.server.inject('/health')).statusCode).toBe(200);

      await proxy.cut();
      const down = await manager.server.inject('/health');
      expect(down.statusCode).toBe(503);
      expect(down.result).toMatchObject({ status: 'error', db: 'error', version });

      await proxy.restore();
      const deadline = Date.now() + 15_000;
      let status = 0;
      while (Date.now() < deadline && status !== 200) {
        status = (await manager.server.inject('/health')).statusCode;
      }
      expect(status).toBe(200);

      await manager.stop();
      await proxy.cut();
      await database.cleanup();
    });
  });
}
