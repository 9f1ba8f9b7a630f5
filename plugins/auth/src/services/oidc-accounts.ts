import { isDeadlock, isRole, isUniqueViolation, nowIso, roleAtLeast, type AuditLog, type Role, type SecretBox } from '@bilbycast/core';
import type { Account, AccountService } from '@bilbycast/users';
import type { Knex } from 'knex';
import { verifiedEmail, type IdTokenClaims } from './oidc-client';
import type { SsoIdentityStore } from './sso-identities';

export interface OidcSettings {
  issuer: string;
  client_id: string;
  /** Full URL of GET /api/v1/auth/oidc/callback as the identity provider calls it. */
  redirect_url: string;
  scopes: string[];
  /** Text of the login page's SSO button. */
  label: string;
  /** Claim holding group or role names (e.g. "groups"), mapped through role_map. */
  role_claim?: string;
  role_map: Record<string, Role>;
  /** Create a user for an unlinked identity whose verified email matches no account (else refuse the login). */
  auto_create: boolean;
  default_role: Role;
}

export type OidcOutcome = { user: Account } | { refused: 'not_linked' | 'email_not_verified' | 'account_unusable' };

/** A concurrent first login linked the identity, or took its email, while this one was creating a user for it. */
class LinkedMeanwhile extends Error {}

const CLIENT_ROW = { table: 'auth_oidc_client', column: 'client_secret', rowId: 1 } as const;
export const oidcSecretColumn = { table: CLIENT_ROW.table, column: CLIENT_ROW.column, idColumn: 'id' };

/**
 * The relying party's account side: the encrypted client secret, and turning verified ID-token
 * claims into a local user — the one the identity (issuer + subject) is linked to, else (if
 * enabled) a new one.
 */
export class OidcAccounts {
  #clientSecret: string | undefined;

  constructor(
    private readonly db: Knex,
    private readonly secrets: SecretBox,
    private readonly audit: AuditLog,
    private readonly settings: OidcSettings,
    private readonly identities: SsoIdentityStore,
    private readonly accounts: AccountService
  ) {}

  /** Loads the stored client secret into memory (bell reads it synchronously). */
  async load(): Promise<void> {
    const row = await this.db(CLIENT_ROW.table).where({ id: 1 }).first<{ client_secret: string } | undefined>();
    this.#clientSecret = row ? this.secrets.decrypt(row.client_secret, CLIENT_ROW) : undefined;
  }

  get clientSecret(): string | undefined {
    return this.#clientSecret;
  }

  async setClientSecret(secret: string): Promise<void> {
    const value = this.secrets.encrypt(secret, CLIENT_ROW);
    const updated = await this.db(CLIENT_ROW.table).where({ id: 1 }).update({ client_secret: value, updated_at: nowIso() });
    if (updated === 0) await this.db(CLIENT_ROW.table).insert({ id: 1, client_secret: value, updated_at: nowIso() });
    this.#clientSecret = secret;
  }

  /** The role the claims map to (the highest match), if a mapping applies. */
  mappedRole(claims: IdTokenClaims): Role | undefined {
    const claim = this.settings.role_claim ? (claims as Record<string, unknown>)[this.settings.role_claim] : undefined;
    const values = Array.isArray(claim) ? claim : claim === undefined ? [] : [claim];
    let best: Role | undefined;
    for (const value of values) {
      const role = typeof value === 'string' ? this.settings.role_map[value] : undefined;
      if (role && (!best || roleAtLeast(role, best))) best = role;
    }
    return best;
  }

  /**
   * The user an ID token signs in as: the one its identity is linked to. An identity linked to
   * nobody signs in only when `auto_create` is on and no user has its (verified) email — then as
   * a new user. A matching email never links an existing account: whoever controls an account at
   * the identity provider (or could set a user's email here) would otherwise take that user over.
   */
  async resolve(claims: IdTokenClaims, ip: string): Promise<OidcOutcome> {
    let user = await this.boundUser(claims.sub);
    if (!user) {
      if (!this.settings.auto_create) return { refused: 'not_linked' };
      let email: string;
      try {
        email = verifiedEmail(claims);
      } catch {
        return { refused: 'email_not_verified' };
      }
      if (await this.accounts.byEmail(email)) return { refused: 'not_linked' };
      user = await this.createLinkedUser(claims, email, ip);
      if (!user) return { refused: 'not_linked' };
    }
    return { user: await this.syncRole(user, claims, ip) };
  }

  private async boundUser(subject: string): Promise<Account | undefined> {
    const userId = await this.identities.userOf(this.settings.issuer, subject);
    return userId ? this.accounts.byId(userId) : undefined;
  }

  /**
   * Creates a user for the identity and links it. When a concurrent first login of the same
   * identity linked it first, that user wins and the one created here is rolled back; when one of
   * another identity took the email first, nothing is created (undefined).
   */
  private async createLinkedUser(claims: IdTokenClaims, email: string, ip: string, retries = 2): Promise<Account | undefined> {
    const { issuer } = this.settings;
    try {
      return await this.db.transaction(async (trx) => {
        const user = await this.accounts.createSsoUser(trx, { email, name: claims.name, role: this.mappedRole(claims) ?? this.settings.default_role });
        if (!user) throw new LinkedMeanwhile();
        await this.audit.record(
          {
            action: 'user.create',
            user_id: user.id,
            username: user.username,
            target_type: 'user',
            target_id: user.id,
            details: { source: 'oidc', role: user.role }
          },
          trx
        );
        if ((await this.identities.link(user.id, issuer, claims.sub, 'auto_create', trx)) !== 'linked') throw new LinkedMeanwhile();
        await this.audit.record(
          {
            action: 'auth.oidc_link',
            user_id: user.id,
            username: user.username,
            target_type: 'user',
            target_id: user.id,
            ip,
            details: { issuer, subject: claims.sub, source: 'auto_create' }
          },
          trx
        );
        return user;
      });
    } catch (err) {
      // MariaDB with no user yet: both locking reads found nothing and one insert was made the
      // deadlock's victim. Again: its locking read now waits for the other to commit, and sees it.
      if (isDeadlock(err) && retries > 0) return this.createLinkedUser(claims, email, ip, retries - 1);
      // The concurrent login may also have taken the username first.
      if (!(err instanceof LinkedMeanwhile || isUniqueViolation(err))) throw err;
      const winner = await this.boundUser(claims.sub);
      if (winner) return winner;
      if (await this.accounts.byEmail(email)) return undefined;
      throw err;
    }
  }

  /**
   * Applies the mapped role, except that the last active super_admin is never demoted (the
   * users plugin's rule, with its lock order): the role is kept and the refusal audited.
   */
  private async syncRole(user: Account, claims: IdTokenClaims, ip: string): Promise<Account> {
    const role = this.mappedRole(claims);
    if (!role || role === user.role || !isRole(role)) return user;
    return this.db.transaction(async (trx) => {
      const { account, refused } = await this.accounts.changeRoleFromSso(user.id, role, trx);
      const entry = { user_id: user.id, username: user.username, target_type: 'user', target_id: user.id, ip };
      if (refused) {
        await this.audit.record(
          { ...entry, action: 'auth.oidc_role_refused', outcome: 'failure', details: { role: account.role, mapped_role: role, reason: 'last_super_admin' } },
          trx
        );
      } else {
        await this.audit.record({ ...entry, action: 'user.update', details: { changed: { role }, source: 'oidc_role_mapping' } }, trx);
      }
      return account;
    });
  }
}
