import crypto from 'node:crypto';
import { isRole, isUniqueViolation, nowIso, roleAtLeast, type AuditLog, type Role, type SecretBox } from '@bilbycast/core';
import { lockActiveSuperAdmins } from '@bilbycast/users';
import type { Knex } from 'knex';
import type { AccountRow } from './account-view';
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

export type OidcOutcome = { user: AccountRow } | { refused: 'not_linked' | 'email_not_verified' | 'account_unusable' };

/** A concurrent first login linked the identity while this one was creating a user for it. */
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
    private readonly identities: SsoIdentityStore
  ) {}

  /** Loads the stored client secret into memory (bell reads it synchronously). */
  async load(): Promise<void> {
    const row = await this.db(CLIENT_ROW.table).where({ id: 1 }).first();
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
      if ((await this.usersByEmail(email)).length > 0) return { refused: 'not_linked' };
      user = await this.createLinkedUser(claims, email, ip);
    }
    return { user: await this.syncRole(user, claims, ip) };
  }

  /** Users whose email is this one (case-insensitive), at most one. */
  async usersByEmail(email: string): Promise<AccountRow[]> {
    return this.db('users').whereRaw('lower(email) = ?', [email.toLowerCase()]).limit(1);
  }

  private async boundUser(subject: string): Promise<AccountRow | undefined> {
    const userId = await this.identities.userOf(this.settings.issuer, subject);
    return userId ? ((await this.db('users').where({ id: userId }).first()) as AccountRow | undefined) : undefined;
  }

  /**
   * Creates a user for the identity and links it. When a concurrent first login of the same
   * identity linked it first, that user wins and the one created here is rolled back.
   */
  private async createLinkedUser(claims: IdTokenClaims, email: string, ip: string): Promise<AccountRow> {
    const { issuer } = this.settings;
    try {
      return await this.db.transaction(async (trx) => {
        const user = await this.createUser(trx, claims, email);
        if ((await this.identities.link(user.id, issuer, claims.sub, 'auto_create', trx)) !== 'linked') throw new LinkedMeanwhile();
        await this.audit.record(
          { action: 'auth.oidc_link', user_id: user.id, username: user.username, target_type: 'user', target_id: user.id, ip, details: { issuer, subject: claims.sub, source: 'auto_create' } },
          trx
        );
        return user;
      });
    } catch (err) {
      // The concurrent login may also have taken the username first.
      const winner = err instanceof LinkedMeanwhile || isUniqueViolation(err) ? await this.boundUser(claims.sub) : undefined;
      if (!winner) throw err;
      return winner;
    }
  }

  /**
   * Applies the mapped role, except that the last active super_admin is never demoted (the
   * users plugin's rule, with its lock order): the role is kept and the refusal audited.
   */
  private async syncRole(user: AccountRow, claims: IdTokenClaims, ip: string): Promise<AccountRow> {
    const role = this.mappedRole(claims);
    if (!role || role === user.role || !isRole(role)) return user;
    return this.db.transaction(async (trx) => {
      const superAdmins = await lockActiveSuperAdmins(trx);
      const current = (await trx('users').where({ id: user.id }).forUpdate().first()) as AccountRow;
      const entry = { user_id: user.id, username: user.username, target_type: 'user', target_id: user.id, ip };
      if (current.role === 'super_admin' && !superAdmins.some((id) => id !== user.id)) {
        await this.audit.record(
          { ...entry, action: 'auth.oidc_role_refused', outcome: 'failure', details: { role: current.role, mapped_role: role, reason: 'last_super_admin' } },
          trx
        );
        return current;
      }
      await trx('users').where({ id: user.id }).update({ role, updated_at: nowIso() });
      await this.audit.record({ ...entry, action: 'user.update', details: { changed: { role }, source: 'oidc_role_mapping' } }, trx);
      return { ...current, role };
    });
  }

  private async createUser(trx: Knex.Transaction, claims: IdTokenClaims, email: string): Promise<AccountRow> {
    const base = (email.split('@')[0] ?? 'user').replace(/[^A-Za-z0-9._-]/g, '').slice(0, 56) || 'user';
    let username = base;
    for (let n = 2; await trx('users').where({ username_key: username.toLowerCase() }).first(); n++) username = `${base}${n}`;
    const now = nowIso();
    const row = {
      id: crypto.randomUUID(),
      username,
      username_key: username.toLowerCase(),
      display_name: (claims.name ?? username).slice(0, 128),
      email,
      role: this.mappedRole(claims) ?? this.settings.default_role,
      is_active: true,
      password_hash: null,
      created_at: now,
      updated_at: now
    };
    await trx('users').insert(row);
    await this.audit.record({ action: 'user.create', user_id: row.id, username, target_type: 'user', target_id: row.id, details: { source: 'oidc', role: row.role } }, trx);
    return (await trx('users').where({ id: row.id }).first()) as AccountRow;
  }
}
