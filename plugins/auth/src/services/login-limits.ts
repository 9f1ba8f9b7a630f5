import type { DatabaseTarget } from '@bilbycast/core';
import type { Knex } from 'knex';
import { RateLimiterMySQL, RateLimiterSQLite, type RateLimiterAbstract } from 'rate-limiter-flexible';

export const LOGIN_FAILURES_PER_IP = 5;
export const LOGIN_WINDOW_SECS = 60;
export const LOCKOUT_AFTER_FAILURES = 5;
export const LOCKOUT_SECS = 15 * 60;
export const MFA_FAILURES_PER_USER = 5;
export const MFA_WINDOW_SECS = 60;

/**
 * Brute-force limits, kept in the database so that every manager instance sees the same
 * counters: failed logins per client IP (answered with 429), consecutive failures per
 * account (which lock it for 15 minutes while the answer stays the generic 401), and
 * failed MFA codes per user (429).
 */
export class LoginLimits {
  readonly #perIp: RateLimiterAbstract;
  readonly #perAccount: RateLimiterAbstract;
  readonly #mfaPerUser: RateLimiterAbstract;

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
  }

  /** Seconds until this user may try another MFA code, or 0. */
  async mfaRetryAfter(userId: string): Promise<number> {
    const state = await this.#mfaPerUser.get(userId);
    return state && state.consumedPoints >= MFA_FAILURES_PER_USER ? Math.max(1, Math.ceil(state.msBeforeNext / 1000)) : 0;
  }

  /** A wrong MFA code counts here only, not towards the password lockout. */
  async recordMfaFailure(userId: string): Promise<void> {
    await this.#mfaPerUser.penalty(userId, 1);
  }

  /** Seconds until this IP may try again, or 0 when it may try now. */
  async ipRetryAfter(ip: string): Promise<number> {
    const state = await this.#perIp.get(ip);
    return state && state.consumedPoints >= LOGIN_FAILURES_PER_IP ? Math.max(1, Math.ceil(state.msBeforeNext / 1000)) : 0;
  }

  async accountLocked(userId: string): Promise<boolean> {
    const state = await this.#perAccount.get(userId);
    return state !== null && state.consumedPoints >= LOCKOUT_AFTER_FAILURES;
  }

  /** Counts a failed attempt; `userId` when the password of an existing account was wrong. */
  async recordFailure(ip: string, userId?: string): Promise<{ lockedNow: boolean }> {
    await this.#perIp.penalty(ip, 1);
    if (!userId) return { lockedNow: false };
    const state = await this.#perAccount.penalty(userId, 1);
    if (state.consumedPoints === LOCKOUT_AFTER_FAILURES) {
      await this.#perAccount.block(userId, LOCKOUT_SECS);
      return { lockedNow: true };
    }
    return { lockedNow: false };
  }

  /** A successful login ends the run of consecutive failures. */
  async recordSuccess(userId: string): Promise<void> {
    await this.#perAccount.delete(userId);
  }
}
