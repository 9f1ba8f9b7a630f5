import crypto from 'node:crypto';
import { nowIso, type Role } from '@bilbycast/core';
import type { Knex } from 'knex';
import type { Account, AccountService, AccountWithPassword } from './account-services';
import { hashPassword } from './password-hashing';
import { PASSWORD_HISTORY_SIZE, isReusedPassword, rememberReplacedPassword } from './password-history';
import { passwordProblems } from './password-policy';
import { lockActiveSuperAdmins, toUser, userNotFound } from './user-directory';

/** 1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit (the same rule as the users API). */
export const USERNAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** An account change the rules refuse; `code` tells a caller which rule (e.g. `password_reused`). */
export class AccountError extends Error {
  constructor(
    message: string,
    readonly code = 'account_refused'
  ) {
    super(message);
  }
}

type UserRow = Record<string, unknown>;

/**
 * The `accounts` service: the account storage the CLI, the start-up bootstrap and the auth
 * plugin use (the users API has its own, `UserDirectory`).
 */
export class Accounts implements AccountService {
  constructor(private readonly db: Knex) {}

  async countUsers(): Promise<number> {
    const row = await this.db('users').count({ n: '*' }).first();
    return Number(row?.n ?? 0);
  }

  passwordProblems(password: string): string[] {
    return passwordProblems(password);
  }

  async createSuperAdmin(input: { username: string; password: string; display_name?: string; email?: string }) {
    if (!USERNAME_PATTERN.test(input.username)) {
      throw new AccountError('username must be 1-64 characters of A-Z, a-z, 0-9, ".", "_" or "-", starting with a letter or digit');
    }
    assertPasswordPolicy(input.password);
    const id = crypto.randomUUID();
    const now = nowIso();
    await this.db('users').insert({
      id,
      username: input.username,
      username_key: input.username.toLowerCase(),
      display_name: input.display_name ?? input.username,
      email: input.email ?? null,
      role: 'super_admin',
      is_active: true,
      password_hash: await hashPassword(input.password),
      created_at: now,
      updated_at: now
    });
    return { id };
  }

  async byId(id: string): Promise<Account | undefined> {
    return toAccount(await this.db('users').where({ id }).first<UserRow | undefined>());
  }

  async byUsername(username: string): Promise<Account | undefined> {
    return toAccount(await this.db('users').where({ username_key: username.toLowerCase() }).first<UserRow | undefined>());
  }

  async byEmail(email: string): Promise<Account | undefined> {
    return toAccount(await this.db('users').whereRaw('lower(email) = ?', [email.toLowerCase()]).first<UserRow | undefined>());
  }

  async withPassword(key: { id: string } | { username: string }): Promise<AccountWithPassword | undefined> {
    const where = 'id' in key ? { id: key.id } : { username_key: key.username.toLowerCase() };
    return withPasswordHash(await this.db('users').where(where).first<UserRow | undefined>());
  }

  async lockForUpdate(id: string, trx: Knex.Transaction): Promise<AccountWithPassword | undefined> {
    // On SQLite knex leaves the lock out: SQLite serialises write transactions itself.
    return withPasswordHash(await trx('users').where({ id }).forUpdate().first<UserRow | undefined>());
  }

  async updateProfile(id: string, changes: { display_name?: string; email?: string | null }): Promise<void> {
    const { display_name, email } = changes;
    await this.db('users').where({ id }).update({ display_name, email, updated_at: nowIso() });
  }

  async setPassword(id: string, password: string, options: { allowReuse?: boolean; expectedHash?: string | null } = {}): Promise<void> {
    assertPasswordPolicy(password);
    // The costly argon2 work (the history check, the hash) runs before the transaction, so the row
    // lock and the connection are held only for the writes; the hash is compared again under the lock.
    const read = await this.db('users').where({ id }).first<UserRow | undefined>('password_hash');
    if (!read) throw userNotFound();
    const current = (read.password_hash as string | null) ?? null;
    if (options.expectedHash !== undefined && options.expectedHash !== current) throw passwordChanged();
    if (!options.allowReuse && (await isReusedPassword(this.db, id, current, password))) {
      throw new AccountError(`the new password must differ from the current one and the last ${PASSWORD_HISTORY_SIZE} before it`, 'password_reused');
    }
    const hash = await hashPassword(password);
    await this.db.transaction(async (trx) => {
      const row = await trx('users').where({ id }).forUpdate().first<UserRow | undefined>('password_hash');
      if (!row) throw userNotFound();
      if (((row.password_hash as string | null) ?? null) !== current) throw passwordChanged();
      await trx('users').where({ id }).update({ password_hash: hash, updated_at: nowIso() });
      await rememberReplacedPassword(trx, id, current);
    });
  }

  async recordLogin(id: string): Promise<void> {
    await this.db('users').where({ id }).update({ last_login_at: nowIso() });
  }

  async createSsoUser(trx: Knex.Transaction, input: { email: string; name?: string; role: Role }): Promise<Account | undefined> {
    // A locking read: on MariaDB it scans (and locks) every row, so a concurrent creation waits
    // here and then sees this one's user; SQLite runs one transaction at a time anyway.
    if (await trx('users').whereRaw('lower(email) = ?', [input.email.toLowerCase()]).forUpdate().first('id')) return undefined;
    const base = (input.email.split('@')[0] ?? 'user').replace(/[^A-Za-z0-9._-]/g, '').slice(0, 56) || 'user';
    let username = base;
    for (let n = 2; await trx('users').where({ username_key: username.toLowerCase() }).first(); n++) username = `${base}${n}`;
    const id = crypto.randomUUID();
    const now = nowIso();
    await trx('users').insert({
      id,
      username,
      username_key: username.toLowerCase(),
      display_name: (input.name ?? username).slice(0, 128),
      email: input.email,
      role: input.role,
      is_active: true,
      password_hash: null,
      created_at: now,
      updated_at: now
    });
    return toAccount(await trx('users').where({ id }).first<UserRow | undefined>());
  }

  async changeRoleFromSso(id: string, role: Role, trx: Knex.Transaction): Promise<{ account: Account; refused: boolean }> {
    // The users API's lock order: the active super_admins, then the user.
    const superAdmins = await lockActiveSuperAdmins(trx);
    const account = toAccount(await trx('users').where({ id }).forUpdate().first<UserRow | undefined>());
    if (!account) throw userNotFound();
    if (account.role === 'super_admin' && !superAdmins.some((adminId) => adminId !== id)) return { account, refused: true };
    const updated_at = nowIso();
    await trx('users').where({ id }).update({ role, updated_at });
    return { account: { ...account, role, updated_at }, refused: false };
  }
}

function passwordChanged(): AccountError {
  return new AccountError('the password was changed meanwhile', 'password_changed');
}

function assertPasswordPolicy(password: string): void {
  const problems = passwordProblems(password);
  if (problems.length > 0) throw new AccountError(`password rejected: ${problems.join('; ')}`);
}

function toAccount(row: UserRow | undefined): Account | undefined {
  if (!row) return undefined;
  const { mfa_enabled: _mfa, ...account } = toUser(row);
  return account;
}

function withPasswordHash(row: UserRow | undefined): AccountWithPassword | undefined {
  const account = toAccount(row);
  return account && { ...account, password_hash: (row?.password_hash as string | null) ?? null };
}
