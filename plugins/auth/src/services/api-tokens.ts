import crypto from 'node:crypto';
import { nowIso, type KnexClientInfo, type ManagerCredentials, type Role } from '@bilbycast/core';
import type { AccountService } from '@bilbycast/users';
import type { Knex } from 'knex';
import { loadCallerCredentials } from './caller';
import { hashSecret, newSecret } from './secret-tokens';

export const TOKEN_PREFIX = 'bct_';

export interface ApiTokenSummary {
  id: string;
  name: string;
  prefix: string;
  role: Role | null;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
}

/** A row of `auth_api_tokens`. */
interface ApiTokenRow {
  id: string;
  secret_hash: string;
  prefix: string;
  user_id: string;
  name: string;
  role: Role | null;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
}

const LAST_USED_INTERVAL_MS = 60_000;

/**
 * Personal API tokens for scripts (`Authorization: Bearer bct_…`). Shown once, stored as a
 * hash. A token acts as its owner with the owner's current rights, optionally capped at a
 * lower role: never more than the owner has now.
 */
export class ApiTokens {
  constructor(
    private readonly db: Knex,
    private readonly accounts: AccountService
  ) {}

  /**
   * Mints a token for the signed-in user of session `sessionId`; null when that session has
   * ended meanwhile. The session row is locked while the token is inserted, so a revocation of
   * the user's credentials (which ends the sessions first, then the tokens) either ends the
   * session before this looks — and nothing is minted — or waits and then revokes the new token.
   */
  async create(
    userId: string,
    sessionId: string,
    input: { name: string; expires_at?: string | null; role?: Role | null }
  ): Promise<(ApiTokenSummary & { token: string }) | null> {
    const token = newSecret(TOKEN_PREFIX);
    const row = {
      id: crypto.randomUUID(),
      secret_hash: hashSecret(token),
      prefix: token.slice(0, 12),
      user_id: userId,
      name: input.name,
      role: input.role ?? null,
      created_at: nowIso(),
      expires_at: input.expires_at ?? null,
      last_used_at: null
    };
    return this.db.transaction(async (trx) => {
      const session = trx('auth_sessions').where({ id: sessionId, user_id: userId }).first<{ id: string } | undefined>('id');
      // SQLite serialises write transactions itself; MariaDB/MySQL needs the row lock.
      if ((this.db.client as KnexClientInfo).config.client === 'mysql2') session.forUpdate();
      if (!(await session)) return null;
      await trx('auth_api_tokens').insert(row);
      return { ...summary(row), token };
    });
  }

  async authenticate(token: string): Promise<ManagerCredentials | null> {
    if (!token.startsWith(TOKEN_PREFIX) || token.length > 100) return null;
    const row = await this.db('auth_api_tokens')
      .where({ secret_hash: hashSecret(token) })
      .first<ApiTokenRow | undefined>();
    if (!row || (row.expires_at && new Date(row.expires_at) <= new Date())) return null;
    const credentials = await loadCallerCredentials(this.accounts, row.user_id, 'token', { token_id: row.id, cap: row.role });
    if (credentials && (!row.last_used_at || Date.now() - new Date(row.last_used_at).getTime() > LAST_USED_INTERVAL_MS)) {
      await this.db('auth_api_tokens').where({ id: row.id }).update({ last_used_at: nowIso() });
    }
    return credentials;
  }

  async list(userId: string): Promise<ApiTokenSummary[]> {
    const rows = await this.db('auth_api_tokens').where({ user_id: userId }).orderBy('created_at', 'desc').select<ApiTokenRow[]>();
    return rows.map(summary);
  }

  /** Ends every token of a user; how many there were. */
  async revokeAllForUser(userId: string): Promise<number> {
    return this.db('auth_api_tokens').where({ user_id: userId }).delete();
  }

  async revoke(userId: string, tokenId: string): Promise<ApiTokenSummary | null> {
    const row = await this.db('auth_api_tokens').where({ id: tokenId, user_id: userId }).first<ApiTokenRow | undefined>();
    if (!row) return null;
    await this.db('auth_api_tokens').where({ id: tokenId }).delete();
    return summary(row);
  }
}

function summary(row: ApiTokenRow): ApiTokenSummary {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    role: row.role ?? null,
    created_at: row.created_at,
    expires_at: row.expires_at ?? null,
    last_used_at: row.last_used_at ?? null
  };
}
