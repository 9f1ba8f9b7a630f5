import crypto from 'node:crypto';
import { isRole, isUniqueViolation, nowIso, roleAtLeast, type AuditLog, type Role, type SecretBox } from '@bilbycast/core';
import { lockActiveSuperAdmins } from '@bilbycast/users';
import type { Knex } from 'knex';
import type { AccountRow } from './account-view';
import { verifiedEmail, type IdTokenClaims } from './oidc-client';

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
  /** Create a user for a verified email that matches no account (else refuse the login). */
  auto_create: boolean;
  default_role: Role;
}

export type OidcOutcome = { user: AccountRow } | { refused: 'no_account' | 'ambiguous_email' | 'email_not_verified' | 'account_unusable' };

const CLIENT_ROW = { table: 'auth_oidc_client', column: 'client_secret', rowId: 1 } as const;
export const oidcSecretColumn = { table: CLIENT_ROW.table, column: CLIENT_ROW.column, idColumn: 'id' };

/**
 * The relying party's account side: the encrypted client secret, and turning verified ID-token
 * claims into a local user — by an existing binding (issuer + subject), else by binding the
 * user whose email matches the verified email claim, else (if enabled) by creating one.
 */
export class OidcAccounts {
  #clientSecret: string | undefined;

  constructor(
    private readonly db: Knex,
    private readonly secrets: SecretBox,
    private readonly audit: AuditLog,
    private readonly settings: OidcSettings
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

  async resolve(claims: IdTokenClaims, ip: string): Promise<OidcOutcome> {
    let user = await this.boundUser(claims.sub);
    if (!user) {
      let email: string;
      try {
        email = verifiedEmail(claims);
      } catch {
        return { refused: 'email_not_verified' };
      }
      const matches = await this.usersByEmail(email);
      // Emails are not unique: when several users share this one, none of them is bound.
      if (matches.length > 1) return { refused: 'ambiguous_email' };
      if (matches.length === 0 && !this.settings.auto_create) return { refused: 'no_account' };
      user = await this.bind(claims, email, matches[0], ip);
    }
    return { user: await this.syncRole(user, claims, ip) };
  }

  /** Up to two users whose email is this one (case-insensitive): more than one is ambiguous. */
  async usersByEmail(email: string): Promise<AccountRow[]> {
    return this.db('users').whereRaw('lower(email) = ?', [email.toLowerCase()]).limit(2);
  }

  private async boundUser(subject: string): Promise<AccountRow | undefined> {
    const bound = await this.db('auth_oidc_identities').where({ issuer: this.settings.issuer, subject }).first();
    return bound ? ((await this.db('users').where({ id: bound.user_id }).first()) as AccountRow | undefined) : undefined;
  }

  /**
   * Binds the subject to `existing`, else to a new user. When a concurrent first login for the
   * same subject bound it first, that binding wins (and a user created here is rolled back).
   */
  private async bind(claims: IdTokenClaims, email: string, existing: AccountRow | undefined, ip: string): Promise<AccountRow> {
    const { issuer } = this.settings;
    try {
      return await this.db.transaction(async (trx) => {
        const user = existing ?? (await this.createUser(trx, claims, email));
        await trx('auth_oidc_identities').insert({ issuer, subject: claims.sub, user_id: user.id, created_at: nowIso() });
        await this.audit.record(
          {
            action: 'auth.oidc_bind',
            user_id: user.id,
            username: user.username,
            target_type: 'user',
            target_id: user.id,
            ip,
            details: { issuer, subject: claims.sub, email }
          },
          trx
        );
        return user;
      });
    } catch (err) {
      const winner = isUniqueViolation(err) ? await this.boundUser(claims.sub) : undefined;
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
