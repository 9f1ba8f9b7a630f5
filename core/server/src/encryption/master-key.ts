import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { ConfigError } from '../config/errors';
import { SecretBox, SecretDecryptionError, parseMasterKey } from './secret-box';

export const MASTER_KEY_FILE = 'master.key';
export const KEY_CHECK_TABLE = 'master_key_check';
const KEY_CHECK_PLAINTEXT = 'bilbycast-manager master key check';
const KEY_CHECK_LOCATION = { table: KEY_CHECK_TABLE, column: 'check_value', rowId: 1 } as const;

export interface ResolvedMasterKey {
  key: Buffer;
  source: 'config' | 'file';
  /** Set when the key was read from (or just written to) the data dir. */
  file?: string;
}

/**
 * The configured key, else `<data_dir>/master.key`. A missing key file is generated once
 * (mode 0600, never overwritten) with a warning to back it up.
 */
export function resolveMasterKey(configured: string | undefined, dataDir: string, logger: Logger): ResolvedMasterKey {
  if (configured) return { key: parseMasterKey(configured), source: 'config' };
  const file = path.join(dataDir, MASTER_KEY_FILE);
  let text: string | undefined;
  try {
    text = fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new ConfigError(`cannot read master key file ${file}: ${(err as NodeJS.ErrnoException).code}`);
    }
  }
  if (text !== undefined) {
    if (!/^[0-9a-fA-F]{64}$/.test(text)) {
      throw new ConfigError(`master key file ${file} must hold 64 hexadecimal characters`);
    }
    if ((fs.statSync(file).mode & 0o077) !== 0) {
      logger.warn({ file }, 'the master key file can be read by other users: restrict it with chmod 600');
    }
    return { key: parseMasterKey(text), source: 'file', file };
  }
  const key = crypto.randomBytes(32);
  try {
    fs.writeFileSync(file, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    throw new ConfigError(`cannot create master key file ${file}: ${(err as NodeJS.ErrnoException).code}`);
  }
  logger.warn({ file }, 'generated a new master key: back this file up; without it encrypted secrets cannot be recovered');
  return { key, source: 'file', file };
}

/**
 * Makes sure the master key is the one this database's secrets were written with. The first
 * start stores an encrypted check value; later starts must be able to decrypt it.
 */
export async function verifyMasterKey(db: Knex, box: SecretBox, keyFile?: string): Promise<void> {
  const row: { check_value: string } | undefined = await db(KEY_CHECK_TABLE).where({ id: 1 }).first('check_value');
  if (!row) {
    await db(KEY_CHECK_TABLE).insert({ id: 1, check_value: box.encrypt(KEY_CHECK_PLAINTEXT, KEY_CHECK_LOCATION) });
    return;
  }
  // An interrupted rotate-master-key may have re-encrypted the database and left its key here.
  const leftover =
    keyFile && fs.existsSync(`${keyFile}.new`)
      ? `; ${keyFile}.new is left from an interrupted rotate-master-key: if it is the database's key, move it to ${keyFile}`
      : '';
  try {
    if (box.decrypt(row.check_value, KEY_CHECK_LOCATION) === KEY_CHECK_PLAINTEXT) return;
  } catch (err) {
    if (err instanceof SecretDecryptionError && err.keyId && err.keyId !== box.keyId) {
      throw new ConfigError(`the master key (id ${box.keyId}) does not match this database, whose secrets use key ${err.keyId}${leftover}`);
    }
  }
  throw new ConfigError(`the master key (id ${box.keyId}) does not match this database's encrypted secrets${leftover}`);
}

export const keyCheckColumn = { table: KEY_CHECK_TABLE, column: 'check_value', idColumn: 'id' };
