import crypto from 'node:crypto';

/**
 * Registration tokens and node secrets. Both are long random values, so an unsalted SHA-256
 * is enough to keep a database leak from revealing them — and, unlike encryption under the
 * master key, it survives a master-key rotation without locking every device out.
 */
export function newRegistrationToken(): string {
  // UUIDv4, the format devices and operators know from "Add node".
  return crypto.randomUUID();
}

export function newNodeSecret(): string {
  return crypto.randomBytes(32).toString('hex');
}

export function hashCredential(value: string): string {
  return crypto.createHash('sha256').update(value, 'utf8').digest('hex');
}

/** Constant-time comparison of a presented value with a stored hash. */
export function credentialMatches(presented: string, storedHash: string | null | undefined): boolean {
  if (!storedHash) return false;
  const a = Buffer.from(hashCredential(presented), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}
