import crypto from 'node:crypto';
import {
  RECOVERY_CODE_ALPHABET,
  RECOVERY_CODE_PATTERN,
  generateRecoveryCodes,
  hashRecoveryCode,
  matchRecoveryCode,
  normaliseRecoveryCode
} from '../src/services/recovery-codes';

describe('generateRecoveryCodes', () => {
  it('gives 10 unique codes in the xxxxx-xxxxx format by default', () => {
    const codes = generateRecoveryCodes();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(RECOVERY_CODE_PATTERN);
  });

  it('uses a 32-character alphabet without look-alikes (10 characters = 50 bits)', () => {
    expect(new Set(RECOVERY_CODE_ALPHABET).size).toBe(32);
    expect(RECOVERY_CODE_ALPHABET).not.toMatch(/[ilou]/);
    expect(10 * Math.log2(RECOVERY_CODE_ALPHABET.length)).toBeGreaterThanOrEqual(50);
    const used = new Set(generateRecoveryCodes(200).join('').replace(/-/g, ''));
    for (const char of used) expect(RECOVERY_CODE_ALPHABET).toContain(char);
    expect(used.size).toBe(32); // 2000 draws cover the whole alphabet
  });

  it('honours the count and refuses nonsense', () => {
    expect(generateRecoveryCodes(3)).toHaveLength(3);
    expect(() => generateRecoveryCodes(0)).toThrow(TypeError);
    expect(() => generateRecoveryCodes(1.5)).toThrow(TypeError);
  });
});

const KEY = crypto.randomBytes(32);
const legacy = (code: string) => crypto.createHash('sha256').update(normaliseRecoveryCode(code)).digest('hex');

describe('hashRecoveryCode', () => {
  it("is h1: + the HMAC-SHA256 hex of the normalised code under the user's key", () => {
    expect(hashRecoveryCode('abcde-fghjk', KEY)).toBe(`h1:${crypto.createHmac('sha256', KEY).update('abcdefghjk').digest('hex')}`);
    expect(hashRecoveryCode('abcde-fghjk', KEY)).toMatch(/^h1:[0-9a-f]{64}$/);
    // Without the key (a copy of the database alone), the stored value says nothing: another key, another hash.
    expect(hashRecoveryCode('abcde-fghjk', crypto.randomBytes(32))).not.toBe(hashRecoveryCode('abcde-fghjk', KEY));
    expect(hashRecoveryCode('abcde-fghjk', KEY)).not.toContain(legacy('abcde-fghjk'));
  });

  it('ignores case, spaces and dashes, and maps look-alikes', () => {
    const hash = hashRecoveryCode('7k2qd-m9x10', KEY);
    for (const typed of ['7K2QD-M9X10', '7k2qdm9x10', ' 7k2qd m9x10 ', '7k2-qd-m9x-10', '7k2qd-m9xl0', '7k2qd-m9xIO']) {
      expect(hashRecoveryCode(typed, KEY)).toBe(hash);
    }
    expect(normaliseRecoveryCode(' AbC-dE ')).toBe('abcde');
    expect(hashRecoveryCode('7k2qd-m9x11', KEY)).not.toBe(hash);
  });
});

describe('matchRecoveryCode', () => {
  const codes = generateRecoveryCodes();
  const hashes = codes.map((code) => hashRecoveryCode(code, KEY));

  it('returns the hash of the matching code', () => {
    for (const [index, code] of codes.entries()) {
      expect(matchRecoveryCode(code, hashes, KEY)).toBe(hashes[index]);
      expect(matchRecoveryCode(code.toUpperCase().replace('-', ' '), hashes, KEY)).toBe(hashes[index]);
    }
  });

  it('returns null for any other input, and for keyed hashes without the key', () => {
    const [other] = generateRecoveryCodes(1).filter((code) => !codes.includes(code));
    expect(matchRecoveryCode(other ?? 'zzzzz-zzzzz', hashes, KEY)).toBeNull();
    expect(matchRecoveryCode('', hashes, KEY)).toBeNull();
    expect(matchRecoveryCode(codes[0].slice(0, 9), hashes, KEY)).toBeNull();
    expect(matchRecoveryCode(codes[0], [], KEY)).toBeNull();
    expect(matchRecoveryCode(undefined as unknown as string, hashes, KEY)).toBeNull();
    expect(matchRecoveryCode(codes[0], hashes, null)).toBeNull();
    expect(matchRecoveryCode(codes[0], hashes, crypto.randomBytes(32))).toBeNull();
  });

  it('still accepts codes stored before they were keyed (plain SHA-256)', () => {
    const old = codes.map(legacy);
    expect(matchRecoveryCode(codes[3], old, null)).toBe(old[3]);
    expect(matchRecoveryCode(codes[3], [...hashes.slice(0, 2), old[3]], KEY)).toBe(old[3]);
  });

  it('skips malformed stored values', () => {
    const code = codes[0];
    expect(matchRecoveryCode(code, ['', 'not-hex', 'abcd', 'h1:zz', hashes[0]], KEY)).toBe(hashes[0]);
  });
});
