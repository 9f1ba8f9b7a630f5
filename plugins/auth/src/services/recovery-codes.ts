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
 * Stored as HMAC-SHA256 under a random per-user key that is itself encrypted at rest under
 * the master key (`h1:` + hex): the codes are uniformly random, so a fast keyed hash is
 * enough, and a copy of the database alone gives nothing to search (50 bits would be within
 * reach of GPUs against a plain hash). Codes issued before the key existed are plain SHA-256
 * hex and keep working until used or replaced. Online guessing is rate-limited like the
 * password.
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

const KEYED = 'h1:';

/** The stored form of a code: `h1:` + HMAC-SHA256 (hex) of its normalised text under the user's key. */
export function hashRecoveryCode(code: string, key: Buffer): string {
  return KEYED + crypto.createHmac('sha256', key).update(normaliseRecoveryCode(code), 'utf8').digest('hex');
}

/** How codes were stored before they were keyed: SHA-256 (hex) of the normalised text. */
function legacyHash(code: string): string {
  return crypto.createHash('sha256').update(normaliseRecoveryCode(code), 'utf8').digest('hex');
}

/**
 * The stored hash `input` matches, or null. Every hash is compared in constant time and
 * the loop never stops early, so timing tells nothing about which (or whether one) matched.
 * `key` is the user's recovery-code key (null for codes issued before keys existed).
 */
export function matchRecoveryCode(input: string, hashes: readonly string[], key: Buffer | null): string | null {
  const text = typeof input === 'string' ? input : '';
  const keyed = key ? Buffer.from(hashRecoveryCode(text, key).slice(KEYED.length), 'hex') : null;
  const legacy = Buffer.from(legacyHash(text), 'hex');
  let match: string | null = null;
  for (const hash of hashes) {
    const isKeyed = hash.startsWith(KEYED);
    const candidate = isKeyed ? keyed : legacy;
    const stored = Buffer.from(isKeyed ? hash.slice(KEYED.length) : hash, 'hex');
    // A malformed stored value (wrong length), or a keyed one without its key, can never match.
    if (candidate && stored.length === candidate.length && crypto.timingSafeEqual(stored, candidate) && match === null) {
      match = hash;
    }
  }
  return match;
}

/** Lowercase, without spaces and dashes, Crockford look-alikes mapped to their digits. */
export function normaliseRecoveryCode(code: string): string {
  return code
    .toLowerCase()
    .replace(/[\s-]+/g, '')
    .replace(/o/g, '0')
    .replace(/[il]/g, '1');
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
