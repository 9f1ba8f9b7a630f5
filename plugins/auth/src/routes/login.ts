import crypto from 'node:crypto';
import { apiError } from '@bilbycast/core';
import { hashPassword, verifyPassword, type Account, type AccountWithPassword } from '@bilbycast/users';
import type { Request, ResponseToolkit, ServerRoute } from '@hapi/hapi';
import Joi from 'joi';
import { CSRF_COOKIE } from '../http/csrf';
import { MFA_CHALLENGE_COOKIE } from '../http/mfa-challenge-cookie';
import { accountUsable } from '../services/caller';
import { rateLimited } from '../services/login-limits';
import type { SessionStore } from '../services/sessions';
import { accountView } from '../services/account-view';
import { contextOf, type AuthRouteContext } from './route-context';
import { LINK_INTENT_COOKIE } from './sso-identities';

/** An argon2id hash of a random string, verified for unknown users so that timing reveals nothing. */
let dummyHash: Promise<string> | undefined;
const dummyPasswordHash = () => (dummyHash ??= hashPassword(crypto.randomBytes(16).toString('hex')));

type LoginOutcome = { kind: 'ok'; user: AccountWithPassword } | { kind: 'invalid' } | { kind: 'rate_limited'; retryAfter: number };

/** The password step shared by the JSON and form logins. */
async function checkPassword(ctx: AuthRouteContext, request: Request, username: string, password: string): Promise<LoginOutcome> {
  const ip = request.clientIp;
  const retryAfter = await ctx.limits.takeIpAttempt(ip);
  if (retryAfter > 0) return { kind: 'rate_limited', retryAfter };

  const user = await ctx.accounts.withPassword({ username });
  const account = user ? await ctx.limits.takeAccountAttempt(user.id, ip) : undefined;
  const locked = account?.locked ?? false;
  const passwordOk = await verifyPassword(user?.password_hash ?? (await dummyPasswordHash()), password);
  if (user && passwordOk && !locked && accountUsable(user)) {
    await ctx.limits.recordSuccess(ip, user.id);
    return { kind: 'ok', user };
  }
  // Only a wrong password counts towards the account lockout; every failure counts for the IP.
  const attempt =
    user && account && !locked
      ? { userId: user.id, ip, attempts: account.attempts, accountAttempts: account.accountAttempts, wrongPassword: !passwordOk }
      : undefined;
  const { lockedNow } = await ctx.limits.recordFailure(attempt);
  await ctx.manager.audit.record({
    action: 'auth.login_failed',
    user_id: user?.id ?? null,
    username: username.slice(0, 64),
    ip,
    outcome: 'failure',
    details: { reason: !user ? 'unknown_user' : locked ? 'locked' : !passwordOk ? 'wrong_password' : 'account_unusable' }
  });
  if (lockedNow !== 'none' && user) {
    await ctx.manager.audit.record({
      action: 'auth.lockout',
      user_id: user.id,
      username: user.username,
      ip,
      outcome: 'failure',
      details: { scope: lockedNow }
    });
  }
  return { kind: 'invalid' };
}

/**
 * Starts a session: cookie, fresh CSRF token, last login time, audit. Returns the CSRF token
 * and how many failed sign-ins the account has had since its previous sign-in (the notice a
 * user gets that someone has been trying their account).
 */
export async function startSession(
  request: Request,
  h: ResponseToolkit,
  user: Account,
  how: string,
  password?: Parameters<SessionStore['create']>[2]
): Promise<{ csrfToken: string; failedSignIns: number } | null> {
  const { manager, accounts, sessions, limits } = contextOf(h);
  const session = await sessions.create(user.id, { ip: request.clientIp, user_agent: request.headers['user-agent'] as string | undefined }, password);
  // Null: the password was reset, or the account disabled, while this sign-in was under way.
  if (!session) return null;
  request.cookieAuth.set({ sid: session.secret });
  const csrfToken = crypto.randomBytes(16).toString('hex');
  h.state(CSRF_COOKIE, csrfToken);
  // What the owner is told: wrong passwords and wrong second-factor codes since they last signed in.
  let failedSignIns = 0;
  for (const action of ['auth.login_failed', 'auth.mfa_failed']) {
    failedSignIns += (await manager.audit.query({ action, user_id: user.id, from: user.last_login_at ?? undefined, page: 1, per_page: 1 })).total;
  }
  await accounts.recordLogin(user.id);
  await limits.rememberAddress(request.clientIp, user.id);
  await manager.audit.record({
    action: 'auth.login',
    user_id: user.id,
    username: user.username,
    ip: request.clientIp,
    details: { method: how }
  });
  return { csrfToken, failedSignIns };
}

const credentialsSchema = Joi.object({
  username: Joi.string().min(1).max(64).required(),
  password: Joi.string().min(1).max(128).required()
});

/** The login page's code step, where the form sign-in sends an MFA user. */
const MFA_STEP_PAGE = '/login?step=mfa';

/** A same-site relative path to return to after login, else "/". */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/(?!\/)[A-Za-z0-9/_.%?=&-]*$/.test(next) && !next.includes('\\') ? next : '/';
}

async function logIn(request: Request, h: ResponseToolkit) {
  const ctx = contextOf(h);
  const { username, password } = request.payload as { username: string; password: string };
  // Whatever the outcome, a code step left over from an earlier sign-in in this browser is over.
  h.unstate(MFA_CHALLENGE_COOKIE);
  const outcome = await checkPassword(ctx, request, username, password);
  if (outcome.kind === 'rate_limited') throw rateLimited(outcome.retryAfter, 'Too many login attempts. Try again later.');
  if (outcome.kind === 'invalid') throw apiError(401, 'invalid_credentials', 'Invalid credentials');
  // An enrolled user gets a single-use challenge for the code step, and no session yet.
  if (await ctx.mfa.enabled(outcome.user.id)) {
    return { mfa_required: true, challenge_token: await ctx.mfa.createChallenge(outcome.user.id, outcome.user.password_hash) };
  }
  const started = await startSession(request, h, outcome.user, 'password', { hash: outcome.user.password_hash });
  if (!started) throw apiError(401, 'invalid_credentials', 'Invalid credentials');
  return { user: accountView(outcome.user, false), csrf_token: started.csrfToken, failed_sign_ins_since_last_login: started.failedSignIns };
}

async function logInFromForm(request: Request, h: ResponseToolkit) {
  const ctx = contextOf(h);
  const { username, password, next } = request.payload as { username: string; password: string; next?: string };
  h.unstate(MFA_CHALLENGE_COOKIE);
  const outcome = await checkPassword(ctx, request, username, password);
  if (outcome.kind === 'rate_limited') return h.redirect('/login?error=rate_limited').code(303);
  if (outcome.kind === 'invalid') return h.redirect('/login?error=invalid').code(303);
  if (await ctx.mfa.enabled(outcome.user.id)) {
    // The challenge waits in a sealed cookie, never in a URL; `next` is stored with it.
    h.state(MFA_CHALLENGE_COOKIE, { challenge: await ctx.mfa.createChallenge(outcome.user.id, outcome.user.password_hash, safeNext(next)) });
    return h.redirect(MFA_STEP_PAGE).code(303);
  }
  const started = await startSession(request, h, outcome.user, 'password', { hash: outcome.user.password_hash });
  return h.redirect(started ? safeNext(next) : '/login?error=invalid').code(303);
}

async function logOut(request: Request, h: ResponseToolkit) {
  const { sessions, manager } = contextOf(h);
  const caller = request.auth.credentials as unknown as { user: { id: string; username: string }; session_id?: string };
  if (caller.session_id) await sessions.revoke(caller.user.id, caller.session_id);
  request.cookieAuth.clear();
  h.unstate(CSRF_COOKIE);
  // A link to single sign-on asked for in this session, and never finished, ends with it.
  h.unstate(LINK_INTENT_COOKIE);
  await manager.audit.record({ action: 'auth.logout', user_id: caller.user.id, username: caller.user.username, ip: request.clientIp });
  return { success: true };
}

export const loginRoutes: ServerRoute[] = [
  {
    method: 'POST',
    path: '/api/v1/auth/login',
    options: {
      tags: ['api', 'auth'],
      description: 'Sign in with username and password',
      plugins: { bilbycast: { access: 'public' } },
      validate: { payload: credentialsSchema },
      handler: logIn
    }
  },
  {
    method: 'POST',
    path: '/api/v1/auth/login-form',
    options: {
      tags: ['api', 'auth'],
      description:
        'Sign in from an HTML form (answers with a 303 redirect); an MFA user goes to the code step at /login?step=mfa, the challenge in an HttpOnly cookie',
      plugins: { bilbycast: { access: 'public' } },
      payload: { parse: true, allow: ['application/x-www-form-urlencoded'] },
      validate: {
        payload: credentialsSchema.keys({ next: Joi.string().allow('').max(2048) }),
        failAction: (_request, h) => h.redirect('/login?error=invalid').code(303).takeover()
      },
      handler: logInFromForm
    }
  },
  {
    method: 'POST',
    path: '/api/v1/auth/logout',
    options: {
      tags: ['api', 'auth'],
      description: 'End the current session',
      plugins: { bilbycast: { access: 'authenticated' } },
      handler: logOut
    }
  }
];
