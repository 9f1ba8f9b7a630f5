import { apiError, callerOf } from '@bilbycast/core';
import { verifyPassword, type AccountService } from '@bilbycast/users';
import type { Request } from '@hapi/hapi';
import type { Knex } from 'knex';
import { rateLimited, type LoginLimits } from './login-limits';
import type { MfaStore } from './mfa';

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
  deps: { db: Knex; accounts: AccountService; limits: LoginLimits },
  request: Request,
  currentPassword: string | undefined
): Promise<void> {
  const caller = callerOf(request);
  if (currentPassword !== undefined) {
    const retryAfter = await deps.limits.takeReauthAttempt(caller.user.id);
    if (retryAfter > 0) throw rateLimited(retryAfter, 'Too many wrong passwords or codes. Try again later.');
    const user = await deps.accounts.withPassword({ id: caller.user.id });
    if (!user?.password_hash || !(await verifyPassword(user.password_hash, currentPassword))) {
      throw apiError(400, 'wrong_password', 'The current password is not correct');
    }
    await deps.limits.reauthSucceeded(caller.user.id);
    return;
  }
  const session = caller.session_id
    ? await deps.db('auth_sessions').where({ id: caller.session_id }).first<{ created_at: string } | undefined>('created_at')
    : undefined;
  if (session && Date.now() - Date.parse(session.created_at) < REAUTH_WINDOW_MS) return;
  throw apiError(403, 'reauthentication_required', 'Enter your current password to make this change (or sign in again and make it within ten minutes)');
}

/**
 * What adding a way to sign in (linking an identity provider account, which skips the password
 * and local MFA) needs: every factor the account has — the current password if it has one (a
 * fresh session is not enough: it may be a stolen cookie), and a current TOTP or recovery code
 * if MFA is on. An account without a password needs a sign-in within ten minutes instead. Wrong
 * answers count towards the per-user re-authentication limit.
 */
export async function requireAllFactors(
  deps: { db: Knex; accounts: AccountService; limits: LoginLimits; mfa: MfaStore },
  request: Request,
  proof: { current_password?: string; code?: string }
): Promise<void> {
  const userId = callerOf(request).user.id;
  const passwordHash = (await deps.accounts.withPassword({ id: userId }))?.password_hash;
  const mfaEnabled = await deps.mfa.enabled(userId);
  if (passwordHash && proof.current_password === undefined) {
    throw apiError(403, 'reauthentication_required', 'Enter your current password to make this change');
  }
  if (mfaEnabled && proof.code === undefined)
    throw apiError(403, 'mfa_code_required', 'Enter a code from your authenticator app (or a recovery code) to make this change');
  if (!passwordHash) await requireRecentAuthentication(deps, request, undefined);
  const retryAfter = await deps.limits.takeReauthAttempt(userId);
  if (retryAfter > 0) throw rateLimited(retryAfter, 'Too many wrong passwords or codes. Try again later.');
  if (passwordHash && !(await verifyPassword(passwordHash, proof.current_password as string))) {
    throw apiError(400, 'wrong_password', 'The current password is not correct');
  }
  if (mfaEnabled && !(await deps.mfa.checkCode(userId, proof.code as string)).ok) throw apiError(400, 'invalid_code', 'The code is not valid');
  await deps.limits.reauthSucceeded(userId);
}
