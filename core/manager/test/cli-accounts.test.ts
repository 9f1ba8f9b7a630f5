// `setup`, `user reset-password` and the environment bootstrap, through the real binary.
import argon2 from 'argon2';
import { createTestDatabase, testDatabases, type TestDatabase } from '@bilbycast/tests';
import {
  databaseEnv,
  expectOneLineError,
  expectSuccess,
  killLeftovers,
  logEntries,
  openDatabase,
  randomMasterKey,
  readUsers,
  runCli,
  startServe,
  stopServe,
  type CliEnv
} from './run-cli';

jest.setTimeout(60_000);

const PASSWORD = 'Str0ngPassw0rd';

describe.each(testDatabases())('accounts from the command line (%s)', (kind) => {
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

  it('setup creates one argon2id SuperAdmin; a second setup changes nothing', async () => {
    const first = await runCli(['setup', '--username', 'admin', '--password', PASSWORD, '--display-name', 'The Admin'], { env });
    expectSuccess(first);
    expect(first.stdout).toBe('Created SuperAdmin "admin".\n');
    expect(first.stderr).toBe('');

    const users = await readUsers(database);
    expect(users).toEqual([{ id: expect.any(String), username: 'admin', role: 'super_admin', password_hash: expect.stringMatching(/^\$argon2id\$/) }]);
    expect(await argon2.verify(users[0].password_hash, PASSWORD)).toBe(true);

    const second = await runCli(['setup', '--username', 'other', '--password', 'An0therPassw0rd'], { env });
    expectSuccess(second);
    expect(second.stdout).toMatch(/already has 1 user\(s\); setup changed nothing/);
    expect(await readUsers(database)).toEqual(users);
  });

  it('setup rejects a weak password, naming the policy problems, and creates no user', async () => {
    const result = await runCli(['setup', '--username', 'admin', '--password', 'weakpass'], { env });
    expectOneLineError(result, 1, /password rejected: must contain an upper-case letter; must contain a digit$/m);
    expect(await readUsers(database)).toEqual([]);

    const short = await runCli(['setup', '--username', 'admin', '--password', 'Ab1'], { env });
    expectOneLineError(short, 1, /password rejected: must be at least 8 characters/);
    expect(await readUsers(database)).toEqual([]);
  });

  it('setup rejects an invalid username', async () => {
    const result = await runCli(['setup', '--username', 'bad name!', '--password', PASSWORD], { env });
    expectOneLineError(result, 1, /username must be 1-64 characters/);
    expect(await readUsers(database)).toEqual([]);
  });

  it('setup reads the password from standard input when --password is omitted', async () => {
    const result = await runCli(['setup', '--username', 'admin'], { env, input: `${PASSWORD}\n` });
    expectSuccess(result);
    expect(result.stdout).toMatch(/Created SuperAdmin "admin"/);
    const [user] = await readUsers(database);
    expect(user.role).toBe('super_admin');
    expect(await argon2.verify(user.password_hash, PASSWORD)).toBe(true);
  });

  it('setup reads username and password from standard input, one line each', async () => {
    const result = await runCli(['setup'], { env, input: `piped.admin\n${PASSWORD}\n` });
    expectSuccess(result);
    const users = await readUsers(database);
    expect(users.map((u) => [u.username, u.role])).toEqual([['piped.admin', 'super_admin']]);
    expect(await argon2.verify(users[0].password_hash, PASSWORD)).toBe(true);
  });

  it('setup fails with exit 1 when standard input is empty', async () => {
    const result = await runCli(['setup', '--username', 'admin'], { env, input: '' });
    expectOneLineError(result, 1, /expected a value on standard input/);
    expect(await readUsers(database)).toEqual([]);
  });

  it('user reset-password changes the hash; unknown users and weak passwords fail with exit 1', async () => {
    expectSuccess(await runCli(['setup', '--username', 'Admin', '--password', PASSWORD], { env }));
    const [before] = await readUsers(database);
    // Whoever held the old password has a session and an API token.
    const db = openDatabase(database);
    const now = new Date().toISOString();
    const later = new Date(Date.now() + 3_600_000).toISOString();
    try {
      await db('auth_sessions').insert({ id: 's1', secret_hash: 'a'.repeat(64), user_id: before.id, created_at: now, last_seen_at: now, expires_at: later });
      await db('auth_api_tokens').insert({ id: 't1', secret_hash: 'b'.repeat(64), prefix: 'bct_x', user_id: before.id, name: 'script', created_at: now });
    } finally {
      await db.destroy();
    }

    // Usernames match case-insensitively.
    const reset = await runCli(['user', 'reset-password', 'admin', '--password', 'N3wPassw0rd!'], { env });
    expectSuccess(reset);
    expect(reset.stdout).toMatch(/Password of "admin" changed; 1 session\(s\) and 1 API token\(s\) ended/);
    const check = openDatabase(database);
    try {
      expect(await check('auth_sessions').where({ user_id: before.id })).toHaveLength(0);
      expect(await check('auth_api_tokens').where({ user_id: before.id })).toHaveLength(0);
    } finally {
      await check.destroy();
    }
    const [after] = await readUsers(database);
    expect(after.id).toBe(before.id);
    expect(after.password_hash).toMatch(/^\$argon2id\$/);
    expect(after.password_hash).not.toBe(before.password_hash);
    expect(await argon2.verify(after.password_hash, 'N3wPassw0rd!')).toBe(true);
    expect(await argon2.verify(after.password_hash, PASSWORD)).toBe(false);

    expectOneLineError(await runCli(['user', 'reset-password', 'nobody', '--password', 'N3wPassw0rd!'], { env }), 1, /no user named "nobody"/);
    expectOneLineError(
      await runCli(['user', 'reset-password', 'admin', '--password', 'alllowercase1'], { env }),
      1,
      /password rejected: must contain an upper-case letter/
    );
    expect((await readUsers(database))[0].password_hash).toBe(after.password_hash);

    // Piped on standard input.
    expectSuccess(await runCli(['user', 'reset-password', 'admin'], { env, input: 'Pip3dPassword\n' }));
    expect(await argon2.verify((await readUsers(database))[0].password_hash, 'Pip3dPassword')).toBe(true);
    const audited = openDatabase(database);
    try {
      const entries = await audited('audit_log').where({ action: 'user.update', target_id: before.id });
      expect(entries.map((e) => JSON.parse(e.details))).toEqual([
        { fields: ['password'], source: 'cli' },
        { fields: ['password'], source: 'cli' }
      ]);
    } finally {
      await audited.destroy();
    }
  });

  it('user reset-mfa removes a lost second factor, audited; a user without one or no such user changes nothing', async () => {
    expectSuccess(await runCli(['setup', '--username', 'Admin', '--password', PASSWORD], { env }));
    const [admin] = await readUsers(database);
    const db = openDatabase(database);
    try {
      await db('auth_mfa').insert({
        user_id: admin.id,
        enabled: true,
        totp_secret: 'sealed',
        recovery_code_hashes: '[]',
        updated_at: new Date().toISOString()
      });
    } finally {
      await db.destroy();
    }
    const reset = await runCli(['user', 'reset-mfa', 'admin'], { env });
    expectSuccess(reset);
    expect(reset.stdout).toBe('MFA of "Admin" removed; they sign in with their password alone until they enrol again.\n');
    const again = await runCli(['user', 'reset-mfa', 'admin'], { env });
    expectSuccess(again);
    expect(again.stdout).toBe('"Admin" has no MFA; nothing changed.\n');
    expectOneLineError(await runCli(['user', 'reset-mfa', 'nobody'], { env }), 1, /no user named "nobody"/);
    const check = openDatabase(database);
    try {
      expect(await check('auth_mfa').where({ user_id: admin.id })).toHaveLength(0);
      const entries = await check('audit_log').where({ action: 'user.mfa_reset' });
      expect(entries.map((e) => [e.target_id, JSON.parse(e.details)])).toEqual([[admin.id, { username: 'Admin', source: 'cli' }]]);
    } finally {
      await check.destroy();
    }
  });

  it('serve creates the SuperAdmin from BILBYCAST_ADMIN_USERNAME/PASSWORD only on an empty database', async () => {
    const bootstrap = { ...env, BILBYCAST_ADMIN_USERNAME: 'boot', BILBYCAST_ADMIN_PASSWORD: PASSWORD };
    const first = await startServe(bootstrap);
    const users = await readUsers(database);
    expect(users.map((u) => [u.username, u.role])).toEqual([['boot', 'super_admin']]);
    expect(users[0].password_hash).toMatch(/^\$argon2id\$/);
    expect(await argon2.verify(users[0].password_hash, PASSWORD)).toBe(true);
    const firstExit = await stopServe(first.cli);
    expect([firstExit.code, firstExit.timedOut]).toEqual([0, false]);
    expect(logEntries(firstExit.stdout).some((e) => e.msg === 'created the bootstrap SuperAdmin from the environment')).toBe(true);

    // A second start with other credentials creates nobody and leaves the first account alone.
    const second = await startServe({ ...env, BILBYCAST_ADMIN_USERNAME: 'another', BILBYCAST_ADMIN_PASSWORD: 'An0therPassw0rd' });
    const secondExit = await stopServe(second.cli);
    expect([secondExit.code, secondExit.timedOut]).toEqual([0, false]);
    expect(await readUsers(database)).toEqual(users);
    expect(logEntries(secondExit.stdout).some((e) => e.msg === 'created the bootstrap SuperAdmin from the environment')).toBe(false);
  });
});
