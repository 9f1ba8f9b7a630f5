import { apiError, type DatabaseTarget } from '@bilbycast/core';
import type Boom from '@hapi/boom';
import type { Knex } from 'knex';
import { RateLimiterMySQL, RateLimiterRes, RateLimiterSQLite, type RateLimiterAbstract } from 'rate-limiter-flexible';

export const LOGIN_FAILURES_PER_IP = 5;
export const LOGIN_WINDOW_SECS = 60;
export const LOCKOUT_AFTER_FAILURES = 5;
export const LOCKOUT_SECS = 15 * 60;
export const MFA_FAILURES_PER_USER = 5;
export const MFA_WINDOW_SECS = 60;
export const REAUTH_FAILURES_PER_USER = 5;
export const REAUTH_WINDOW_SECS = 15 * 60;

/** The 429 every limit answers with, with its `Retry-After`. */
export function rateLimited(retryAfter: number, message: string): Boom.Boom {
  const err = apiError(429, 'rate_limited', message);
  err.output.headers['Retry-After'] = String(retryAfter);
  return err;
}

/**
 * Brute-force limits, kept in the database so that every manager instance sees the same
 * counters: failed logins per client IP (answered with 429), consecutive failures per
 * account (which lock it for 15 minutes while the answer stays the generic 401), failed MFA
 * codes per user (429), and wrong passwords or codes when a signed-in user re-authenticates
 * (change password, disable MFA; 429).
 *
 * Every attempt is counted atomically *before* its credential is checked, so that parallel
 * requests cannot all be checked against a counter none of them has raised yet; an attempt
 * that turns out not to be a failure is refunded.
 */
export class LoginLimits {
  readonly #perIp: RateLimiterAbstract;
  readonly #perAccount: RateLimiterAbstract;
  readonly #mfaPerUser: RateLimiterAbstract;
  readonly #reauthPerUser: RateLimiterAbstract;

  constructor(db: Knex, target: DatabaseTarget) {
    const store = (keyPrefix: string, points: number, duration: number) => {
      const common = { storeClient: db, storeType: 'knex', tableName: 'auth_rate_limits', tableCreated: true, keyPrefix, points, duration, clearExpiredByTimeout: false };
      return target.client === 'sqlite'
        ? new RateLimiterSQLite(common as never)
        : new RateLimiterMySQL({ ...common, dbName: target.database } as never);
    };
    this.#perIp = store('login_ip', LOGIN_FAILURES_PER_IP, LOGIN_WINDOW_SECS);
    this.#perAccount = store('login_account', LOCKOUT_AFTER_FAILURES, LOCKOUT_SECS);
    this.#mfaPerUser = store('mfa_user', MFA_FAILURES_PER_USER, MFA_WINDOW_SECS);
    this.#reauthPerUser = store('reauth_user', REAUTH_FAILURES_PER_USER, REAUTH_WINDOW_SECS);
  }

  /** Counts an MFA code attempt before it is checked: seconds to wait when over the limit, else 0. */
  takeMfaAttempt(userId: string): Promise<number> {
    return take(this.#mfaPerUser, userId);
  }

  /** The code was right: its attempt does not count. A wrong code keeps it (not the password lockout). */
  async mfaSucceeded(userId: string): Promise<void> {
    await this.#mfaPerUser.reward(userId, 1);
  }

  /** Counts a re-authentication (password and/or code of a signed-in user) before it is checked: seconds to wait, or 0. */
  takeReauthAttempt(userId: string): Promise<number> {
    return take(this.#reauthPerUser, userId);
  }

  /** The password (and code) were right: the attempt does not count. */
  async reauthSucceeded(userId: string): Promise<void> {
    await this.#reauthPerUser.reward(userId, 1);
  }

  /** Counts a login attempt from this IP before it is checked: seconds to wait when over the limit, else 0. */
  takeIpAttempt(ip: string): Promise<number> {
    return take(this.#perIp, ip);
  }

  /** Counts a password attempt on an existing account before it is checked: `locked` when over the limit, and the attempts counted so far. */
  async takeAccountAttempt(userId: string): Promise<{ locked: boolean; attempts: number }> {
    try {
      return { locked: false, attempts: (await this.#perAccount.consume(userId)).consumedPoints };
    } catch (err) {
      if (err instanceof RateLimiterRes) return { locked: true, attempts: err.consumedPoints };
      throw err;
    }
  }

  /**
   * Settles a failed login whose IP attempt was taken (it stays counted). For an unlocked
   * account attempt: a wrong password keeps its count, the last one allowed locks the account
   * for LOCKOUT_SECS; any other failure (a disabled account) is refunded.
   */
  async recordFailure(account?: { userId: string; attempts: number; wrongPassword: boolean }): Promise<{ lockedNow: boolean }> {
    if (!account) return { lockedNow: false };
    if (!account.wrongPassword) {
      await this.#perAccount.reward(account.userId, 1);
      return { lockedNow: false };
    }
    if (account.attempts !== LOCKOUT_AFTER_FAILURES) return { lockedNow: false };
    await this.#perAccount.block(account.userId, LOCKOUT_SECS);
    return { lockedNow: true };
  }

  /** A successful login does not count for its IP, and ends the account's run of failures. */
  async recordSuccess(ip: string, userId: string): Promise<void> {
    await this.#perIp.reward(ip, 1);
    await this.#perAccount.delete(userId);
  }
}

/** Takes one point: seconds until the key may try again when it is over its limit, else 0. */
async function take(limiter: RateLimiterAbstract, key: string): Promise<number> {
  try {
    await limiter.consume(key);
    return 0;
  } catch (err) {
    if (err instanceof RateLimiterRes) return Math.max(1, Math.ceil(err.msBeforeNext / 1000));
    throw err;
  }
}
