import { apiError, callerOf } from '@bilbycast/core';
import { verifyPassword } from '@bilbycast/users';
import type { Request, ResponseToolkit, ServerRoute } from '@hapi/hapi';
import Joi from 'joi';
import { MFA_CHALLENGE_COOKIE, challengeFromCookie } from '../http/mfa-challenge-cookie';
import { accountView } from '../services/account-view';
import { accountUsable } from '../services/caller';
import { rateLimited } from '../services/login-limits';
import { requireRecentAuthentication } from '../services/reauthentication';
import { startSession } from './login';
import { contextOf, selfActor, type AuthRouteContext } from './route-context';

const code = Joi.string().min(1).max(32).required();
const passwordAndCode = Joi.object({ password: Joi.string().min(1).max(128).required(), code });

/**
 * Proof for changing an enabled second factor: the password and a current code (or a recovery
 * code), wrong ones counting towards the per-user limit on re-authentication. Not merged with
 * `requireAllFactors` (linking an identity): that one lets an account without a password pass on
 * a recent sign-in and an account without MFA pass without a code, where this refuses both.
 */
async function provePasswordAndCode({ accounts, limits, mfa }: AuthRouteContext, request: Request) {
  const caller = callerOf(request);
  const { password, code: given } = request.payload as { password: string; code: string };
  if (!(await mfa.enabled(caller.user.id))) throw apiError(409, 'mfa_not_enabled', 'MFA is not enabled');
  const retryAfter = await limits.takeReauthAttempt(caller.user.id);
  if (retryAfter > 0) throw rateLimited(retryAfter, 'Too many wrong passwords or codes. Try again later.');
  const user = await accounts.withPassword({ id: caller.user.id });
  if (!user?.password_hash || !(await verifyPassword(user.password_hash, password))) {
    throw apiError(400, 'wrong_password', 'The password is not correct');
  }
  if (!(await mfa.checkCode(caller.user.id, given)).ok) throw apiError(400, 'invalid_code', 'The code is not valid');
  await limits.reauthSucceeded(caller.user.id);
}

async function beginTotpSetup(request: Request, h: ResponseToolkit) {
  const { manager, accounts, limits, mfa } = contextOf(h);
  const caller = callerOf(request);
  if (await mfa.enabled(caller.user.id)) throw apiError(409, 'mfa_already_enabled', 'MFA is already enabled; disable it first');
  await requireRecentAuthentication({ db: manager.db, accounts, limits }, request, (request.payload as { current_password?: string } | null)?.current_password);
  return mfa.beginSetup(caller.user.id, caller.user.username);
}

async function confirmTotp(request: Request, h: ResponseToolkit) {
  const { manager, mfa } = contextOf(h);
  const caller = callerOf(request);
  if (await mfa.enabled(caller.user.id)) throw apiError(409, 'mfa_already_enabled', 'MFA is already enabled');
  const codes = await mfa.confirm(caller.user.id, (request.payload as { code: string }).code);
  if (!codes) throw apiError(400, 'invalid_code', 'The code is not valid for the pending secret (run setup first)');
  await manager.audit.record({ action: 'auth.mfa_enable', ...selfActor(request) });
  return { recovery_codes: codes };
}

async function disableTotp(request: Request, h: ResponseToolkit) {
  const ctx = contextOf(h);
  await provePasswordAndCode(ctx, request);
  await ctx.mfa.reset(callerOf(request).user.id);
  await ctx.manager.audit.record({ action: 'auth.mfa_disable', ...selfActor(request) });
  return { success: true };
}

async function regenerateRecoveryCodes(request: Request, h: ResponseToolkit) {
  const ctx = contextOf(h);
  await provePasswordAndCode(ctx, request);
  const codes = await ctx.mfa.regenerateRecoveryCodes(callerOf(request).user.id);
  if (!codes) throw apiError(409, 'mfa_not_enabled', 'MFA is not enabled');
  await ctx.manager.audit.record({ action: 'auth.mfa_recovery_codes', ...selfActor(request) });
  return { recovery_codes: codes };
}

async function cancelMfaChallenge(request: Request, h: ResponseToolkit) {
  const token = challengeFromCookie(request);
  if (token) await contextOf(h).mfa.consumeChallenge(token);
  h.unstate(MFA_CHALLENGE_COOKIE);
  return h.response().code(204);
}

async function verifyMfaLogin(request: Request, h: ResponseToolkit) {
  const { manager, accounts, limits, mfa } = contextOf(h);
  const { audit } = manager;
  const { challenge_token, code: given } = request.payload as { challenge_token?: string; code: string };
  const ip = request.clientIp;
  const cookieChallenge = challenge_token === undefined ? challengeFromCookie(request) : undefined;
  const token = challenge_token ?? cookieChallenge;
  // The cookie goes once its challenge is used up or refused (an unreadable or duplicated
  // cookie too); after a wrong code it stays for another try.
  const forgetCookieChallenge = () => {
    if (challenge_token === undefined) h.unstate(MFA_CHALLENGE_COOKIE);
  };
  const challenge = token ? await mfa.challengeUser(token) : null;
  if (!token || !challenge) {
    forgetCookieChallenge();
    throw apiError(401, 'invalid_challenge', 'The sign-in challenge is unknown, used or expired; sign in again');
  }
  const retryAfter = await limits.takeMfaAttempt(challenge.userId);
  if (retryAfter > 0) throw rateLimited(retryAfter, 'Too many wrong codes. Try again later.');
  const user = await accounts.byId(challenge.userId);
  const check = user ? await mfa.checkCode(user.id, given) : { ok: false as const };
  if (!user || !check.ok) {
    await audit.record({ action: 'auth.mfa_failed', user_id: challenge.userId, username: user?.username ?? null, ip, outcome: 'failure' });
    throw apiError(401, 'invalid_code', 'The code is not valid');
  }
  await limits.mfaSucceeded(user.id);
  const consumed = await mfa.consumeChallenge(token);
  forgetCookieChallenge();
  if (!consumed) throw apiError(401, 'invalid_challenge', 'The sign-in challenge was already used; sign in again');
  // Disabled or expired since the password step: refused as the password step would.
  // The generic answer of a refused sign-in, audited with the reason.
  const refuse = async (reason: string) => {
    await audit.record({
      action: 'auth.login_failed',
      user_id: user.id,
      username: user.username,
      ip,
      outcome: 'failure',
      details: { reason, step: 'mfa' }
    });
    return apiError(401, 'invalid_credentials', 'Invalid credentials');
  };
  if (!accountUsable(user)) throw await refuse('account_unusable');
  if (check.via === 'recovery_code') {
    await audit.record({ action: 'auth.mfa_recovery_code_used', user_id: user.id, username: user.username, ip });
  }
  const started = await startSession(request, h, user, check.via === 'totp' ? 'password+totp' : 'password+recovery_code', {
    check: challenge.passwordCheck
  });
  // The password was reset (or the account disabled) since the password step.
  if (!started) throw await refuse('credentials_changed');
  return {
    user: accountView(user, true),
    csrf_token: started.csrfToken,
    failed_sign_ins_since_last_login: started.failedSignIns,
    next: challenge.next
  };
}

/** TOTP enrolment for the signed-in user, and the code step of an MFA login. */
export const mfaRoutes: ServerRoute[] = [
  {
    method: 'POST',
    path: '/api/v1/auth/mfa/totp/setup',
    options: {
      tags: ['api', 'auth', 'mfa'],
      description:
        'Start TOTP enrolment: a new secret, its otpauth URL and QR code (nothing is enabled yet); needs current_password (or a sign-in within ten minutes)',
      plugins: { bilbycast: { access: 'session' } },
      validate: { payload: Joi.object({ current_password: Joi.string().min(1).max(128) }).allow(null) },
      handler: beginTotpSetup
    }
  },
  {
    method: 'POST',
    path: '/api/v1/auth/mfa/totp/confirm',
    options: {
      tags: ['api', 'auth', 'mfa'],
      description: 'Enable TOTP with a current code; returns 10 single-use recovery codes, shown once',
      plugins: { bilbycast: { access: 'session' } },
      validate: { payload: Joi.object({ code }) },
      handler: confirmTotp
    }
  },
  {
    method: 'POST',
    path: '/api/v1/auth/mfa/totp/disable',
    options: {
      tags: ['api', 'auth', 'mfa'],
      description: 'Disable TOTP; needs your password and a current code (or a recovery code)',
      plugins: { bilbycast: { access: 'session' } },
      validate: { payload: passwordAndCode },
      handler: disableTotp
    }
  },
  {
    method: 'POST',
    path: '/api/v1/auth/mfa/recovery-codes',
    options: {
      tags: ['api', 'auth', 'mfa'],
      description: 'Replace all your recovery codes with 10 new ones, shown once; needs your password and a current code (or a recovery code)',
      plugins: { bilbycast: { access: 'session' } },
      validate: { payload: passwordAndCode },
      handler: regenerateRecoveryCodes
    }
  },
  {
    method: 'DELETE',
    path: '/api/v1/auth/mfa/verify',
    options: {
      tags: ['api', 'auth', 'mfa'],
      description: "Cancel the form sign-in's pending code step: its challenge ends and its cookie is cleared",
      plugins: { bilbycast: { access: 'public' } },
      handler: cancelMfaChallenge
    }
  },
  {
    method: 'POST',
    path: '/api/v1/auth/mfa/verify',
    options: {
      tags: ['api', 'auth', 'mfa'],
      description:
        'Complete an MFA login with a TOTP or recovery code and the challenge: challenge_token from the JSON login, or (when omitted) the cookie set by the form login; returns where the form login asked to go as next',
      plugins: { bilbycast: { access: 'public' } },
      validate: { payload: Joi.object({ challenge_token: Joi.string().min(1).max(100), code }) },
      handler: verifyMfaLogin
    }
  }
];
