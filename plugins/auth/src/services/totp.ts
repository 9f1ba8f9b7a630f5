import crypto from 'node:crypto';
import { base32 } from '@otplib/plugin-base32-scure';
import { crypto as nodeCrypto } from '@otplib/plugin-crypto-node';
import { TOTP } from '@otplib/totp';
import QRCode from 'qrcode';

/*
 * TOTP (RFC 6238) second factor with authenticator-app defaults: SHA-1, 6 digits, 30 s.
 *
 * The caller stores the base32 secret encrypted (`server.manager.secrets.encrypt(secret,
 * { table, column, rowId })`, column registered with `secretColumns`), and after each
 * successful `verifyTotp` stores the returned `timeStep` as the next `lastUsedStep`, so a
 * code is accepted at most once.
 */

export const TOTP_ISSUER = 'bilbycast-manager';
export const TOTP_DIGITS = 6;
export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_ALGORITHM = 'sha1';
/** Steps of clock drift accepted either side of the current one. */
export const TOTP_DRIFT_STEPS = 1;
const SECRET_BYTES = 20;

const totp = new TOTP({
  crypto: nodeCrypto,
  base32,
  algorithm: TOTP_ALGORITHM,
  digits: TOTP_DIGITS,
  period: TOTP_PERIOD_SECONDS
});

export type TotpVerification = { valid: true; timeStep: number } | { valid: false; reason: 'invalid' | 'replayed' | 'malformed' };

/** A new shared secret: 20 random bytes (the RFC 4226 recommendation), base32 without padding. */
export function generateTotpSecret(): string {
  return base32.encode(new Uint8Array(crypto.randomBytes(SECRET_BYTES)), { padding: false });
}

/**
 * The `otpauth://totp/...` provisioning URI for authenticator apps. Built here rather than
 * with otplib's `toURI`, which leaves out parameters equal to the defaults: stating
 * algorithm, digits and period explicitly costs nothing and suits every app.
 */
export function totpUri(input: { secret: string; accountName: string; issuer?: string }): string {
  const issuer = input.issuer ?? TOTP_ISSUER;
  // The label is "issuer:account"; the Key URI format forbids a colon inside either part.
  for (const [name, value] of [
    ['issuer', issuer],
    ['accountName', input.accountName]
  ] as const) {
    if (value.length === 0 || value.includes(':')) throw new TypeError(`TOTP ${name} must be non-empty and contain no ':'`);
  }
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(input.accountName)}`;
  const params = new URLSearchParams({
    secret: input.secret,
    issuer,
    algorithm: TOTP_ALGORITHM.toUpperCase(),
    digits: String(TOTP_DIGITS),
    period: String(TOTP_PERIOD_SECONDS)
  });
  // URLSearchParams writes spaces as '+', which some apps show literally.
  return `otpauth://totp/${label}?${params.toString().replace(/\+/g, '%20')}`;
}

/** The provisioning URI as a QR code, an SVG document string. */
export function totpQrSvg(uri: string): Promise<string> {
  return QRCode.toString(uri, { type: 'svg' });
}

/** The code for `at` (default: now). For tests and the device simulator. */
export function currentTotp(secret: string, at: Date = new Date()): Promise<string> {
  return totp.generate({ secret, epoch: epochSeconds(at) });
}

/**
 * Checks a code against the current step ±1 (30 s of clock drift).
 *
 * Input: whitespace is removed first (apps show "123 456", pastes carry spaces or a
 * newline); what remains must be exactly six ASCII digits, else the result is 'malformed'
 * and otplib is not called. A code whose step is <= `lastUsedStep` is 'replayed'.
 */
export async function verifyTotp(input: { secret: string; code: string; lastUsedStep?: number | null; now?: Date }): Promise<TotpVerification> {
  const token = typeof input.code === 'string' ? input.code.replace(/\s+/g, '') : '';
  if (!/^[0-9]{6}$/.test(token)) return { valid: false, reason: 'malformed' };

  const { secret, lastUsedStep = null } = input;
  if (lastUsedStep !== null && !(Number.isSafeInteger(lastUsedStep) && lastUsedStep >= 0)) {
    throw new TypeError('lastUsedStep must be a non-negative integer or null');
  }
  const epoch = epochSeconds(input.now ?? new Date());
  const window = { secret, epoch, epochTolerance: TOTP_DRIFT_STEPS * TOTP_PERIOD_SECONDS };

  // otplib throws when afterTimeStep lies beyond the window (e.g. the server clock went
  // back); then no step in the window is acceptable and only the classification is left.
  const newestStep = Math.floor(epoch / TOTP_PERIOD_SECONDS) + TOTP_DRIFT_STEPS;
  if (lastUsedStep === null || lastUsedStep < newestStep) {
    const result = await totp.verify(token, { ...window, afterTimeStep: lastUsedStep ?? undefined });
    if (result.valid) return { valid: true, timeStep: result.timeStep };
    if (lastUsedStep === null) return { valid: false, reason: 'invalid' };
  }
  // Rejected with replay protection: was it a correct but already used code?
  const unrestricted = await totp.verify(token, window);
  return { valid: false, reason: unrestricted.valid ? 'replayed' : 'invalid' };
}

function epochSeconds(at: Date): number {
  const ms = at.getTime();
  if (!Number.isFinite(ms)) throw new TypeError('invalid date');
  return Math.floor(ms / 1000);
}
