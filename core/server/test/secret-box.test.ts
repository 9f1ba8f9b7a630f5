import crypto from 'node:crypto';
import { SecretBox, SecretDecryptionError, parseMasterKey, type SecretLocation } from '../src';

const FORMAT = /^bcsec:v1:([0-9a-f]{8}):([A-Za-z0-9_-]+)$/;
const here: SecretLocation = { table: 'devices', column: 'api_secret', rowId: 'd-1' };
const PLAINTEXT = 'correct horse battery staple';

function newKeyHex(): string {
  return crypto.randomBytes(32).toString('hex');
}

function newBox(): SecretBox {
  return new SecretBox(crypto.randomBytes(32));
}

function splitStored(stored: string): { prefix: string; keyId: string; body: Buffer } {
  const match = FORMAT.exec(stored);
  if (!match) throw new Error(`unexpected format: ${stored}`);
  return { prefix: `bcsec:v1:${match[1]}:`, keyId: match[1], body: Buffer.from(match[2], 'base64url') };
}

/** Runs `fn`, which must throw a SecretDecryptionError, and returns that error. */
function decryptError(fn: () => unknown): SecretDecryptionError {
  let result: unknown;
  try {
    result = fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SecretDecryptionError);
    return err as SecretDecryptionError;
  }
  throw new Error(`expected a SecretDecryptionError, but decrypt returned ${JSON.stringify(result)}`);
}

describe('SecretBox round trip', () => {
  const box = newBox();

  it.each([
    ['ascii', PLAINTEXT],
    ['empty string', ''],
    ['unicode', 'pässwörd – 密码 – 🔐🎥 – ∑∂'],
    ['colons and newlines', 'a:b:c\nd:e'],
    ['long value', 'x'.repeat(10_000)]
  ])('decrypts what it encrypted (%s)', (_label, plaintext) => {
    const stored = box.encrypt(plaintext, here);
    expect(box.decrypt(stored, here)).toBe(plaintext);
  });

  it('decrypts with another SecretBox built from the same master key', () => {
    const key = crypto.randomBytes(32);
    const stored = new SecretBox(key).encrypt(PLAINTEXT, here);
    expect(new SecretBox(Buffer.from(key)).decrypt(stored, here)).toBe(PLAINTEXT);
  });

  it('treats numeric and string row ids as the same row', () => {
    const where = { table: 't', column: 'c', rowId: 42 };
    expect(box.decrypt(box.encrypt(PLAINTEXT, where), { ...where, rowId: '42' })).toBe(PLAINTEXT);
  });

  it('uses a fresh IV for every encryption', () => {
    const a = box.encrypt(PLAINTEXT, here);
    const b = box.encrypt(PLAINTEXT, here);
    expect(a).not.toBe(b);
    expect(splitStored(a).body.subarray(0, 12).equals(splitStored(b).body.subarray(0, 12))).toBe(false);
    expect(box.decrypt(a, here)).toBe(PLAINTEXT);
    expect(box.decrypt(b, here)).toBe(PLAINTEXT);
  });

  it('stores bcsec:v1:<keyId>:<base64url(iv | ciphertext | tag)> without the plaintext', () => {
    const stored = box.encrypt(PLAINTEXT, here);
    expect(stored).toMatch(FORMAT);
    const { keyId, body } = splitStored(stored);
    expect(keyId).toBe(box.keyId);
    // 12-byte IV + ciphertext (same length as the UTF-8 plaintext) + 16-byte tag.
    expect(body.length).toBe(12 + Buffer.byteLength(PLAINTEXT) + 16);
    expect(stored).not.toContain(PLAINTEXT);
    expect(body.includes(Buffer.from(PLAINTEXT))).toBe(false);
    expect(splitStored(box.encrypt('', here)).body.length).toBe(28);
  });

  it('has a key id that is stable per key and differs across keys', () => {
    const key = crypto.randomBytes(32);
    const first = new SecretBox(key);
    const second = new SecretBox(Buffer.from(key));
    expect(first.keyId).toMatch(/^[0-9a-f]{8}$/);
    expect(second.keyId).toBe(first.keyId);
    expect(newBox().keyId).not.toBe(first.keyId);
    // The key id is a fingerprint, not a slice of the key.
    expect(key.toString('hex')).not.toContain(first.keyId);
  });
});

describe('SecretBox tampering', () => {
  const box = newBox();
  const stored = box.encrypt(PLAINTEXT, here);
  const { prefix, body } = splitStored(stored);

  function withBody(changed: Buffer): string {
    return `${prefix}${changed.toString('base64url')}`;
  }

  it.each([
    ['the IV', 0],
    ['the ciphertext', 12 + 3],
    ['the auth tag', body.length - 1]
  ])('reports a flipped byte in %s as integrity_check_failed', (_label, index) => {
    const changed = Buffer.from(body);
    changed[index] ^= 0x01;
    const err = decryptError(() => box.decrypt(withBody(changed), here));
    expect(err.code).toBe('integrity_check_failed');
    expect(err.keyId).toBe(box.keyId);
  });

  it('reports a body truncated by one byte as integrity_check_failed', () => {
    const err = decryptError(() => box.decrypt(withBody(body.subarray(0, body.length - 1)), here));
    expect(err.code).toBe('integrity_check_failed');
  });

  it('reports a body too short to hold an IV and tag as malformed_ciphertext', () => {
    const err = decryptError(() => box.decrypt(withBody(body.subarray(0, 27)), here));
    expect(err.code).toBe('malformed_ciphertext');
  });

  it('never returns a value for a stored string cut short anywhere', () => {
    for (let length = 0; length < stored.length; length++) {
      const err = decryptError(() => box.decrypt(stored.slice(0, length), here));
      expect(['malformed_ciphertext', 'integrity_check_failed']).toContain(err.code);
    }
  });

  it.each([
    ['characters outside base64url', `${prefix}!!!!${stored.slice(prefix.length + 4)}`],
    ['standard base64 with padding', `${prefix}${body.toString('base64')}=`],
    ['an empty body', prefix],
    ['an extra field', `${stored}:extra`],
    ['a missing field', stored.replace(/^bcsec:v1:/, 'bcsec:')],
    ['another prefix', stored.replace(/^bcsec:/, 'xxsec:')],
    ['plain text that was never encrypted', PLAINTEXT],
    ['an empty string', '']
  ])('reports %s as malformed_ciphertext', (_label, value) => {
    const err = decryptError(() => box.decrypt(value, here));
    expect(err.code).toBe('malformed_ciphertext');
  });

  it('reports a value that is not a string as malformed_ciphertext', () => {
    const err = decryptError(() => box.decrypt(null as unknown as string, here));
    expect(err.code).toBe('malformed_ciphertext');
  });

  it.each(['v2', 'v0', 'V1', ''])('reports version %j as unsupported_version', (version) => {
    const err = decryptError(() => box.decrypt(stored.replace(/^bcsec:v1:/, `bcsec:${version}:`), here));
    expect(err.code).toBe('unsupported_version');
    expect(err.keyId).toBe(box.keyId);
  });

  it('reports a key id edited in the stored value as wrong_master_key', () => {
    const otherId = box.keyId === '00000000' ? '11111111' : '00000000';
    const err = decryptError(() => box.decrypt(stored.replace(`:${box.keyId}:`, `:${otherId}:`), here));
    expect(err.code).toBe('wrong_master_key');
    expect(err.keyId).toBe(otherId);
  });

  it.each<[string, SecretLocation]>([
    ['another row', { ...here, rowId: 'd-2' }],
    ['another column', { ...here, column: 'password' }],
    ['another table', { ...here, table: 'relays' }],
    ['a row id with a trailing space', { ...here, rowId: 'd-1 ' }]
  ])('refuses a value moved to %s with integrity_check_failed', (_label, elsewhere) => {
    const err = decryptError(() => box.decrypt(stored, elsewhere));
    expect(err.code).toBe('integrity_check_failed');
    expect(err.message).toContain(`${elsewhere.table}.${elsewhere.column}`);
  });

  it('refuses a value written under another master key with wrong_master_key', () => {
    const other = newBox();
    const err = decryptError(() => other.decrypt(stored, here));
    expect(err.code).toBe('wrong_master_key');
    expect(err.keyId).toBe(box.keyId);
    expect(err.message).toContain(box.keyId);
    expect(err.message).toContain(other.keyId);
  });

  it('refuses a value re-labelled with the reader key id (forged key id) with integrity_check_failed', () => {
    const other = newBox();
    const forged = stored.replace(`:${box.keyId}:`, `:${other.keyId}:`);
    const err = decryptError(() => other.decrypt(forged, here));
    expect(err.code).toBe('integrity_check_failed');
  });

  it('never puts the plaintext or key material in error messages', () => {
    const keyHex = newKeyHex();
    const key = parseMasterKey(keyHex);
    const secretBox = new SecretBox(key);
    const secret = 'TOP-SECRET-VALUE-1234';
    const value = secretBox.encrypt(secret, here);
    const { prefix: p, body: b } = splitStored(value);
    const flipped = Buffer.from(b);
    flipped[20] ^= 0xff;
    const failures = [
      decryptError(() => secretBox.decrypt(value, { ...here, rowId: 'other' })),
      decryptError(() => secretBox.decrypt(`${p}${flipped.toString('base64url')}`, here)),
      decryptError(() => newBox().decrypt(value, here)),
      decryptError(() => secretBox.decrypt(value.replace(':v1:', ':v9:'), here)),
      decryptError(() => secretBox.decrypt(secret, here))
    ];
    expect(failures.map((e) => e.code)).toEqual([
      'integrity_check_failed',
      'integrity_check_failed',
      'wrong_master_key',
      'unsupported_version',
      'malformed_ciphertext'
    ]);
    for (const err of failures) {
      expect(err.name).toBe('SecretDecryptionError');
      for (const text of [err.message, String(err), JSON.stringify(err)]) {
        expect(text).not.toContain(secret);
        expect(text.toLowerCase()).not.toContain(keyHex.toLowerCase());
        expect(text).not.toContain(key.toString('base64'));
        expect(text).not.toContain(key.toString('base64url'));
      }
    }
  });
});

describe('master key parsing', () => {
  it('accepts 64 hex characters in either case', () => {
    const hex = newKeyHex();
    expect(parseMasterKey(hex).equals(Buffer.from(hex, 'hex'))).toBe(true);
    expect(parseMasterKey(hex.toUpperCase()).equals(Buffer.from(hex, 'hex'))).toBe(true);
    expect(parseMasterKey(hex)).toHaveLength(32);
  });

  it.each([
    ['too short', 'ab'.repeat(31)],
    ['one character short', 'a'.repeat(63)],
    ['too long', 'ab'.repeat(33)],
    ['not hex', 'g'.repeat(64)],
    ['padded with spaces', ` ${'a'.repeat(62)} `],
    ['followed by a newline', `${'a'.repeat(64)}\n`],
    ['base64 encoded', crypto.randomBytes(32).toString('base64')],
    ['empty', '']
  ])('rejects a key that is %s without echoing it', (_label, value) => {
    let error: unknown;
    try {
      parseMasterKey(value);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/64 hexadecimal characters/);
    if (value.trim()) expect((error as Error).message).not.toContain(value.trim());
  });

  it.each([0, 16, 31, 33, 64])('SecretBox refuses a %i-byte key', (length) => {
    expect(() => new SecretBox(crypto.randomBytes(length))).toThrow(/32 bytes/);
  });
});
