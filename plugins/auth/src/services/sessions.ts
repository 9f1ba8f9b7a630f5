import crypto from 'node:crypto';
import { nowIso, type ClusterBus, type ManagerCredentials } from '@bilbycast/core';
import type { AccountService } from '@bilbycast/users';
import type { EndedSessions } from './browser-sessions';
import type { Knex } from 'knex';
import { accountUsable, loadCallerCredentials } from './caller';
import { hashSecret, newSecret } from './secret-tokens';

export interface SessionLifetimes {
  absoluteMs: number;
  idleMs: number;
}

export interface SessionSummary {
  id: string;
  ip: string | null;
  user_agent: string | null;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  current: boolean;
}

/** A digest of a password hash (or of no password), kept where the hash itself should not be copied. */
export function passwordCheck(passwordHash: string | null): string {
  return crypto
    .createHash('sha256')
    .update(passwordHash ?? '')
    .digest('hex');
}

/** A row of `auth_sessions`. */
interface SessionRow {
  id: string;
  secret_hash: string;
  user_id: string;
  ip: string | null;
  user_agent: string | null;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
}

/** Only refresh `last_seen_at` this often, so that reads do not turn into a write per request. */
const TOUCH_INTERVAL_MS = 60_000;

/**
 * Server-side sessions. The browser holds an opaque secret (sealed in the session cookie);
 * the database holds its hash, so a database leak does not reveal usable sessions.
 */
export class SessionStore {
  constructor(
    private readonly db: Knex,
    private readonly accounts: AccountService,
    private readonly bus: ClusterBus,
    private readonly lifetimes: SessionLifetimes
  ) {}

  /**
   * Starts a session for the user, unless the sign-in it completes has gone stale: the account
   * is no longer usable, or its password is no longer the one the password step was passed
   * against (`password`: the hash itself, or the digest a code-step challenge keeps). The
   * user's row is locked meanwhile, so a concurrent reset either lands first — and this refuses
   * (null) — or waits, and then ends this session with the others.
   */
  async create(
    userId: string,
    meta: { ip?: string; user_agent?: string },
    password?: { hash: string | null } | { check: string }
  ): Promise<{ id: string; secret: string } | null> {
    const id = crypto.randomUUID();
    const secret = newSecret();
    const now = nowIso();
    return this.db.transaction(async (trx) => {
      const user = await this.accounts.lockForUpdate(userId, trx);
      if (!user || !accountUsable(user)) return null;
      if (password && ('hash' in password ? user.password_hash !== password.hash : passwordCheck(user.password_hash) !== password.check)) return null;
      await trx('auth_sessions').insert({
        id,
        secret_hash: hashSecret(secret),
        user_id: userId,
        ip: meta.ip?.slice(0, 64) ?? null,
        user_agent: meta.user_agent?.slice(0, 256) ?? null,
        created_at: now,
        last_seen_at: now,
        expires_at: new Date(Date.now() + this.lifetimes.absoluteMs).toISOString()
      });
      return { id, secret };
    });
  }

  /**
   * Credentials for a live session, or null when it is unknown, expired, idle too long or its
   * user can no longer act. A request counts as activity (it refreshes the idle timer); a
   * background re-check (`touch: false`, an open dashboard) does not.
   */
  async authenticate(secret: string, options: { touch?: boolean } = {}): Promise<ManagerCredentials | null> {
    const session = await this.db('auth_sessions')
      .where({ secret_hash: hashSecret(secret) })
      .first<SessionRow | undefined>();
    if (!session) return null;
    const now = Date.now();
    const lastSeen = new Date(session.last_seen_at).getTime();
    if (new Date(session.expires_at).getTime() <= now || lastSeen + this.lifetimes.idleMs <= now) {
      await this.db('auth_sessions').where({ id: session.id }).delete();
      return null;
    }
    const credentials = await loadCallerCredentials(this.accounts, session.user_id, 'session', { session_id: session.id });
    if (credentials && options.touch !== false && now - lastSeen > TOUCH_INTERVAL_MS) {
      await this.db('auth_sessions').where({ id: session.id }).update({ last_seen_at: nowIso() });
    }
    return credentials;
  }

  async list(userId: string, currentId?: string): Promise<SessionSummary[]> {
    const rows = await this.db('auth_sessions').where({ user_id: userId }).orderBy('created_at', 'desc').select<SessionRow[]>();
    return rows.map((r) => ({
      id: r.id,
      ip: r.ip,
      user_agent: r.user_agent,
      created_at: r.created_at,
      last_seen_at: r.last_seen_at,
      expires_at: r.expires_at,
      current: r.id === currentId
    }));
  }

  /** Ends one of the user's sessions; false when there is no such session of theirs. */
  async revoke(userId: string, sessionId: string): Promise<boolean> {
    const ended = (await this.db('auth_sessions').where({ id: sessionId, user_id: userId }).delete()) > 0;
    if (ended) this.#announce({ sessionIds: [sessionId] });
    return ended;
  }

  /** Ends every session of a user, optionally keeping one (the caller's own). */
  async revokeAllForUser(userId: string, keepSessionId?: string): Promise<number> {
    const query = this.db('auth_sessions').where({ user_id: userId });
    if (keepSessionId) query.whereNot({ id: keepSessionId });
    const ended = await query.delete();
    // Announced by user, not by the rows deleted: a deleted user's rows are already gone (cascade).
    this.#announce({ userId, exceptSessionId: keepSessionId });
    return ended;
  }

  /** Tells every instance (the `browserSessions` service's listeners) which sessions a revocation ended; a failing listener cannot stop the revocation. */
  #announce(ended: EndedSessions): void {
    this.bus.publish('auth.sessions_ended', ended);
  }

  /** Removes expired sessions (run on a schedule). */
  async purgeExpired(): Promise<number> {
    return this.db('auth_sessions').where('expires_at', '<=', nowIso()).delete();
  }
}
