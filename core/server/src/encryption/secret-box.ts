import crypto from 'node:crypto';

/** Where a secret lives. Bound into the ciphertext, so a value copied to another row fails. */
export interface SecretLocation {
  table: string;
  column: string;
  rowId: string | number;
}

export type SecretErrorCode = 'malformed_ciphertext' | 'unsupported_version' | 'wrong_master_key' | 'integrity_check_failed';

/** A stored secret could not be decrypted. The message never contains key material. */
export class SecretDecryptionError extends Error {
  override readonly name = 'SecretDecryptionError';
  constructor(
    readonly code: SecretErrorCode,
    message: string,
    /** Key id found in the ciphertext, when it could be read. */
    readonly keyId?: string
  ) {
    super(message);
  }
}

const PREFIX = 'bcsec';
const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HKDF_SALT = 'bilbycast-manager/secrets-at-rest';

/** Parses a master key given as 64 hex characters. */
export function parseMasterKey(hex: string): Buffer {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new Error('a master key must be 64 hexadecimal characters');
  }
  return Buffer.from(hex, 'hex');
}

/**
 * AES-256-GCM under a key derived (HKDF-SHA256) from the master key.
 *
 * Stored format: `bcsec:v1:<key id>:<base64url(iv | ciphertext | tag)>`. The key id is a
 * fingerprint of the master key, so a value written under another key is reported as such
 * instead of as corruption. The additional authenticated data names the value's table,
 * column and row.
 */
export class SecretBox {
  readonly keyId: string;
  readonly #dataKey: Buffer;
  readonly #masterKey: Buffer;

  constructor(masterKey: Buffer) {
    if (masterKey.length !== 32) throw new Error('a master key must be 32 bytes');
    this.#masterKey = Buffer.from(masterKey);
    this.#dataKey = Buffer.from(crypto.hkdfSync('sha256', masterKey, HKDF_SALT, 'aes-256-gcm data key v1', 32));
    this.keyId = Buffer.from(crypto.hkdfSync('sha256', masterKey, HKDF_SALT, 'key id v1', 4)).toString('hex');
  }

  /**
   * A key for another purpose (cookie sealing, HMACs) derived from the master key with its
   * own HKDF label, so that no purpose can recover another's key or the master key.
   */
  derive(purpose: string, bytes = 32): Buffer {
    return Buffer.from(crypto.hkdfSync('sha256', this.#masterKey, HKDF_SALT, `derived:${purpose}`, bytes));
  }

  encrypt(plaintext: string, where: SecretLocation): string {
    const iv = crypto.randomBytes(IV_BYTES);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.#dataKey, iv);
    cipher.setAAD(additionalData(where, this.keyId));
    const body = Buffer.concat([iv, cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${PREFIX}:${VERSION}:${this.keyId}:${body.toString('base64url')}`;
  }

  decrypt(stored: string, where: SecretLocation): string {
    const parts = typeof stored === 'string' ? stored.split(':') : [];
    if (parts.length !== 4 || parts[0] !== PREFIX) {
      throw new SecretDecryptionError('malformed_ciphertext', `${describe(where)} is not an encrypted value`);
    }
    const [, version, keyId, encoded] = parts;
    if (version !== VERSION) {
      throw new SecretDecryptionError('unsupported_version', `${describe(where)} uses unknown format ${version}`, keyId);
    }
    if (keyId !== this.keyId) {
      throw new SecretDecryptionError(
        'wrong_master_key',
        `${describe(where)} was encrypted under master key ${keyId}, not the current key ${this.keyId}`,
        keyId
      );
    }
    const body = Buffer.from(encoded, 'base64url');
    if (body.length < IV_BYTES + TAG_BYTES || body.toString('base64url') !== encoded) {
      throw new SecretDecryptionError('malformed_ciphertext', `${describe(where)} is truncated or not base64url`, keyId);
    }
    const decipher = crypto.createDecipheriv('aes-256-gcm', this.#dataKey, body.subarray(0, IV_BYTES));
    decipher.setAAD(additionalData(where, keyId));
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(body.subarray(IV_BYTES, body.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretDecryptionError('integrity_check_failed', `${describe(where)} failed its integrity check (tampered, or copied from another row)`, keyId);
    }
  }
}

function additionalData(where: SecretLocation, keyId: string): Buffer {
  return Buffer.from(`${PREFIX}:${VERSION}:${keyId}:${where.table}.${where.column}#${String(where.rowId)}`, 'utf8');
}

function describe(where: SecretLocation): string {
  return `secret ${where.table}.${where.column} of row ${String(where.rowId)}`;
}
