import crypto from 'node:crypto';

/** A random secret for a cookie or bearer token, and the hash stored in its place. */
export function newSecret(prefix = ''): string {
  return `${prefix}${crypto.randomBytes(32).toString('base64url')}`;
}

/** SHA-256 is enough here: the secrets are 256 random bits, so there is nothing to brute-force. */
export function hashSecret(secret: string): string {
  return crypto.createHash('sha256').update(secret, 'utf8').digest('hex');
}
