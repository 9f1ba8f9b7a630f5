import crypto from 'node:crypto';

/*
 * One-time recovery codes for users who lost their authenticator: shown once as
 * `xxxxx-xxxxx`, stored as hashes; the caller deletes a hash once its code is used.
 *
 * Alphabet: Crockford's lowercase base32 (digits and letters without i, l, o, u), so
 * 10 characters carry 50 random bits and nothing is easy to misread. Input is normalised
 * before hashing: lowercase, spaces and dashes removed, and the look-alikes o -> 0,
 * i/l -> 1 mapped as Crockford decoding does.
 *
 * Why a fast hash (SHA-256, unsalted) is acceptable: the codes are uniformly random, so
 * there is no dictionary to exploit and a salt would add nothing; a slow KDF would cost
 * its price for each of the ~10 stored hashes on every attempt. The limit to know:
 * 50 bits bound an offline search after a database leak to about 2^49 hashes per code,
 * which GPUs can afford; such a code still only replaces the second factor, the password
 * (hashed slowly) is needed too. Online guessing must be rate-limited like the password.
 */

export const RECOVERY_CODE_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
export const RECOVERY_CODE_PATTERN = /^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$/;
const GROUP_LENGTH = 5;
const GROUPS = 2;

/** `count` distinct codes like `7k2qd-m9x4a` (50 bits each). */
export function generateRecoveryCodes(count = 10): string[] {
  if (!Number.isSafeInteger(count) || count < 1) throw new TypeError('count must be a positive integer');
  const codes = new Set<string>();
  while (codes.size < count) codes.add(randomCode());
  return [...codes];
}

/** The stored form of a code: SHA-256 (hex) of its normalised text. */
export function hashRecoveryCode(code: string): string {
  return crypto.createHash('sha256').update(normaliseRecoveryCode(code), 'utf8').digest('hex');
}

/**
 * The stored hash `input` matches, or null. Every hash is compared in constant time and
 * the loop never stops early, so timing tells nothing about which (or whether one) matched.
 */
export function matchRecoveryCode(input: string, hashes: readonly string[]): string | null {
  const candidate = Buffer.from(hashRecoveryCode(typeof input === 'string' ? input : ''), 'hex');
  let match: string | null = null;
  for (const hash of hashes) {
    const stored = Buffer.from(hash, 'hex');
    // A malformed stored value (wrong length) can never match.
    if (stored.length === candidate.length && crypto.timingSafeEqual(stored, candidate) && match === null) {
      match = hash;
    }
  }
  return match;
}

/** Lowercase, without spaces and dashes, Crockford look-alikes mapped to their digits. */
export function normaliseRecoveryCode(code: string): string {
  return code.toLowerCase().replace(/[\s-]+/g, '').replace(/o/g, '0').replace(/[il]/g, '1');
}

function randomCode(): string {
  const groups: string[] = [];
  for (let g = 0; g < GROUPS; g++) {
    let group = '';
    for (let i = 0; i < GROUP_LENGTH; i++) group += RECOVERY_CODE_ALPHABET[crypto.randomInt(RECOVERY_CODE_ALPHABET.length)];
    groups.push(group);
  }
  return groups.join('-');
}
