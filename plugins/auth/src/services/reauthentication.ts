import { apiError, callerOf } from '@bilbycast/core';
import { verifyPassword } from '@bilbycast/users';
import type { Request } from '@hapi/hapi';
import type { Knex } from 'knex';
import type { AccountRow } from './account-view';
import { rateLimited, type LoginLimits } from './login-limits';

/** A session younger than this counts as a fresh sign-in: no password is asked for again. */
export const REAUTH_WINDOW_MS = 10 * 60_000;

/**
 * Sensitive changes to one's own account (the email SSO identities could be matched with, a
 * second factor) need a recent proof of who is at the keyboard: the current password (rate
 * limited like every re-authentication), or a session signed in within the last ten minutes
 * (for accounts without a password, signed in through single sign-on). 403
 * `reauthentication_required` otherwise, 400 `wrong_password` for a wrong password.
 */
export async function requireRecentAuthentication(
  deps: { db: Knex; limits: LoginLimits },
  request: Request,
  currentPassword: string | undefined
): Promise<void> {
  const caller = callerOf(request);
  if (currentPassword !== undefined) {
    const retryAfter = await deps.limits.takeReauthAttempt(caller.user.id);
    if (retryAfter > 0) throw rateLimited(retryAfter, 'Too many wrong passwords or codes. Try again later.');
    const user = (await deps.db('users').where({ id: caller.user.id }).first()) as AccountRow;
    if (!user.password_hash || !(await verifyPassword(user.password_hash, currentPassword))) {
      throw apiError(400, 'wrong_password', 'The current password is not correct');
    }
    await deps.limits.reauthSucceeded(caller.user.id);
    return;
  }
  const session = caller.session_id ? await deps.db('auth_sessions').where({ id: caller.session_id }).first('created_at') : undefined;
  if (session && Date.now() - Date.parse(session.created_at) < REAUTH_WINDOW_MS) return;
  throw apiError(403, 'reauthentication_required', 'Enter your current password to make this change (or sign in again and make it within ten minutes)');
}
