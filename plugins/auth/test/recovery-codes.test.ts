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

describe('hashRecoveryCode', () => {
  it('is the SHA-256 hex of the normalised code', () => {
    expect(hashRecoveryCode('abcde-fghjk')).toBe(crypto.createHash('sha256').update('abcdefghjk').digest('hex'));
    expect(hashRecoveryCode('abcde-fghjk')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('ignores case, spaces and dashes, and maps look-alikes', () => {
    const hash = hashRecoveryCode('7k2qd-m9x10');
    for (const typed of ['7K2QD-M9X10', '7k2qdm9x10', ' 7k2qd m9x10 ', '7k2-qd-m9x-10', '7k2qd-m9xl0', '7k2qd-m9xIO']) {
      expect(hashRecoveryCode(typed)).toBe(hash);
    }
    expect(normaliseRecoveryCode(' AbC-dE ')).toBe('abcde');
    expect(hashRecoveryCode('7k2qd-m9x11')).not.toBe(hash);
  });
});

describe('matchRecoveryCode', () => {
  const codes = generateRecoveryCodes();
  const hashes = codes.map(hashRecoveryCode);

  it('returns the hash of the matching code', () => {
    for (const [index, code] of codes.entries()) {
      expect(matchRecoveryCode(code, hashes)).toBe(hashes[index]);
      expect(matchRecoveryCode(code.toUpperCase().replace('-', ' '), hashes)).toBe(hashes[index]);
    }
  });

  it('returns null for any other input', () => {
    const [other] = generateRecoveryCodes(1).filter((code) => !codes.includes(code));
    expect(matchRecoveryCode(other ?? 'zzzzz-zzzzz', hashes)).toBeNull();
    expect(matchRecoveryCode('', hashes)).toBeNull();
    expect(matchRecoveryCode(codes[0]!.slice(0, 9), hashes)).toBeNull();
    expect(matchRecoveryCode(codes[0]!, [])).toBeNull();
    expect(matchRecoveryCode(undefined as unknown as string, hashes)).toBeNull();
  });

  it('skips malformed stored values', () => {
    const code = codes[0]!;
    expect(matchRecoveryCode(code, ['', 'not-hex', 'abcd', hashes[0]!])).toBe(hashes[0]);
    expect(matchRecoveryCode(code, [hashes[0]!.toUpperCase()])).toBe(hashes[0]!.toUpperCase());
  });
});
