import crypto from 'node:crypto';
import { isRole, nowIso, roleAtLeast, type AuditLog, type Role, type SecretBox } from '@bilbycast/core';
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

export type OidcOutcome = { user: AccountRow } | { refused: 'no_account' | 'email_not_verified' | 'account_unusable' };

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
    const { issuer } = this.settings;
    const bound = await this.db('auth_oidc_identities').where({ issuer, subject: claims.sub }).first();
    let user = bound ? ((await this.db('users').where({ id: bound.user_id }).first()) as AccountRow | undefined) : undefined;

    if (!user) {
      let email: string;
      try {
        email = verifiedEmail(claims);
      } catch {
        return { refused: 'email_not_verified' };
      }
      user = (await this.db('users').whereRaw('lower(email) = ?', [email.toLowerCase()]).first()) as AccountRow | undefined;
      if (!user && this.settings.auto_create) user = await this.createUser(claims, email);
      if (!user) return { refused: 'no_account' };
      await this.db('auth_oidc_identities').insert({ issuer, subject: claims.sub, user_id: user.id, created_at: nowIso() });
      await this.audit.record({
        action: 'auth.oidc_bind',
        user_id: user.id,
        username: user.username,
        target_type: 'user',
        target_id: user.id,
        ip,
        details: { issuer, subject: claims.sub, email }
      });
    }

    const role = this.mappedRole(claims);
    if (role && role !== user.role && isRole(role)) {
      await this.db('users').where({ id: user.id }).update({ role, updated_at: nowIso() });
      await this.audit.record({
        action: 'user.update',
        user_id: user.id,
        username: user.username,
        target_type: 'user',
        target_id: user.id,
        ip,
        details: { changed: { role }, source: 'oidc_role_mapping' }
      });
      user = { ...user, role };
    }
    return { user };
  }

  async createUser(claims: IdTokenClaims, email: string): Promise<AccountRow> {
    const base = (email.split('@')[0] ?? 'user').replace(/[^A-Za-z0-9._-]/g, '').slice(0, 56) || 'user';
    let username = base;
    for (let n = 2; await this.db('users').where({ username_key: username.toLowerCase() }).first(); n++) username = `${base}${n}`;
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
    await this.db('users').insert(row);
    await this.audit.record({ action: 'user.create', user_id: row.id, username, target_type: 'user', target_id: row.id, details: { source: 'oidc', role: row.role } });
    return (await this.db('users').where({ id: row.id }).first()) as AccountRow;
  }
}
