import { addressGroup, apiError, nowIso, type DatabaseTarget } from '@bilbycast/core';
import type Boom from '@hapi/boom';
import type { Knex } from 'knex';
import { RateLimiterMySQL, RateLimiterRes, RateLimiterSQLite, type RateLimiterAbstract } from 'rate-limiter-flexible';

export const LOGIN_FAILURES_PER_IP = 5;
export const LOGIN_WINDOW_SECS = 60;
export const LOCKOUT_AFTER_FAILURES = 5;
export const LOCKOUT_SECS = 15 * 60;
/** Wrong passwords for one account from all addresses together before it is backed off… */
export const ACCOUNT_BACKOFF_AFTER_FAILURES = 50;
/** …for the rest of this window (sign-ins from the user's known addresses are still checked). */
export const ACCOUNT_BACKOFF_SECS = 60 * 60;
/** Addresses remembered per user as known (the most recent successful sign-ins). */
const KNOWN_ADDRESSES_PER_USER = 10;
export const MFA_FAILURES_PER_USER = 5;
export const MFA_WINDOW_SECS = 60;
export const REAUTH_FAILURES_PER_USER = 5;
export const REAUTH_WINDOW_SECS = 15 * 60;
/** The count of a locked-out key: no number of refunds in flight can bring it back under a limit. */
const LOCKED_OUT_POINTS = 1_000_000;

/** The 429 every limit answers with, with its `Retry-After`. */
export function rateLimited(retryAfter: number, message: string): Boom.Boom {
  const err = apiError(429, 'rate_limited', message);
  err.output.headers['Retry-After'] = String(retryAfter);
  return err;
}

/**
 * Brute-force limits, kept in the database so that every manager instance sees the same
 * counters: failed logins per client IP (answered with 429); consecutive wrong passwords for
 * an account *from one address* (which lock that address out of that account for 15 minutes,
 * the answer staying the generic 401); wrong passwords for an account from all addresses
 * together (a slower backoff: 50 an hour, after which only the user's known addresses — where
 * they signed in before — are still checked, so nobody elsewhere can lock the owner out);
 * failed MFA codes per user (429); and wrong passwords or codes when a signed-in user
 * re-authenticates (change password, disable MFA; 429).
 *
 * Every attempt is counted atomically *before* its credential is checked, so that parallel
 * requests cannot all be checked against a counter none of them has raised yet; an attempt
 * that turns out not to be a failure is refunded.
 */
export class LoginLimits {
  readonly #perIp: RateLimiterAbstract;
  readonly #perAccountAddress: RateLimiterAbstract;
  readonly #perAccount: RateLimiterAbstract;
  readonly #mfaPerUser: RateLimiterAbstract;
  readonly #reauthPerUser: RateLimiterAbstract;

  constructor(
    private readonly db: Knex,
    target: DatabaseTarget
  ) {
    const store = (keyPrefix: string, points: number, duration: number) => {
      const common = {
        storeClient: db,
        storeType: 'knex',
        tableName: 'auth_rate_limits',
        tableCreated: true,
        keyPrefix,
        points,
        duration,
        clearExpiredByTimeout: false
      };
      return target.client === 'sqlite' ? new RateLimiterSQLite(common) : new RateLimiterMySQL({ ...common, dbName: target.database });
    };
    this.#perIp = store('login_ip', LOGIN_FAILURES_PER_IP, LOGIN_WINDOW_SECS);
    this.#perAccountAddress = store('login_account_ip', LOCKOUT_AFTER_FAILURES, LOCKOUT_SECS);
    this.#perAccount = store('login_account', ACCOUNT_BACKOFF_AFTER_FAILURES, ACCOUNT_BACKOFF_SECS);
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

  /** Counts a login attempt from this IP (IPv6 by its /64) before it is checked: seconds to wait when over the limit, else 0. */
  takeIpAttempt(ip: string): Promise<number> {
    return take(this.#perIp, addressGroup(ip));
  }

  /**
   * Counts a password attempt on an existing account from an address before it is checked:
   * `locked` when that address is locked out of the account, or the account is backed off and
   * the address is not one the user signed in from before; `attempts` counted for the pair.
   */
  async takeAccountAttempt(userId: string, ip: string): Promise<{ locked: boolean; attempts: number; accountAttempts: number }> {
    const pair = await consumeCounting(this.#perAccountAddress, `${userId}|${addressGroup(ip)}`);
    const account = await consumeCounting(this.#perAccount, userId);
    const backedOff = account.over && !(await this.#known(userId, ip));
    const locked = pair.over || backedOff;
    if (locked) {
      // Not checked, so not counted: a locked-out address hammering on adds nothing to the account's backoff.
      await this.#perAccountAddress.reward(`${userId}|${addressGroup(ip)}`, 1);
      await this.#perAccount.reward(userId, 1);
    }
    return { locked, attempts: pair.points, accountAttempts: account.points };
  }

  /**
   * Settles a failed login whose attempts were taken (the IP's stays counted). For an unlocked
   * attempt: a wrong password keeps its counts — the last one allowed from an address locks
   * that address out of the account for LOCKOUT_SECS, the last one allowed for the account
   * backs it off for ACCOUNT_BACKOFF_SECS; any other failure (a disabled account) is refunded.
   */
  async recordFailure(account?: {
    userId: string;
    ip: string;
    attempts: number;
    accountAttempts: number;
    wrongPassword: boolean;
  }): Promise<{ lockedNow: 'none' | 'address' | 'account' }> {
    if (!account) return { lockedNow: 'none' };
    const pair = `${account.userId}|${addressGroup(account.ip)}`;
    if (!account.wrongPassword) {
      await this.#perAccountAddress.reward(pair, 1);
      await this.#perAccount.reward(account.userId, 1);
      return { lockedNow: 'none' };
    }
    // The address's last allowed attempt locks it out of the account, whatever the account's count.
    const addressLocked = account.attempts === LOCKOUT_AFTER_FAILURES;
    if (addressLocked) await lockOut(this.#perAccountAddress, pair, LOCKOUT_SECS);
    // At or past the account's limit (attempts from known addresses are still checked past it),
    // unless already locked out (refunds in flight take a few points off a locked-out count):
    // counts settled out of order must not leave the account unlocked.
    if (account.accountAttempts >= ACCOUNT_BACKOFF_AFTER_FAILURES && account.accountAttempts < LOCKED_OUT_POINTS / 2) {
      await lockOut(this.#perAccount, account.userId, ACCOUNT_BACKOFF_SECS);
      return { lockedNow: 'account' };
    }
    return { lockedNow: addressLocked ? 'address' : 'none' };
  }

  /** A right password does not count for its IP, ends the run of failures from there, and does not count toward the account's backoff. */
  async recordSuccess(ip: string, userId: string): Promise<void> {
    await this.#perIp.reward(addressGroup(ip), 1);
    await this.#perAccountAddress.delete(`${userId}|${addressGroup(ip)}`);
    await this.#perAccount.reward(userId, 1);
  }

  /**
   * A completed sign-in (password and, when enrolled, the second factor): the address becomes
   * one of the user's known ones. A right password alone must not, or someone holding only the
   * password could push the owner's addresses out.
   */
  async rememberAddress(ip: string, userId: string): Promise<void> {
    ip = addressGroup(ip);
    const now = nowIso();
    const updated = await this.db('auth_known_addresses').where({ user_id: userId, ip }).update({ last_success_at: now });
    if (updated === 0)
      await this.db('auth_known_addresses')
        .insert({ user_id: userId, ip, last_success_at: now })
        .catch(() => undefined);
    const stale = await this.db('auth_known_addresses')
      .where({ user_id: userId })
      .orderBy('last_success_at', 'desc')
      .offset(KNOWN_ADDRESSES_PER_USER)
      .select('ip');
    if (stale.length > 0)
      await this.db('auth_known_addresses')
        .where({ user_id: userId })
        .whereIn(
          'ip',
          stale.map((r: { ip: string }) => r.ip)
        )
        .delete();
  }

  /** The user's credentials changed hands (password changed or reset, account disabled): no address is known any more. */
  async forgetAddresses(userId: string): Promise<void> {
    await this.db('auth_known_addresses').where({ user_id: userId }).delete();
  }

  /** Removes counters whose window has passed (the library leaves them). */
  async purgeExpired(): Promise<number> {
    return this.db('auth_rate_limits').where('expire', '<', Date.now()).delete();
  }

  async #known(userId: string, ip: string): Promise<boolean> {
    return (
      (await this.db('auth_known_addresses')
        .where({ user_id: userId, ip: addressGroup(ip) })
        .first()) !== undefined
    );
  }
}

/**
 * Locks a key out for `secs`: its count is set far above any limit, because attempts in flight
 * when it is set are refunded afterwards (a right password, a refused attempt) and must not bring
 * it back under the limit — as `block`, which sets it just one over, would let them.
 */
async function lockOut(limiter: RateLimiterAbstract, key: string, secs: number): Promise<void> {
  await limiter.set(key, LOCKED_OUT_POINTS, secs);
}

/** Takes one point, whether or not the key is over its limit: the points counted so far, and whether that is too many. */
async function consumeCounting(limiter: RateLimiterAbstract, key: string): Promise<{ points: number; over: boolean }> {
  try {
    return { points: (await limiter.consume(key)).consumedPoints, over: false };
  } catch (err) {
    if (err instanceof RateLimiterRes) return { points: err.consumedPoints, over: true };
    throw err;
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
