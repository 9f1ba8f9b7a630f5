import { nowIso } from '@bilbycast/core';
import type { Knex } from 'knex';
import { verifyPassword } from './password-hashing';

/** How many replaced passwords a user's own new password may not repeat (besides the current one). */
export const PASSWORD_HISTORY_SIZE = 5;

const TABLE = 'user_password_history';

/**
 * Whether `password` is the user's current one (`currentHash`) or one of the last
 * PASSWORD_HISTORY_SIZE they replaced. Only a user's own change asks: an administrator's reset
 * must not learn which passwords the user had.
 */
export async function isReusedPassword(db: Knex, userId: string, currentHash: string | null, password: string): Promise<boolean> {
  const earlier = await db(TABLE).where({ user_id: userId }).orderBy('id', 'desc').limit(PASSWORD_HISTORY_SIZE).pluck('password_hash');
  for (const hash of [currentHash, ...(earlier as string[])]) {
    if (hash && (await verifyPassword(hash, password))) return true;
  }
  return false;
}

/** Keeps the hash a password change replaced (none for an account without a password) and forgets those beyond the history's size. */
export async function rememberReplacedPassword(trx: Knex.Transaction, userId: string, replacedHash: string | null): Promise<void> {
  if (!replacedHash) return;
  await trx(TABLE).insert({ user_id: userId, password_hash: replacedHash, replaced_at: nowIso() });
  const kept = await trx(TABLE).where({ user_id: userId }).orderBy('id', 'desc').limit(PASSWORD_HISTORY_SIZE).pluck('id');
  await trx(TABLE)
    .where({ user_id: userId })
    .whereNotIn('id', kept as number[])
    .delete();
}
