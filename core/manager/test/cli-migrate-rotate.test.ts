// `migrate` (status, rollback, re-apply) and `rotate-master-key`, through the real binary.
import fs from 'node:fs';
import path from 'node:path';
import { createTestDatabase, testDatabases, type TestDatabase } from '@bilbycast/tests';
import {
  databaseEnv,
  expectOneLineError,
  expectSuccess,
  hasTables,
  killLeftovers,
  migrationLines,
  randomMasterKey,
  readUsers,
  runCli,
  startServe,
  stopServe,
  type CliEnv
} from './run-cli';

jest.setTimeout(90_000);

const TABLES = ['master_key_check', 'users'];
/** Migrations this build must have, in this relative order (other plugins may add more). */
const REQUIRED = ['core/001_master_key_check', 'users/001_create_users'];
const rows = (state: string, names: string[]) => names.map((name) => [state, name]);
const MISMATCH = /the master key \(id [0-9a-f]+\) does not match this database/;

async function setup(env: CliEnv): Promise<void> {
  expectSuccess(await runCli(['setup', '--username', 'admin', '--password', 'Str0ngPassw0rd'], { env }));
}

/** `serve` starts, answers /health, and exits 0 on SIGTERM. */
async function expectServeWorks(env: CliEnv): Promise<void> {
  const { cli } = await startServe(env);
  const result = await stopServe(cli);
  expect([result.code, result.timedOut, result.stderr]).toEqual([0, false, '']);
}

describe.each(testDatabases())('migrate (%s)', (kind) => {
  let database: TestDatabase;
  let env: CliEnv;
  beforeEach(async () => {
    database = await createTestDatabase(kind);
    env = databaseEnv(database, { BILBYCAST_MASTER_KEY: randomMasterKey() });
  });
  afterEach(async () => {
    await killLeftovers();
    await database.cleanup();
  });

  it('lists, rolls back and re-applies the migrations', async () => {
    // On an empty database everything is pending and --status changes nothing.
    const pending = await runCli(['migrate', '--status'], { env });
    expectSuccess(pending);
    const all = migrationLines(pending.stdout).map(([, name]) => name);
    expect(migrationLines(pending.stdout)).toEqual(rows('pending', all));
    expect(all.filter((name) => REQUIRED.includes(name))).toEqual(REQUIRED);
    expect(await hasTables(database, TABLES)).toEqual({ master_key_check: false, users: false });

    await setup(env);
    const status = await runCli(['migrate', '--status'], { env });
    expectSuccess(status);
    expect(migrationLines(status.stdout)).toEqual(rows('applied', all));

    const upToDate = await runCli(['migrate'], { env });
    expectSuccess(upToDate);
    expect(upToDate.stdout).toBe('Database is up to date.\n');

    const rollback = await runCli(['migrate', '--rollback', '--all'], { env });
    expectSuccess(rollback);
    expect(migrationLines(rollback.stdout)).toEqual(rows('reverted', [...all].reverse()));
    expect(await hasTables(database, TABLES)).toEqual({ master_key_check: false, users: false });
    expect(migrationLines((await runCli(['migrate', '--status'], { env })).stdout)).toEqual(rows('pending', all));
    const nothing = await runCli(['migrate', '--rollback'], { env });
    expectSuccess(nothing);
    expect(nothing.stdout).toBe('Nothing to roll back.\n');

    const reapply = await runCli(['migrate'], { env });
    expectSuccess(reapply);
    expect(migrationLines(reapply.stdout)).toEqual(rows('applied', all));
    expect(reapply.stderr).toBe('');
    expect(await hasTables(database, TABLES)).toEqual({ master_key_check: true, users: true });
    expect(migrationLines((await runCli(['migrate', '--status'], { env })).stdout)).toEqual(rows('applied', all));
    expect(await readUsers(database)).toEqual([]);

    // The re-applied database records this key: another one is refused.
    expectOneLineError(await runCli(['migrate'], { env: { ...env, BILBYCAST_MASTER_KEY: randomMasterKey() } }), 2, MISMATCH);
  });
});

describe.each(testDatabases())('rotate-master-key (%s)', (kind) => {
  let database: TestDatabase;
  beforeEach(async () => {
    database = await createTestDatabase(kind);
  });
  afterEach(async () => {
    await killLeftovers();
    await database.cleanup();
  });

  it('with the key in <data_dir>/master.key: writes a new key file and retires the old one', async () => {
    const env = databaseEnv(database);
    const keyFile = path.join(database.dataDir, 'master.key');
    await setup(env);
    const oldKey = fs.readFileSync(keyFile, 'utf8').trim();
    expect(oldKey).toMatch(/^[0-9a-f]{64}$/);

    const rotate = await runCli(['rotate-master-key'], { env });
    expectSuccess(rotate);
    expect(rotate.stderr).toBe('');
    const ids = /master key ([0-9a-f]+) -> ([0-9a-f]+)\./.exec(rotate.stdout);
    expect(ids).not.toBeNull();
    const [, oldId, newId] = ids!;
    expect(oldId).not.toBe(newId);

    const newKey = fs.readFileSync(keyFile, 'utf8').trim();
    expect(newKey).toMatch(/^[0-9a-f]{64}$/);
    expect(newKey).not.toBe(oldKey);
    const retired = path.join(database.dataDir, `master.key.${oldId}.retired`);
    expect(fs.readFileSync(retired, 'utf8').trim()).toBe(oldKey);
    expect(fs.existsSync(`${keyFile}.new`)).toBe(false);
    expect((fs.statSync(keyFile).mode & 0o777).toString(8)).toBe('600');

    // The new key file works; the old key is refused.
    expectSuccess(await runCli(['migrate'], { env }));
    await expectServeWorks(env);
    expectSuccess(await runCli(['migrate'], { env: { ...env, BILBYCAST_MASTER_KEY: newKey } }));
    expectOneLineError(await runCli(['migrate'], { env: { ...env, BILBYCAST_MASTER_KEY: oldKey } }), 2, MISMATCH);
    expectOneLineError(
      await runCli(['serve'], { env: { ...env, BILBYCAST_MASTER_KEY: oldKey, BILBYCAST_HOST: '127.0.0.1', BILBYCAST_PORT: '0' } }),
      2,
      MISMATCH
    );
    expect((await readUsers(database)).map((u) => u.username)).toEqual(['admin']);
  });

  it('an interrupted rotation: the refusal names the key file it left behind', async () => {
    const env = databaseEnv(database);
    const keyFile = path.join(database.dataDir, 'master.key');
    await setup(env);
    const oldKey = fs.readFileSync(keyFile, 'utf8');
    const rotate = await runCli(['rotate-master-key'], { env });
    expectSuccess(rotate);
    // As if it had stopped after re-encrypting, before swapping the files.
    fs.renameSync(keyFile, `${keyFile}.new`);
    fs.writeFileSync(keyFile, oldKey, { mode: 0o600 });
    expectOneLineError(
      await runCli(['migrate'], { env }),
      2,
      /master\.key\.new is left from an interrupted rotate-master-key: if it is the database's key, move it to .*master\.key/
    );
    fs.renameSync(`${keyFile}.new`, keyFile);
    expectSuccess(await runCli(['migrate'], { env }));
  });

  it('with the key in BILBYCAST_MASTER_KEY: needs BILBYCAST_NEW_MASTER_KEY, then only the new key works', async () => {
    const oldKey = randomMasterKey();
    const newKey = randomMasterKey();
    const env = databaseEnv(database, { BILBYCAST_MASTER_KEY: oldKey });
    await setup(env);

    expectOneLineError(await runCli(['rotate-master-key'], { env }), 2, /set BILBYCAST_NEW_MASTER_KEY to the new key/);
    expectOneLineError(
      await runCli(['rotate-master-key'], { env: { ...env, BILBYCAST_NEW_MASTER_KEY: 'not-a-key' } }),
      2,
      /BILBYCAST_NEW_MASTER_KEY must be 64 hexadecimal characters/
    );
    expectOneLineError(
      await runCli(['rotate-master-key'], { env: { ...env, BILBYCAST_NEW_MASTER_KEY: oldKey } }),
      2,
      /the new master key is the same as the current one/
    );
    // The refusals changed nothing: the old key still opens the database.
    expectSuccess(await runCli(['migrate'], { env }));

    const rotate = await runCli(['rotate-master-key'], { env: { ...env, BILBYCAST_NEW_MASTER_KEY: newKey } });
    expectSuccess(rotate);
    expect(rotate.stdout).toMatch(/Re-encrypted \d+ secret value\(s\)/);
    expect(rotate.stdout).toMatch(/^ {2}master_key_check\.check_value: 1$/m);
    expect(rotate.stdout).toMatch(/set BILBYCAST_MASTER_KEY to the value of BILBYCAST_NEW_MASTER_KEY/);
    expect(fs.readdirSync(database.dataDir).filter((f) => f.startsWith('master.key'))).toEqual([]);

    const rotated = { ...env, BILBYCAST_MASTER_KEY: newKey };
    expectSuccess(await runCli(['migrate'], { env: rotated }));
    await expectServeWorks(rotated);
    expectOneLineError(await runCli(['migrate'], { env }), 2, MISMATCH);
    expectOneLineError(await runCli(['serve'], { env: { ...env, BILBYCAST_HOST: '127.0.0.1', BILBYCAST_PORT: '0' } }), 2, MISMATCH);
  });
});
