import type { Request, Server } from '@hapi/hapi';
import { CHALLENGE_LIFETIME_MS } from '../services/mfa';

/**
 * Where the form sign-in keeps an MFA challenge between the password step and the code step,
 * so that it never travels in a URL (which browsers keep in their history and logs record).
 */
export const MFA_CHALLENGE_COOKIE = 'bilbycast_mfa_challenge';
/** The only route that reads it. */
const MFA_VERIFY_PATH = '/api/v1/auth/mfa/verify';

/** Sealed (iron), HttpOnly, same-site only, sent only to the code step, and gone when the challenge expires. */
export function registerMfaChallengeCookie(server: Server, options: { password: string; secure: boolean }): void {
  server.state(MFA_CHALLENGE_COOKIE, {
    encoding: 'iron',
    password: options.password,
    isSecure: options.secure,
    isHttpOnly: true,
    isSameSite: 'Strict',
    path: MFA_VERIFY_PATH,
    ttl: CHALLENGE_LIFETIME_MS,
    ignoreErrors: true,
    clearInvalid: true
  });
}

/** The challenge token the cookie holds, if the request has a valid one. */
export function challengeFromCookie(request: Request): string | undefined {
  const challenge = (request.state[MFA_CHALLENGE_COOKIE] as { challenge?: unknown } | undefined)?.challenge;
  return typeof challenge === 'string' ? challenge : undefined;
}
