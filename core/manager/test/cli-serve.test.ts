// `serve` through the real binary: health, API docs, and a clean exit on SIGTERM/SIGINT.
// (Finishing in-flight requests on shutdown needs a slow route, so lifecycle.test.ts covers it in-process.)
import fs from 'node:fs';
import path from 'node:path';
import { createTestDatabase, testDatabases, type TestDatabase } from '@bilbycast/tests';
import { databaseEnv, httpGet, killLeftovers, logEntries, randomMasterKey, startServe, stopServe, type CliResult } from './run-cli';

jest.setTimeout(60_000);

const managerVersion = (JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;

/** Exit 0 within the deadline, after logging the shutdown, with nothing logged at error level. */
function expectCleanExit(result: CliResult, signal: NodeJS.Signals): void {
  expect({ code: result.code, signal: result.signal, timedOut: result.timedOut, stderr: result.stderr }).toEqual({
    code: 0,
    signal: null,
    timedOut: false,
    stderr: ''
  });
  const entries = logEntries(result.stdout);
  expect(entries.filter((e) => typeof e.level !== 'number' || e.level >= 50)).toEqual([]);
  expect(entries).toContainEqual(expect.objectContaining({ msg: 'shutting down', signal }));
  expect(entries[entries.length - 1]).toEqual(expect.objectContaining({ msg: 'stopped' }));
}

describe.each(testDatabases())('serve (%s)', (kind) => {
  let database: TestDatabase;
  beforeEach(async () => {
    database = await createTestDatabase(kind);
  });
  afterEach(async () => {
    await killLeftovers();
    await database.cleanup();
  });

  it('answers /health, /documentation and /openapi.json, and exits 0 on SIGTERM', async () => {
    const { cli, port, health } = await startServe(databaseEnv(database, { BILBYCAST_MASTER_KEY: randomMasterKey() }));

    expect(health.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(health.body)).toEqual({
      status: 'ok',
      db: 'ok',
      version: managerVersion,
      uptime_secs: expect.any(Number)
    });
    expect(Number.isInteger(JSON.parse(health.body).uptime_secs)).toBe(true);

    const docs = await httpGet(port, '/documentation');
    expect(docs.status).toBe(200);
    expect(docs.headers['content-type']).toMatch(/^text\/html/);
    expect(docs.body).toMatch(/<html/i);

    const openapi = await httpGet(port, '/openapi.json');
    expect(openapi.status).toBe(200);
    const spec = JSON.parse(openapi.body) as { openapi: string; info: { version: string }; paths: Record<string, unknown> };
    expect(spec.openapi).toMatch(/^3\.0\.\d+$/);
    expect(spec.info.version).toBe(managerVersion);
    expect(spec.paths['/health']).toEqual(expect.objectContaining({ get: expect.any(Object) }));

    expectCleanExit(await stopServe(cli, 'SIGTERM'), 'SIGTERM');
    await expect(httpGet(port, '/health')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('exits 0 on SIGINT', async () => {
    const { cli, port } = await startServe(databaseEnv(database, { BILBYCAST_MASTER_KEY: randomMasterKey() }));
    expectCleanExit(await stopServe(cli, 'SIGINT'), 'SIGINT');
    await expect(httpGet(port, '/health')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('is the default command, and generates <data_dir>/master.key when no key is configured', async () => {
    const { cli } = await startServe(databaseEnv(database), []);
    const result = await stopServe(cli, 'SIGTERM');
    expect([result.code, result.timedOut]).toEqual([0, false]);
    expect(logEntries(result.stdout)).toContainEqual(expect.objectContaining({ level: 40, msg: expect.stringMatching(/^generated a new master key/) }));
    expect(fs.readFileSync(path.join(database.dataDir, 'master.key'), 'utf8')).toMatch(/^[0-9a-f]{64}\n$/);
  });
});
