import { apiError, callerOf, type ManagerContext } from '@bilbycast/core';
import { verifyPassword, type AccountService } from '@bilbycast/users';
import type { ServerRoute } from '@hapi/hapi';
import Joi from 'joi';
import { accountView } from '../services/account-view';
import type { ApiTokens } from '../services/api-tokens';
import { rateLimited, type LoginLimits } from '../services/login-limits';
import type { MfaStore } from '../services/mfa';
import { requireRecentAuthentication } from '../services/reauthentication';
import type { SessionStore } from '../services/sessions';

const displayName = Joi.string()
  .min(1)
  .max(128)
  .pattern(/^[^\p{Cc}]*$/u)
  .messages({ 'string.pattern.base': '{{#label}} must not contain control characters' });

/** The caller's own account: read it, edit display name and email, change the password. */
export function accountRoutes(deps: {
  manager: ManagerContext;
  accounts: AccountService;
  sessions: SessionStore;
  tokens: ApiTokens;
  mfa: MfaStore;
  limits: LoginLimits;
}): ServerRoute[] {
  const { db, audit } = deps.manager;
  const { accounts } = deps;
  // The signed-in caller's own account.
  const load = async (id: string) => (await accounts.byId(id))!;
  // One's own account also says how many recovery codes are left (time to make new ones?).
  const view = async (id: string) => ({
    ...accountView(await load(id), await deps.mfa.enabled(id)),
    recovery_codes_left: await deps.mfa.recoveryCodesLeft(id)
  });
  return [
    {
      method: 'GET',
      path: '/api/v1/auth/me',
      options: {
        tags: ['api', 'auth'],
        description: 'The signed-in user',
        plugins: { bilbycast: { access: 'authenticated' } },
        handler: async (request) => view(callerOf(request).user.id)
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
        handler: async (request) => {
          const caller = callerOf(request);
          const { current_password, ...changes } = request.payload as { display_name?: string; email?: string | null; current_password?: string };
          if (changes.email !== undefined && changes.email !== (await load(caller.user.id)).email) {
            await requireRecentAuthentication({ db, accounts, limits: deps.limits }, request, current_password);
          }
          await accounts.updateProfile(caller.user.id, changes);
          await audit.record({
            action: 'user.update',
            user_id: caller.user.id,
            username: caller.user.username,
            target_type: 'user',
            target_id: caller.user.id,
            ip: request.clientIp,
            details: { changed: changes, self_service: true }
          });
          return view(caller.user.id);
        }
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
        handler: async (request) => {
          const caller = callerOf(request);
          const { current_password, new_password, keep_api_tokens } = request.payload as {
            current_password: string;
            new_password: string;
            keep_api_tokens: boolean;
          };
          const retryAfter = await deps.limits.takeReauthAttempt(caller.user.id);
          if (retryAfter > 0) throw rateLimited(retryAfter, 'Too many wrong passwords or codes. Try again later.');
          const user = (await accounts.withPassword({ id: caller.user.id }))!;
          if (!user.password_hash || !(await verifyPassword(user.password_hash, current_password))) {
            throw apiError(400, 'wrong_password', 'The current password is not correct');
          }
          await deps.limits.reauthSucceeded(user.id);
          const problems = accounts.passwordProblems(new_password);
          if (problems.length > 0) throw apiError(400, 'weak_password', `The new password ${problems.join('; ')}`, { problems });
          await accounts.setPassword(user.id, new_password);
          // A browser session continues in a fresh one: a copy of the old cookie ends with the others.
          let keep: string | undefined;
          if (caller.session_id) {
            const fresh = await deps.sessions.create(user.id, { ip: request.clientIp, user_agent: request.headers['user-agent'] as string | undefined });
            if (!fresh) throw apiError(401, 'unauthorized', 'Your account can no longer sign in');
            request.cookieAuth.set({ sid: fresh.secret });
            keep = fresh.id;
          }
          // Addresses known for the old password are known no more; this one is, again.
          await deps.limits.forgetAddresses(user.id);
          await deps.mfa.forgetChallenges(user.id);
          await deps.limits.rememberAddress(request.clientIp, user.id);
          const ended = await deps.sessions.revokeAllForUser(user.id, keep);
          const tokensRevoked = keep_api_tokens ? 0 : await deps.tokens.revokeAllForUser(user.id);
          // The caller's own previous session is replaced, not "another" one.
          const signedOut = caller.session_id ? ended - 1 : ended;
          await audit.record({
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
      }
    }
  ];
}
