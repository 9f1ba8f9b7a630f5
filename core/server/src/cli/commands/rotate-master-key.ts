import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../../config/errors';
import { SecretBox, parseMasterKey } from '../../encryption/secret-box';
import { reencryptSecrets } from '../../encryption/secret-columns';
import { commandConfig, withInitializedManager } from '../command-context';
import type { CliManifest } from '../program';

/**
 * `rotate-master-key`: re-encrypt every registered secret column under a new master key in one
 * transaction. Run it with the manager stopped.
 *
 * - Key from `<data_dir>/master.key`: a new key is generated (or taken from
 *   BILBYCAST_NEW_MASTER_KEY), written to `master.key.new` before the database changes, then
 *   swapped in; the old file is kept as `master.key.<old key id>.retired`.
 * - Key from BILBYCAST_MASTER_KEY: BILBYCAST_NEW_MASTER_KEY is required; afterwards the
 *   operator puts the new value in BILBYCAST_MASTER_KEY.
 */
export function registerRotateMasterKeyCommand(program: Command, manifest: CliManifest): void {
  program
    .command('rotate-master-key')
    .description('re-encrypt all secrets under a new master key (stop the manager first)')
    .action(async () => {
      const config = commandConfig(manifest, program.opts(), true);
      const newKeyHex = process.env.BILBYCAST_NEW_MASTER_KEY?.trim();
      if (newKeyHex !== undefined && newKeyHex !== '' && !/^[0-9a-fA-F]{64}$/.test(newKeyHex)) {
        throw new ConfigError('BILBYCAST_NEW_MASTER_KEY must be 64 hexadecimal characters (32 bytes)');
      }
      await withInitializedManager(manifest, config, async (manager) => {
        const { db, secrets, secretColumns, masterKey } = manager.context;
        if (masterKey.source === 'config' && !newKeyHex) {
          throw new ConfigError('the master key comes from BILBYCAST_MASTER_KEY: set BILBYCAST_NEW_MASTER_KEY to the new key');
        }
        const newKey = newKeyHex ? parseMasterKey(newKeyHex) : crypto.randomBytes(32);
        const next = new SecretBox(newKey);
        if (next.keyId === secrets.keyId) throw new ConfigError('the new master key is the same as the current one');

        const pendingFile = masterKey.file ? `${masterKey.file}.new` : undefined;
        if (pendingFile) writeDurably(pendingFile, `${newKey.toString('hex')}\n`);
        const report = await reencryptSecrets(db, secretColumns.list(), secrets, next).catch((err: unknown) => {
          if (pendingFile) fs.rmSync(pendingFile, { force: true });
          throw err;
        });
        if (masterKey.file && pendingFile) {
          // The old key is copied aside and the new one renamed over it in one atomic step:
          // there is never a moment without a master.key (a start then would create a new one).
          fs.copyFileSync(masterKey.file, `${masterKey.file}.${secrets.keyId}.retired`, fs.constants.COPYFILE_EXCL);
          fs.renameSync(pendingFile, masterKey.file);
          syncDirectory(path.dirname(masterKey.file));
        }

        const total = Object.values(report.reencrypted).reduce((a, b) => a + b, 0);
        console.log(`Re-encrypted ${total} secret value(s): master key ${report.oldKeyId} -> ${report.newKeyId}.`);
        for (const [column, count] of Object.entries(report.reencrypted)) console.log(`  ${column}: ${count}`);
        if (masterKey.file) {
          console.log(`New key written to ${masterKey.file}; the old one was kept as ${masterKey.file}.${report.oldKeyId}.retired. Back up the new key.`);
        } else {
          console.log('Now set BILBYCAST_MASTER_KEY to the value of BILBYCAST_NEW_MASTER_KEY before starting the manager.');
        }
      });
    });
}

/** Writes a new file (never replacing one) and flushes it to disk before the database changes. */
function writeDurably(file: string, content: string): void {
  const fd = fs.openSync(file, 'wx', 0o600);
  try {
    fs.writeSync(fd, content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  syncDirectory(path.dirname(file));
}

/** Makes a rename or a new file in `dir` survive a power loss. */
function syncDirectory(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
