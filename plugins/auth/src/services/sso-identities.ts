import { apiError, isForeignKeyViolation, isUniqueViolation, nowIso } from '@bilbycast/core';
import type { AccountService, SsoIdentity, SsoLinkOutcome, SsoLinkSource } from '@bilbycast/users';
import type { Knex } from 'knex';

const TABLE = 'auth_oidc_identities';

/** A row of `auth_oidc_identities`. */
interface IdentityRow {
  issuer: string;
  subject: string;
  user_id: string;
  source: string;
  created_at: string;
}

/**
 * The identity-provider accounts (issuer + subject) that may sign in as a user. A binding is
 * only ever made by an explicit act — the user linking while signed in, an administrator, or the
 * first single sign-on of an account created for it — never by matching an email.
 */
export class SsoIdentityStore {
  constructor(
    private readonly db: Knex,
    private readonly accounts: AccountService
  ) {}

  async list(userId: string): Promise<SsoIdentity[]> {
    const rows = await this.db(TABLE)
      .where({ user_id: userId })
      .orderBy('created_at')
      .select<Pick<IdentityRow, 'issuer' | 'subject' | 'source' | 'created_at'>[]>('issuer', 'subject', 'source', 'created_at');
    return rows.map((r) => ({ issuer: String(r.issuer), subject: String(r.subject), source: r.source as SsoLinkSource, created_at: String(r.created_at) }));
  }

  /** The user bound to this identity, if any. */
  async userOf(issuer: string, subject: string, db: Knex = this.db): Promise<string | undefined> {
    const row = await db(TABLE).where({ issuer, subject }).first<Pick<IdentityRow, 'user_id'> | undefined>('user_id');
    return row ? String(row.user_id) : undefined;
  }

  /** Binds the identity to the user, unless it is bound already (to them or to someone else). */
  async link(userId: string, issuer: string, subject: string, source: Exclude<SsoLinkSource, 'email_match'>, db: Knex = this.db): Promise<SsoLinkOutcome> {
    const bound = await this.userOf(issuer, subject, db);
    if (bound) return bound === userId ? 'already_linked' : 'linked_elsewhere';
    try {
      await db(TABLE).insert({ issuer, subject, user_id: userId, source, created_at: nowIso() });
      return 'linked';
    } catch (err) {
      // The user was deleted meanwhile.
      if (isForeignKeyViolation(err)) throw apiError(404, 'user_not_found', 'No such user');
      // A concurrent link of the same identity got there first.
      if (!isUniqueViolation(err)) throw err;
      return (await this.userOf(issuer, subject, db)) === userId ? 'already_linked' : 'linked_elsewhere';
    }
  }

  /**
   * Removes one of the user's identities; false when the user has no such identity. With
   * `keepSignInMethod` (the configured issuer), the only way an account without a password (one
   * created by single sign-on) can sign in is kept: its last identity at that issuer stays (409
   * `last_sign_in_method`) until a password is set.
   */
  async unlink(userId: string, issuer: string, subject: string, options: { keepSignInMethod?: string | null } = {}): Promise<boolean> {
    return this.db.transaction(async (trx) => {
      // Concurrent removals of a user's identities queue on the user's row (SQLite serialises writes itself).
      const user = await this.accounts.lockForUpdate(userId, trx);
      const removed = (await trx(TABLE).where({ user_id: userId, issuer, subject }).delete()) > 0;
      if (removed && options.keepSignInMethod && issuer === options.keepSignInMethod && !user?.password_hash) {
        // (On MariaDB this first plain read comes after the lock wait, so it sees a concurrent removal.)
        const [{ count }] = await trx(TABLE).where({ user_id: userId, issuer }).count({ count: '*' });
        if (Number(count) === 0) {
          throw apiError(
            409,
            'last_sign_in_method',
            'This is the only way you can sign in (your account has no password): ask an administrator to set a password first'
          );
        }
      }
      return removed;
    });
  }
}
