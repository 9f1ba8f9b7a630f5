import { apiError, callerOf } from '@bilbycast/core';
import { AccountError, verifyPassword } from '@bilbycast/users';
import type { Request, ResponseToolkit, ServerRoute } from '@hapi/hapi';
import Joi from 'joi';
import { accountView } from '../services/account-view';
import { rateLimited } from '../services/login-limits';
import { requireRecentAuthentication } from '../services/reauthentication';
import { contextOf, type AuthRouteContext } from './route-context';

const displayName = Joi.string()
  .min(1)
  .max(128)
  .pattern(/^[^\p{Cc}]*$/u)
  .messages({ 'string.pattern.base': '{{#label}} must not contain control characters' });

/** The signed-in caller's own account. */
async function loadOwnAccount({ accounts }: AuthRouteContext, id: string) {
  return (await accounts.byId(id))!;
}

/** One's own account also says how many recovery codes are left (time to make new ones?). */
async function ownAccountView(ctx: AuthRouteContext, id: string) {
  return {
    ...accountView(await loadOwnAccount(ctx, id), await ctx.mfa.enabled(id)),
    recovery_codes_left: await ctx.mfa.recoveryCodesLeft(id)
  };
}

function getOwnAccount(request: Request, h: ResponseToolkit) {
  return ownAccountView(contextOf(h), callerOf(request).user.id);
}

async function updateOwnProfile(request: Request, h: ResponseToolkit) {
  const ctx = contextOf(h);
  const { manager, accounts, limits } = ctx;
  const caller = callerOf(request);
  const { current_password, ...changes } = request.payload as { display_name?: string; email?: string | null; current_password?: string };
  if (changes.email !== undefined && changes.email !== (await loadOwnAccount(ctx, caller.user.id)).email) {
    await requireRecentAuthentication({ db: manager.db, accounts, limits }, request, current_password);
  }
  await accounts.updateProfile(caller.user.id, changes);
  await manager.audit.record({
    action: 'user.update',
    user_id: caller.user.id,
    username: caller.user.username,
    target_type: 'user',
    target_id: caller.user.id,
    ip: request.clientIp,
    details: { changed: changes, self_service: true }
  });
  return ownAccountView(ctx, caller.user.id);
}

async function changeOwnPassword(request: Request, h: ResponseToolkit) {
  const { manager, accounts, sessions, tokens, limits, mfa } = contextOf(h);
  const caller = callerOf(request);
  const { current_password, new_password, keep_api_tokens } = request.payload as {
    current_password: string;
    new_password: string;
    keep_api_tokens: boolean;
  };
  const retryAfter = await limits.takeReauthAttempt(caller.user.id);
  if (retryAfter > 0) throw rateLimited(retryAfter, 'Too many wrong passwords or codes. Try again later.');
  const user = await accounts.withPassword({ id: caller.user.id });
  if (!user) throw apiError(401, 'unauthorized', 'Your account can no longer sign in');
  if (!user.password_hash || !(await verifyPassword(user.password_hash, current_password))) {
    throw apiError(400, 'wrong_password', 'The current password is not correct');
  }
  await limits.reauthSucceeded(user.id);
  const problems = accounts.passwordProblems(new_password);
  if (problems.length > 0) throw apiError(400, 'weak_password', `The new password ${problems.join('; ')}`, { problems });
  try {
    await accounts.setPassword(user.id, new_password, { expectedHash: user.password_hash });
  } catch (err) {
    if (!(err instanceof AccountError)) throw err;
    // The password history (users plugin) refuses the current password and the last few. A
    // refusal counts against the re-authentication limit: knowing the current password must not
    // allow unlimited guesses at the earlier ones.
    if (err.code === 'password_reused') {
      await limits.takeReauthAttempt(user.id);
      throw apiError(400, 'password_reused', `${err.message[0]?.toUpperCase()}${err.message.slice(1)}`);
    }
    // An administrator's reset (or another change) since the current password was checked wins.
    if (err.code === 'password_changed') throw apiError(409, 'password_changed', 'Your password was changed meanwhile: sign in again');
    throw err;
  }
  // A browser session continues in a fresh one: a copy of the old cookie ends with the others.
  let keep: string | undefined;
  if (caller.session_id) {
    const fresh = await sessions.create(user.id, { ip: request.clientIp, user_agent: request.headers['user-agent'] as string | undefined });
    if (!fresh) throw apiError(401, 'unauthorized', 'Your account can no longer sign in');
    request.cookieAuth.set({ sid: fresh.secret });
    keep = fresh.id;
  }
  // Addresses known for the old password are known no more; this one is, again.
  await limits.forgetAddresses(user.id);
  await mfa.forgetChallenges(user.id);
  await limits.rememberAddress(request.clientIp, user.id);
  const ended = await sessions.revokeAllForUser(user.id, keep);
  const tokensRevoked = keep_api_tokens ? 0 : await tokens.revokeAllForUser(user.id);
  // The caller's own previous session is replaced, not "another" one.
  const signedOut = caller.session_id ? ended - 1 : ended;
  await manager.audit.record({
    action: 'auth.password_change',
    user_id: user.id,
    username: user.username,
    target_type: 'user',
    target_id: user.id,
    ip: request.clientIp,
    details: { other_sessions_ended: signedOut, api_tokens_revoked: tokensRevoked }
  });
  return { success: true, other_sessions_ended: signedOut, api_tokens_revoked: tokensRevoked };
}

/** The caller's own account: read it, edit display name and email, change the password. */
export const accountRoutes: ServerRoute[] = [
  {
    method: 'GET',
    path: '/api/v1/auth/me',
    options: {
      tags: ['api', 'auth'],
      description: 'The signed-in user',
      plugins: { bilbycast: { access: 'authenticated' } },
      handler: getOwnAccount
    }
  },
  {
    method: 'PUT',
    path: '/api/v1/auth/me',
    options: {
      tags: ['api', 'auth'],
      description:
        'Edit your display name and email; a new email needs current_password (or a sign-in within ten minutes). Role, active flag and node scope cannot be changed here',
      plugins: { bilbycast: { access: 'session' } },
      validate: {
        payload: Joi.object({
          display_name: displayName,
          email: Joi.string().email({ tlds: false }).max(254).allow(null),
          current_password: Joi.string().min(1).max(128)
        }).or('display_name', 'email')
      },
      handler: updateOwnProfile
    }
  },
  {
    method: 'POST',
    path: '/api/v1/auth/change-password',
    options: {
      tags: ['api', 'auth'],
      description:
        'Change your password; this browser continues in a fresh session, all your others are signed out, and your API tokens are revoked unless keep_api_tokens is true',
      plugins: { bilbycast: { access: 'session' } },
      validate: {
        payload: Joi.object({
          current_password: Joi.string().min(1).max(128).required(),
          new_password: Joi.string().min(1).max(256).required(),
          keep_api_tokens: Joi.boolean().default(false)
        })
      },
      handler: changeOwnPassword
    }
  }
];
