import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createTestDatabase, LogCapture, testConfig, testDatabases, type TestDatabase } from '@bilbycast/tests';
import type { Plugin } from '@hapi/hapi';
import type { Knex } from 'knex';
import {
  ConfigError,
  createManager,
  parseMasterKey,
  reencryptSecrets,
  SecretBox,
  SecretDecryptionError,
  type Manager,
  type Migration,
  type SecretLocation
} from '../src';

const TABLE = 'vault_items';
const COLUMN = 'secret';
const KEY_CHECK = { table: 'master_key_check', column: 'check_value', rowId: 1 } as const;

/** A plugin owning a table with one encrypted column, keyed by application-generated string ids. */
const vaultMigrations: Migration[] = [
  {
    name: '001_vault_items',
    up: (db) =>
      db.schema.createTable(TABLE, (t) => {
        t.string('id', 36).primary();
        t.string('label', 64).notNullable();
        t.text(COLUMN).nullable();
      }),
    down: (db) => db.schema.dropTable(TABLE)
  }
];
const vaultPlugin: Plugin<unknown> = {
  name: 'vault',
  register(server) {
    server.manager.migrations.add('vault', vaultMigrations);
    server.manager.secretColumns.register({ table: TABLE, column: COLUMN });
  }
};

const newKeyHex = () => crypto.randomBytes(32).toString('hex');
const at = (rowId: string): SecretLocation => ({ table: TABLE, column: COLUMN, rowId });

/** Rejection of `promise`, which must reject. */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

/** decrypt must throw a SecretDecryptionError; returns it. */
function decryptError(box: SecretBox, stored: string, where: SecretLocation): SecretDecryptionError {
  try {
    box.decrypt(stored, where);
  } catch (err) {
    expect(err).toBeInstanceOf(SecretDecryptionError);
    return err as SecretDecryptionError;
  }
  throw new Error('expected decrypt to fail');
}

async function readSecrets(db: Knex): Promise<Record<string, string | null>> {
  const rows: { id: string; secret: string | null }[] = await db(TABLE).select('id', COLUMN).orderBy('id');
  return Object.fromEntries(rows.map((r) => [r.id, r.secret]));
}

async function readKeyCheck(db: Knex): Promise<string> {
  const row = await db(KEY_CHECK.table).where({ id: 1 }).first();
  return row.check_value as string;
}

describe.each(testDatabases())('master key on %s', (kind) => {
  let database: TestDatabase;
  const running: Manager[] = [];

  async function startManager(masterKey: string | undefined, extra: { logs?: LogCapture } = {}): Promise<Manager> {
    const manager = await createManager({
      config: testConfig(database, { master_key: masterKey, ...(extra.logs ? { log_level: 'warn' } : {}) }),
      plugins: [vaultPlugin],
      logDestination: extra.logs
    });
    running.push(manager);
    return manager;
  }

  beforeEach(async () => {
    database = await createTestDatabase(kind);
  });
  afterEach(async () => {
    for (const manager of running.splice(0)) await manager.stop();
    await database.cleanup();
  });

  describe('key file in the data dir', () => {
    it('is generated once with mode 0600, announced with a warning, and reused afterwards', async () => {
      const keyFile = path.join(database.dataDir, 'master.key');
      expect(fs.existsSync(keyFile)).toBe(false);

      const firstLogs = new LogCapture();
      const first = await startManager(undefined, { logs: firstLogs });
      expect(fs.existsSync(keyFile)).toBe(true);
      expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
      const content = fs.readFileSync(keyFile, 'utf8');
      expect(content.trim()).toMatch(/^[0-9a-f]{64}$/);
      const keyHex = content.trim();
      expect(first.context.masterKey).toEqual({ source: 'file', file: keyFile });
      expect(first.context.secrets.keyId).toBe(new SecretBox(parseMasterKey(keyHex)).keyId);

      const warnings = firstLogs.entries().filter((e) => e.level === 40 && /master key/.test(String(e.msg)));
      expect(warnings).toHaveLength(1);
      expect(String(warnings[0].msg)).toMatch(/back (this file )?up/i);
      expect(warnings[0].file).toBe(keyFile);
      expect(firstLogs.text.toLowerCase()).not.toContain(keyHex);
      // log_level warn: nothing below warn was written.
      expect(firstLogs.entries().every((e) => Number(e.level) >= 40)).toBe(true);

      await first.initialize();
      const stored = first.context.secrets.encrypt('kept across restarts', at('row-1'));
      await first.context.db(TABLE).insert({ id: 'row-1', label: 'one', secret: stored });
      await first.stop();

      const secondLogs = new LogCapture();
      const second = await startManager(undefined, { logs: secondLogs });
      expect(fs.readFileSync(keyFile, 'utf8')).toBe(content);
      expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
      expect(second.context.masterKey).toEqual({ source: 'file', file: keyFile });
      expect(second.context.secrets.keyId).toBe(first.context.secrets.keyId);
      expect(secondLogs.text).not.toMatch(/generated a new master key/);
      await second.initialize();
      const row = await second.context.db(TABLE).where({ id: 'row-1' }).first();
      expect(second.context.secrets.decrypt(row.secret, at('row-1'))).toBe('kept across restarts');
    });

    it('warns when the key file can be read by other users', async () => {
      const keyFile = path.join(database.dataDir, 'master.key');
      fs.writeFileSync(keyFile, `${'c'.repeat(64)}\n`, { mode: 0o644 });
      fs.chmodSync(keyFile, 0o644);
      const logs = new LogCapture();
      await startManager(undefined, { logs });
      const warnings = logs.entries().filter((e) => e.level === 40 && e.file === keyFile);
      expect(warnings.map((e) => e.msg)).toEqual(['the master key file can be read by other users: restrict it with chmod 600']);
      expect(logs.text).not.toContain('c'.repeat(64));
    });

    it('is ignored when a master key is configured', async () => {
      const keyFile = path.join(database.dataDir, 'master.key');
      const key = newKeyHex();
      const manager = await startManager(key);
      expect(fs.existsSync(keyFile)).toBe(false);
      expect(manager.context.masterKey).toEqual({ source: 'config', file: undefined });
      expect(manager.context.secrets.keyId).toBe(new SecretBox(parseMasterKey(key)).keyId);
      await manager.initialize();
    });

    it('accepts an existing file in upper case with a trailing newline', async () => {
      const key = newKeyHex();
      const keyFile = path.join(database.dataDir, 'master.key');
      fs.writeFileSync(keyFile, `${key.toUpperCase()}\n`, { mode: 0o600 });
      const manager = await startManager(undefined);
      expect(manager.context.secrets.keyId).toBe(new SecretBox(parseMasterKey(key)).keyId);
      expect(fs.readFileSync(keyFile, 'utf8')).toBe(`${key.toUpperCase()}\n`);
    });

    it.each([
      ['garbage', 'not a key\n'],
      ['one character short', `${'a'.repeat(63)}\n`],
      ['two keys', `${'a'.repeat(64)}\n${'b'.repeat(64)}\n`],
      ['empty', '']
    ])('refuses a malformed file (%s) with a ConfigError and leaves it alone', async (_label, content) => {
      const keyFile = path.join(database.dataDir, 'master.key');
      fs.writeFileSync(keyFile, content, { mode: 0o600 });
      const error = await rejection(startManager(undefined));
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toContain(keyFile);
      expect(error.message).toMatch(/64 hexadecimal characters/);
      if (content.trim()) expect(error.message).not.toContain(content.trim());
      expect(fs.readFileSync(keyFile, 'utf8')).toBe(content);
    });
  });

  describe('key check against the database', () => {
    it('refuses a key that does not match the database', async () => {
      const keyA = newKeyHex();
      const keyB = newKeyHex();
      const first = await startManager(keyA);
      await first.initialize();
      const checkValue = await readKeyCheck(first.context.db);
      await first.stop();

      const second = await startManager(keyB);
      const error = await rejection(second.initialize());
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toMatch(/does not match/);
      expect(error.message).toContain(second.context.secrets.keyId);
      expect(error.message).toContain(first.context.secrets.keyId);
      expect(error.message).not.toContain(keyA);
      expect(error.message).not.toContain(keyB);
      await second.stop();

      // The refused start left the check value alone: key A still works.
      const third = await startManager(keyA);
      await third.initialize();
      expect(await readKeyCheck(third.context.db)).toBe(checkValue);
    });

    it('refuses a check value that was tampered with', async () => {
      const key = newKeyHex();
      const first = await startManager(key);
      await first.initialize();
      // Same key id, but written for another location: the integrity check fails.
      const misplaced = first.context.secrets.encrypt('bilbycast-manager master key check', { ...KEY_CHECK, rowId: 2 });
      await first.context.db(KEY_CHECK.table).where({ id: 1 }).update({ check_value: misplaced });
      await first.stop();

      const second = await startManager(key);
      const error = await rejection(second.initialize());
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toMatch(/does not match/);
      await second.stop();
    });
  });

  describe('rotation', () => {
    const plaintexts: Record<string, string> = {
      'a-0001': 'first secret',
      'a-0002': 'ünïcödé 🔑',
      'a-0003': '',
      'a-0004': 'x'.repeat(2000)
    };

    async function seed(manager: Manager): Promise<void> {
      const { db, secrets } = manager.context;
      for (const [id, plaintext] of Object.entries(plaintexts)) {
        await db(TABLE).insert({ id, label: id, secret: secrets.encrypt(plaintext, at(id)) });
      }
      await db(TABLE).insert({ id: 'a-0005', label: 'no secret', secret: null });
    }

    it('re-encrypts every registered secret column, including the key check', async () => {
      const oldKey = newKeyHex();
      const newKey = newKeyHex();
      const manager = await startManager(oldKey);
      await manager.initialize();
      await seed(manager);
      const { db, secretColumns } = manager.context;
      const oldBox = manager.context.secrets;
      const newBox = new SecretBox(parseMasterKey(newKey));
      const before = await readSecrets(db);
      const checkBefore = await readKeyCheck(db);

      expect(secretColumns.list()).toEqual(
        expect.arrayContaining([
          { table: 'master_key_check', column: 'check_value', idColumn: 'id' },
          { table: TABLE, column: COLUMN, idColumn: 'id' }
        ])
      );
      const report = await reencryptSecrets(db, secretColumns.list(), oldBox, newBox);
      expect(report).toEqual({
        oldKeyId: oldBox.keyId,
        newKeyId: newBox.keyId,
        reencrypted: { 'master_key_check.check_value': 1, [`${TABLE}.${COLUMN}`]: 4 }
      });

      const after = await readSecrets(db);
      expect(Object.keys(after).sort()).toEqual(['a-0001', 'a-0002', 'a-0003', 'a-0004', 'a-0005']);
      expect(after['a-0005']).toBeNull();
      for (const [id, plaintext] of Object.entries(plaintexts)) {
        const stored = after[id] as string;
        expect(stored).not.toBe(before[id]);
        expect(stored.startsWith(`bcsec:v1:${newBox.keyId}:`)).toBe(true);
        expect(newBox.decrypt(stored, at(id))).toBe(plaintext);
        const err = decryptError(oldBox, stored, at(id));
        expect(err.code).toBe('wrong_master_key');
        expect(err.keyId).toBe(newBox.keyId);
      }

      const checkAfter = await readKeyCheck(db);
      expect(checkAfter).not.toBe(checkBefore);
      expect(newBox.decrypt(checkAfter, KEY_CHECK)).toBe(oldBox.decrypt(checkBefore, KEY_CHECK));
      expect(decryptError(oldBox, checkAfter, KEY_CHECK).code).toBe('wrong_master_key');
      await manager.stop();

      const withNewKey = await startManager(newKey);
      await withNewKey.initialize();
      expect(withNewKey.context.secrets.decrypt((await readSecrets(withNewKey.context.db))['a-0001'] as string, at('a-0001'))).toBe('first secret');
      await withNewKey.stop();

      const withOldKey = await startManager(oldKey);
      const error = await rejection(withOldKey.initialize());
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toMatch(/does not match/);
    });

    it('changes nothing when a value cannot be decrypted midway', async () => {
      const oldKey = newKeyHex();
      const newKey = newKeyHex();
      const manager = await startManager(oldKey);
      await manager.initialize();
      await seed(manager);
      const { db, secretColumns } = manager.context;
      const oldBox = manager.context.secrets;
      // Sorts (and is stored) after the valid rows: a value copied from another row.
      const corrupt = (await readSecrets(db))['a-0001'] as string;
      await db(TABLE).insert({ id: 'z-9999', label: 'corrupt', secret: corrupt });
      const before = await readSecrets(db);
      const checkBefore = await readKeyCheck(db);

      const newBox = new SecretBox(parseMasterKey(newKey));
      const encrypt = jest.spyOn(newBox, 'encrypt');
      const error = await rejection(reencryptSecrets(db, secretColumns.list(), oldBox, newBox));
      expect(error).toBeInstanceOf(SecretDecryptionError);
      expect((error as SecretDecryptionError).code).toBe('integrity_check_failed');
      expect(error.message).toContain(`${TABLE}.${COLUMN} of row z-9999`);
      // The key check and the four valid rows were re-encrypted before the failure...
      expect(encrypt).toHaveBeenCalledTimes(5);

      // ...and all of it was rolled back.
      expect(await readSecrets(db)).toEqual(before);
      expect(await readKeyCheck(db)).toBe(checkBefore);
      for (const [id, plaintext] of Object.entries(plaintexts)) {
        expect(oldBox.decrypt(before[id] as string, at(id))).toBe(plaintext);
        expect(decryptError(newBox, before[id] as string, at(id)).code).toBe('wrong_master_key');
      }
      expect(decryptError(newBox, checkBefore, KEY_CHECK).code).toBe('wrong_master_key');
      await manager.stop();

      const withNewKey = await startManager(newKey);
      expect(await rejection(withNewKey.initialize())).toBeInstanceOf(ConfigError);
      await withNewKey.stop();
      const withOldKey = await startManager(oldKey);
      await withOldKey.initialize();
    });
  });
});
