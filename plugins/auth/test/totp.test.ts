import { execFileSync } from 'node:child_process';
import { TOTP } from '@otplib/totp';
import { currentTotp, generateTotpSecret, totpQrSvg, totpUri, verifyTotp } from '../src/services/totp';

// A fixed clock in the middle of a 30 s step, so ±30 s lands exactly one step away.
const STEP = 56_666_667;
const NOW = new Date((STEP * 30 + 15) * 1000);
const shifted = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);

// RFC 6238 appendix B test key ("12345678901234567890"), base32.
const RFC_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

describe('generateTotpSecret', () => {
  it('is 20 random bytes in base32 without padding', () => {
    const secret = generateTotpSecret();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/); // 160 bits = 32 base32 characters
    expect(Buffer.from(decodeBase32(secret)).length).toBe(20);
    expect(generateTotpSecret()).not.toBe(secret);
  });
});

describe('currentTotp', () => {
  it('matches the RFC 6238 SHA-1 test vectors (last 6 digits)', async () => {
    expect(await currentTotp(RFC_SECRET, new Date(59_000))).toBe('287082');
    expect(await currentTotp(RFC_SECRET, new Date(1_111_111_109_000))).toBe('081804');
    expect(await currentTotp(RFC_SECRET, new Date(2_000_000_000_000))).toBe('279037');
  });
});

describe('verifyTotp', () => {
  const secret = generateTotpSecret();

  it('accepts a generated code at a fixed clock and returns its step', async () => {
    const code = await currentTotp(secret, NOW);
    expect(code).toMatch(/^[0-9]{6}$/);
    await expect(verifyTotp({ secret, code, now: NOW })).resolves.toEqual({ valid: true, timeStep: STEP });
  });

  it('accepts one step of drift either way and reports the matched step', async () => {
    const early = await currentTotp(secret, shifted(-30));
    const late = await currentTotp(secret, shifted(30));
    await expect(verifyTotp({ secret, code: early, now: NOW })).resolves.toEqual({ valid: true, timeStep: STEP - 1 });
    await expect(verifyTotp({ secret, code: late, now: NOW })).resolves.toEqual({ valid: true, timeStep: STEP + 1 });
  });

  it('rejects codes two steps away', async () => {
    for (const offset of [-60, 60]) {
      const code = await currentTotp(secret, shifted(offset));
      await expect(verifyTotp({ secret, code, now: NOW })).resolves.toEqual({ valid: false, reason: 'invalid' });
    }
  });

  it('rejects a wrong code as invalid', async () => {
    const code = await currentTotp(secret, NOW);
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    await expect(verifyTotp({ secret, code: wrong, now: NOW })).resolves.toEqual({ valid: false, reason: 'invalid' });
    // Same code, other secret.
    await expect(verifyTotp({ secret: generateTotpSecret(), code, now: NOW })).resolves.toMatchObject({ valid: false });
  });

  it('rejects a replayed code and accepts the code of a later step', async () => {
    const code = await currentTotp(secret, NOW);
    const first = await verifyTotp({ secret, code, lastUsedStep: null, now: NOW });
    expect(first).toEqual({ valid: true, timeStep: STEP });
    if (!first.valid) return;

    await expect(verifyTotp({ secret, code, lastUsedStep: first.timeStep, now: NOW })).resolves.toEqual({
      valid: false,
      reason: 'replayed'
    });
    // Still within the drift window 20 s later: still a replay.
    await expect(verifyTotp({ secret, code, lastUsedStep: first.timeStep, now: shifted(20) })).resolves.toEqual({
      valid: false,
      reason: 'replayed'
    });
    // An older (still in-window) code after a newer one was used is a replay too.
    const previous = await currentTotp(secret, shifted(-30));
    await expect(verifyTotp({ secret, code: previous, lastUsedStep: first.timeStep, now: NOW })).resolves.toEqual({
      valid: false,
      reason: 'replayed'
    });

    const next = await currentTotp(secret, shifted(30));
    await expect(verifyTotp({ secret, code: next, lastUsedStep: first.timeStep, now: shifted(30) })).resolves.toEqual({
      valid: true,
      timeStep: STEP + 1
    });
    // A wrong code stays 'invalid' under replay protection.
    const wrong = String((Number(next) + 1) % 1_000_000).padStart(6, '0');
    await expect(verifyTotp({ secret, code: wrong, lastUsedStep: first.timeStep, now: shifted(30) })).resolves.toEqual({
      valid: false,
      reason: 'invalid'
    });
  });

  it('treats a last used step beyond the window (clock went back) as replay, without throwing', async () => {
    const code = await currentTotp(secret, NOW);
    for (const lastUsedStep of [STEP + 1, STEP + 100]) {
      await expect(verifyTotp({ secret, code, lastUsedStep, now: NOW })).resolves.toEqual({ valid: false, reason: 'replayed' });
    }
    await expect(verifyTotp({ secret, code: '000000', lastUsedStep: STEP + 100, now: NOW })).resolves.toMatchObject({ valid: false });
  });

  it('refuses an invalid lastUsedStep', async () => {
    const code = await currentTotp(secret, NOW);
    for (const lastUsedStep of [-1, 1.5, Number.NaN]) {
      await expect(verifyTotp({ secret, code, lastUsedStep, now: NOW })).rejects.toThrow(TypeError);
    }
  });

  it('ignores whitespace around and inside the code', async () => {
    const code = await currentTotp(secret, NOW);
    for (const typed of [` ${code} `, `${code}\n`, `${code.slice(0, 3)} ${code.slice(3)}`]) {
      await expect(verifyTotp({ secret, code: typed, now: NOW })).resolves.toEqual({ valid: true, timeStep: STEP });
    }
  });

  it('rejects malformed input without calling otplib', async () => {
    const otplibVerify = jest.spyOn(TOTP.prototype, 'verify');
    try {
      for (const code of ['', '   ', '12345', '1234567', 'abcdef', '12345a', '123-456', '１２３４５６', '+12345', '1e5000']) {
        await expect(verifyTotp({ secret, code, now: NOW })).resolves.toEqual({ valid: false, reason: 'malformed' });
      }
      await expect(verifyTotp({ secret, code: 123456 as unknown as string, now: NOW })).resolves.toEqual({
        valid: false,
        reason: 'malformed'
      });
      expect(otplibVerify).not.toHaveBeenCalled();
      await verifyTotp({ secret, code: '123456', now: NOW });
      expect(otplibVerify).toHaveBeenCalled(); // the spy does observe real calls
    } finally {
      otplibVerify.mockRestore();
    }
  });

  it('uses the real clock when no time is given', async () => {
    const code = await currentTotp(secret);
    await expect(verifyTotp({ secret, code })).resolves.toMatchObject({ valid: true });
  });
});

describe('totpUri', () => {
  it('names issuer, account and secret with the authenticator-app defaults', () => {
    const secret = generateTotpSecret();
    const uri = totpUri({ secret, accountName: 'alice.admin', issuer: 'bilbycast-manager' });
    expect(uri.startsWith('otpauth://totp/bilbycast-manager:alice.admin?')).toBe(true);

    const parsed = new URL(uri);
    expect(parsed.protocol).toBe('otpauth:');
    expect(parsed.searchParams.get('secret')).toBe(secret);
    expect(parsed.searchParams.get('issuer')).toBe('bilbycast-manager');
    expect(parsed.searchParams.get('algorithm')).toBe('SHA1');
    expect(parsed.searchParams.get('digits')).toBe('6');
    expect(parsed.searchParams.get('period')).toBe('30');
  });

  it('defaults the issuer and percent-encodes the label and parameters', () => {
    const uri = totpUri({ secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', accountName: 'bob smith@example.com' });
    expect(uri).toContain('otpauth://totp/bilbycast-manager:bob%20smith%40example.com?');
    expect(uri).toContain('issuer=bilbycast-manager');
    const spaced = totpUri({ secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', accountName: 'bob', issuer: 'Acme Corp' });
    expect(spaced).toContain('otpauth://totp/Acme%20Corp:bob?');
    expect(spaced).toContain('issuer=Acme%20Corp');
    expect(spaced).not.toContain('+');
  });

  it('refuses a colon or an empty value in the label', () => {
    expect(() => totpUri({ secret: 'JBSWY3DPEHPK3PXP', accountName: 'a:b' })).toThrow(TypeError);
    expect(() => totpUri({ secret: 'JBSWY3DPEHPK3PXP', accountName: '' })).toThrow(TypeError);
    expect(() => totpUri({ secret: 'JBSWY3DPEHPK3PXP', accountName: 'a', issuer: 'x:y' })).toThrow(TypeError);
  });
});

describe('totpQrSvg', () => {
  it('renders the URI as an SVG document', async () => {
    const svg = await totpQrSvg(totpUri({ secret: generateTotpSecret(), accountName: 'alice' }));
    expect(svg.trimStart().startsWith('<svg')).toBe(true);
    expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"');
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  });
});

describe('runtime', () => {
  it('plain Node loads the otplib packages (CommonJS require)', () => {
    const script = [
      "const { TOTP } = require('@otplib/totp');",
      "const { crypto } = require('@otplib/plugin-crypto-node');",
      "const { base32 } = require('@otplib/plugin-base32-scure'); // requires the ESM-only @scure/base",
      "const qrcode = require('qrcode');",
      "if (typeof TOTP !== 'function' || typeof qrcode.toString !== 'function') throw new Error('missing export');",
      'process.stdout.write(base32.encode(new Uint8Array(crypto.randomBytes(20))));'
    ].join('\n');
    const output = execFileSync(process.execPath, ['-e', script], { cwd: __dirname, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(output).toMatch(/^[A-Z2-7]{32}$/);
  });
});

/** RFC 4648 base32 decoder for the assertions (independent of the code under test). */
function decodeBase32(text: string): number[] {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const bytes: number[] = [];
  for (const char of text) {
    value = (value << 5) | alphabet.indexOf(char);
    bits += 5;
    if (bits >= 8) {
      bytes.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return bytes;
}
