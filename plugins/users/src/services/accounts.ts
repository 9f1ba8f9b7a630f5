import crypto from 'node:crypto';
import { nowIso } from '@bilbycast/core';
import type { AccountAdministration } from './account-services';
import type { Knex } from 'knex';
import { hashPassword } from './password-hashing';
import { passwordProblems } from './password-policy';

/** 1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit (the same rule as the users API). */
export const USERNAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export class AccountError extends Error {}

/** Account storage used by the CLI and start-up bootstrap (the HTTP API builds on it). */
export class Accounts implements AccountAdministration {
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
    const problems = passwordProblems(input.password);
    if (problems.length > 0) throw new AccountError(`password rejected: ${problems.join('; ')}`);
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

  async resetPassword(username: string, password: string): Promise<string | null> {
    const problems = passwordProblems(password);
    if (problems.length > 0) throw new AccountError(`password rejected: ${problems.join('; ')}`);
    const user = await this.findUser(username);
    if (!user) return null;
    await this.db('users').where({ id: user.id }).update({ password_hash: await hashPassword(password), updated_at: nowIso() });
    return user.id;
  }

  async findUser(username: string): Promise<{ id: string; username: string } | null> {
    const user = await this.db('users').where({ username_key: username.toLowerCase() }).first('id', 'username');
    return user ? { id: String(user.id), username: String(user.username) } : null;
  }
}
