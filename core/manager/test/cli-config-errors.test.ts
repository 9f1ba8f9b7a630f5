// Operator mistakes: exit status 2 and one stderr line naming the problem, never a stack trace.
import fs from 'node:fs';
import path from 'node:path';
import { createTestDatabase, testDatabases, type TestDatabase } from '@bilbycast/tests';
import {
  databaseEnv,
  expectOneLineError,
  expectSuccess,
  killLeftovers,
  migrationLines,
  occupyPort,
  randomMasterKey,
  readUsers,
  runCli,
  type CliEnv
} from './run-cli';

jest.setTimeout(60_000);

describe('bad configuration', () => {
  let database: TestDatabase;
  let env: CliEnv;
  beforeEach(async () => {
    database = await createTestDatabase('sqlite');
    env = { ...databaseEnv(database), BILBYCAST_HOST: '127.0.0.1', BILBYCAST_PORT: '0' };
  });
  afterEach(async () => {
    await killLeftovers();
    await database.cleanup();
  });

  it('rejects an unknown database scheme', async () => {
    const result = await runCli(['serve'], { env: { ...env, BILBYCAST_DATABASE_URL: 'postgres://x/y' } });
    expectOneLineError(result, 2, /BILBYCAST_DATABASE_URL has unsupported scheme "postgres:"/);
  });

  it.each([
    ['too short', 'abc123'],
    ['not hex', 'z'.repeat(64)]
  ])('rejects a malformed master key (%s)', async (_case, key) => {
    const result = await runCli(['migrate'], { env: { ...env, BILBYCAST_MASTER_KEY: key } });
    expectOneLineError(result, 2, /"master_key" must be 64 hexadecimal characters .*BILBYCAST_MASTER_KEY/);
  });

  it('rejects an unreadable TLS certificate file', async () => {
    const missing = path.join(database.dataDir, 'no-such-cert.pem');
    const result = await runCli(['serve'], {
      env: { ...env, BILBYCAST_TLS_CERT: missing, BILBYCAST_TLS_KEY: path.join(database.dataDir, 'no-such-key.pem') }
    });
    expectOneLineError(result, 2, /cannot read BILBYCAST_TLS_CERT .*no-such-cert\.pem: ENOENT/);
  });

  it('rejects an unreadable TLS key file', async () => {
    const cert = path.join(database.dataDir, 'cert.pem');
    fs.writeFileSync(cert, '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');
    const result = await runCli(['serve'], {
      env: { ...env, BILBYCAST_TLS_CERT: cert, BILBYCAST_TLS_KEY: path.join(database.dataDir, 'no-such-key.pem') }
    });
    expectOneLineError(result, 2, /cannot read BILBYCAST_TLS_KEY .*no-such-key\.pem: ENOENT/);
  });

  it('rejects TLS files that are not a PEM certificate and its key', async () => {
    const cert = path.join(database.dataDir, 'not-a-cert.pem');
    const key = path.join(database.dataDir, 'not-a-key.pem');
    fs.writeFileSync(cert, 'x\n');
    fs.writeFileSync(key, 'x\n');
    const result = await runCli(['serve'], { env: { ...env, BILBYCAST_TLS_CERT: cert, BILBYCAST_TLS_KEY: key } });
    expectOneLineError(result, 2, /BILBYCAST_TLS_CERT and BILBYCAST_TLS_KEY are not a usable PEM certificate and matching key/);
  });

  it('rejects a TLS certificate without a key', async () => {
    const result = await runCli(['serve'], { env: { ...env, BILBYCAST_TLS_CERT: path.join(database.dataDir, 'c.pem') } });
    expectOneLineError(result, 2, /tls_cert.*must be set together with.*tls_key/);
  });

  it('reports a port that is already in use', async () => {
    const occupied = await occupyPort();
    try {
      const result = await runCli(['serve'], { env: { ...env, BILBYCAST_PORT: String(occupied.port) } });
      expectOneLineError(result, 2, new RegExp(`port ${occupied.port} on 127\\.0\\.0\\.1 is already in use`));
    } finally {
      await occupied.close();
    }
  });

  it.each(['abc', '70000', '-1', '8080.5'])('rejects BILBYCAST_PORT=%s', async (port) => {
    const result = await runCli(['serve'], { env: { ...env, BILBYCAST_PORT: port } });
    expectOneLineError(result, 2, /invalid configuration: "port" .*\(BILBYCAST_PORT or "port" in the config file\)/);
  });

  it('rejects a weak bootstrap admin password and creates no user', async () => {
    const result = await runCli(['serve'], {
      env: { ...env, BILBYCAST_ADMIN_USERNAME: 'root', BILBYCAST_ADMIN_PASSWORD: 'weakpass' }
    });
    expectOneLineError(result, 2, /BILBYCAST_ADMIN_USERNAME\/PASSWORD: password rejected: .*upper-case.*digit/);
    expect(await readUsers(database)).toEqual([]);
  });

  it('rejects a bootstrap admin username without a password', async () => {
    const result = await runCli(['serve'], { env: { ...env, BILBYCAST_ADMIN_USERNAME: 'root' } });
    expectOneLineError(result, 2, /admin_username.*must be set together with.*admin_password/);
  });

  it('rejects --config pointing at a missing file', async () => {
    const missing = path.join(database.dataDir, 'missing.json');
    const result = await runCli(['--config', missing, 'serve'], { env });
    expectOneLineError(result, 2, /cannot read config file .*missing\.json: ENOENT/);
  });

  it('rejects a --config file that is not JSON, and an unknown option in it', async () => {
    const broken = path.join(database.dataDir, 'broken.json');
    fs.writeFileSync(broken, '{ "port": ');
    expectOneLineError(await runCli(['--config', broken, 'migrate'], { env }), 2, /config file .*broken\.json is not valid JSON/);

    const unknown = path.join(database.dataDir, 'unknown.json');
    fs.writeFileSync(unknown, JSON.stringify({ prot: 8080 }));
    expectOneLineError(await runCli(['-c', unknown, 'migrate'], { env }), 2, /unknown option "prot" in the config file/);
  });

  it('applies a valid --config file (the environment overrides it)', async () => {
    // The file names a bad scheme; the environment's database_url wins, so the command works.
    const file = path.join(database.dataDir, 'config.json');
    fs.writeFileSync(file, JSON.stringify({ database_url: 'postgres://x/y', log_level: 'silent' }));
    const key = randomMasterKey();
    expectSuccess(await runCli(['--config', file, 'migrate'], { env: { ...env, BILBYCAST_MASTER_KEY: key } }));
    // Without the override the file's value is used, and refused.
    const { BILBYCAST_DATABASE_URL: _unused, ...withoutUrl } = env;
    const refused = await runCli(['--config', file, 'migrate'], { env: { ...withoutUrl, BILBYCAST_MASTER_KEY: key } });
    expectOneLineError(refused, 2, /unsupported scheme "postgres:"/);
  });
});

describe.each(testDatabases())('a master key that does not match the database (%s)', (kind) => {
  let database: TestDatabase;
  beforeEach(async () => {
    database = await createTestDatabase(kind);
  });
  afterEach(async () => {
    await killLeftovers();
    await database.cleanup();
  });

  it('is refused by serve, migrate and setup with exit 2', async () => {
    const keyA = randomMasterKey();
    const keyB = randomMasterKey();
    expectSuccess(
      await runCli(['setup', '--username', 'admin', '--password', 'Str0ngPassw0rd'], {
        env: databaseEnv(database, { BILBYCAST_MASTER_KEY: keyA })
      })
    );
    const wrong = databaseEnv(database, { BILBYCAST_MASTER_KEY: keyB, BILBYCAST_HOST: '127.0.0.1', BILBYCAST_PORT: '0' });
    for (const args of [['serve'], ['migrate'], ['migrate', '--rollback', '--all'], ['user', 'reset-password', 'admin', '--password', 'N3wPassw0rdX']]) {
      const result = await runCli(args, { env: wrong });
      expectOneLineError(result, 2, /the master key \(id [0-9a-f]+\) does not match this database/);
    }
    // Nothing was changed by the refused commands; the right key still works.
    const users = await readUsers(database);
    expect(users.map((u) => u.username)).toEqual(['admin']);
    const status = await runCli(['migrate', '--status'], { env: databaseEnv(database, { BILBYCAST_MASTER_KEY: keyA }) });
    expectSuccess(status);
    const lines = migrationLines(status.stdout);
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines.filter(([state]) => state !== 'applied')).toEqual([]);
    expect(lines.map(([, name]) => name)).toEqual(expect.arrayContaining(['core/001_master_key_check', 'users/001_create_users']));
  });
});
