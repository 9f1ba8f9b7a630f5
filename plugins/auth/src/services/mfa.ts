import crypto from 'node:crypto';
import { nowIso, parseJsonColumn, fromDbBoolean, type KnexClientInfo, type SecretBox } from '@bilbycast/core';
import type { Knex } from 'knex';
import { passwordCheck } from './sessions';
import { generateRecoveryCodes, hashRecoveryCode, matchRecoveryCode } from './recovery-codes';
import { hashSecret, newSecret } from './secret-tokens';
import { generateTotpSecret, totpQrSvg, totpUri, verifyTotp } from './totp';

export const CHALLENGE_LIFETIME_MS = 5 * 60_000;
const TABLE = 'auth_mfa';

/** The encrypted columns of this store (registered for master-key rotation). */
export const mfaSecretColumns = [
  { table: TABLE, column: 'totp_secret', idColumn: 'user_id' },
  { table: TABLE, column: 'pending_secret', idColumn: 'user_id' },
  { table: TABLE, column: 'recovery_code_key', idColumn: 'user_id' }
];

/** A row of `auth_mfa` (`enabled` comes back as 0/1 from SQLite and MariaDB/MySQL, `last_used_step` as a string from bigint columns on some drivers). */
interface MfaRow {
  user_id: string;
  enabled: boolean | number;
  totp_secret: string | null;
  pending_secret: string | null;
  last_used_step: number | string | null;
  recovery_code_hashes: string;
  recovery_code_key: string | null;
  updated_at: string;
}

/** A row of `auth_mfa_challenges`. */
interface ChallengeRow {
  secret_hash: string;
  user_id: string;
  expires_at: string;
  next: string | null;
  password_check: string | null;
}

export type CodeCheck = { ok: true; via: 'totp' | 'recovery_code' } | { ok: false };

/**
 * TOTP enrolment, verification with replay protection, single-use recovery codes, and the
 * challenges issued between the password step and the code step of a login.
 */
export class MfaStore {
  constructor(
    private readonly db: Knex,
    private readonly secrets: SecretBox
  ) {}

  async enabledFor(userIds: string[]): Promise<Set<string>> {
    if (userIds.length === 0) return new Set();
    const rows = await this.db(TABLE).whereIn('user_id', userIds).where({ enabled: true }).select('user_id');
    return new Set(rows.map((r: { user_id: string }) => r.user_id));
  }

  async enabled(userId: string): Promise<boolean> {
    const row = await this.db(TABLE).where({ user_id: userId }).first<MfaRow | undefined>();
    return Boolean(row && fromDbBoolean(row.enabled));
  }

  /** Starts (or restarts) enrolment with a fresh secret; nothing is enabled yet. */
  async beginSetup(userId: string, accountName: string): Promise<{ secret: string; otpauth_url: string; qr_svg: string }> {
    const secret = generateTotpSecret();
    const encrypted = this.secrets.encrypt(secret, { table: TABLE, column: 'pending_secret', rowId: userId });
    const existing = await this.db(TABLE).where({ user_id: userId }).first<MfaRow | undefined>();
    if (existing) await this.db(TABLE).where({ user_id: userId }).update({ pending_secret: encrypted, updated_at: nowIso() });
    else await this.db(TABLE).insert({ user_id: userId, enabled: false, pending_secret: encrypted, recovery_code_hashes: '[]', updated_at: nowIso() });
    const otpauth_url = totpUri({ secret, accountName });
    return { secret, otpauth_url, qr_svg: await totpQrSvg(otpauth_url) };
  }

  /** Enables MFA when `code` matches the pending secret; returns the recovery codes (shown once). */
  async confirm(userId: string, code: string): Promise<string[] | null> {
    const row = await this.db(TABLE).where({ user_id: userId }).first<MfaRow | undefined>();
    if (!row?.pending_secret) return null;
    const secret = this.secrets.decrypt(row.pending_secret, { table: TABLE, column: 'pending_secret', rowId: userId });
    const check = await verifyTotp({ secret, code });
    if (!check.valid) return null;
    const { codes, columns } = this.#newRecoveryCodes(userId);
    await this.db(TABLE)
      .where({ user_id: userId })
      .update({
        enabled: true,
        totp_secret: this.secrets.encrypt(secret, { table: TABLE, column: 'totp_secret', rowId: userId }),
        pending_secret: null,
        last_used_step: check.timeStep,
        ...columns,
        updated_at: nowIso()
      });
    return codes;
  }

  /** Replaces an enabled user's recovery codes (all of them, under a new key); the new ones, shown once, or null without MFA. */
  async regenerateRecoveryCodes(userId: string): Promise<string[] | null> {
    const { codes, columns } = this.#newRecoveryCodes(userId);
    const updated = await this.db(TABLE)
      .where({ user_id: userId, enabled: true })
      .update({ ...columns, updated_at: nowIso() });
    return updated > 0 ? codes : null;
  }

  /** How many unused recovery codes the user has (0 without MFA). */
  async recoveryCodesLeft(userId: string): Promise<number> {
    const row = await this.db(TABLE).where({ user_id: userId, enabled: true }).first<Pick<MfaRow, 'recovery_code_hashes'> | undefined>('recovery_code_hashes');
    return row ? parseJsonColumn<string[]>(row.recovery_code_hashes, []).length : 0;
  }

  /** Ten new recovery codes and the columns that store them: HMACs under a new per-user key, itself encrypted. */
  #newRecoveryCodes(userId: string): { codes: string[]; columns: { recovery_code_key: string; recovery_code_hashes: string } } {
    const codes = generateRecoveryCodes();
    const key = crypto.randomBytes(32);
    return {
      codes,
      columns: {
        recovery_code_key: this.secrets.encrypt(key.toString('base64'), { table: TABLE, column: 'recovery_code_key', rowId: userId }),
        recovery_code_hashes: JSON.stringify(codes.map((c) => hashRecoveryCode(c, key)))
      }
    };
  }

  /** Removes the user's TOTP secret and recovery codes (and any unfinished enrolment); false when MFA was not on. */
  async reset(userId: string): Promise<boolean> {
    const wasEnabled = await this.enabled(userId);
    await this.db(TABLE).where({ user_id: userId }).delete();
    return wasEnabled;
  }

  /**
   * Checks a TOTP code (never the same time step twice) or a recovery code (consumed on use)
   * in one transaction, so two concurrent uses of one code cannot both succeed.
   */
  async checkCode(userId: string, code: string): Promise<CodeCheck> {
    return this.db.transaction(async (trx) => {
      const query = trx(TABLE).where({ user_id: userId });
      // SQLite serialises write transactions itself; MariaDB/MySQL needs the row lock.
      if ((this.db.client as KnexClientInfo).config.client === 'mysql2') query.forUpdate();
      const row = await query.first<MfaRow | undefined>();
      if (!row || !fromDbBoolean(row.enabled) || !row.totp_secret) return { ok: false };
      const secret = this.secrets.decrypt(row.totp_secret, { table: TABLE, column: 'totp_secret', rowId: userId });
      const lastUsedStep = row.last_used_step === null ? null : Number(row.last_used_step);
      const totp = await verifyTotp({ secret, code, lastUsedStep });
      if (totp.valid) {
        await trx(TABLE).where({ user_id: userId }).update({ last_used_step: totp.timeStep, updated_at: nowIso() });
        return { ok: true, via: 'totp' };
      }
      const hashes = parseJsonColumn<string[]>(row.recovery_code_hashes, []);
      const key = row.recovery_code_key
        ? Buffer.from(this.secrets.decrypt(row.recovery_code_key, { table: TABLE, column: 'recovery_code_key', rowId: userId }), 'base64')
        : null;
      const used = matchRecoveryCode(code, hashes, key);
      if (!used) return { ok: false };
      await trx(TABLE)
        .where({ user_id: userId })
        .update({ recovery_code_hashes: JSON.stringify(hashes.filter((h) => h !== used)), updated_at: nowIso() });
      return { ok: true, via: 'recovery_code' };
    });
  }

  /** A code step for a user who passed the password step against `passwordHash`. */
  async createChallenge(userId: string, passwordHash: string | null, next?: string): Promise<string> {
    const token = newSecret('mfa_');
    await this.db('auth_mfa_challenges').where('expires_at', '<=', nowIso()).delete();
    await this.db('auth_mfa_challenges').insert({
      secret_hash: hashSecret(token),
      user_id: userId,
      expires_at: new Date(Date.now() + CHALLENGE_LIFETIME_MS).toISOString(),
      next: next ?? null,
      password_check: passwordCheck(passwordHash)
    });
    return token;
  }

  /** The user of a live challenge (without using it up), or null. */
  async challengeUser(token: string): Promise<{ userId: string; next: string | null; passwordCheck: string } | null> {
    const row = await this.db('auth_mfa_challenges')
      .where({ secret_hash: hashSecret(token) })
      .first<ChallengeRow | undefined>();
    if (!row || new Date(row.expires_at) <= new Date() || !row.password_check) return null;
    return { userId: row.user_id, next: row.next, passwordCheck: row.password_check };
  }

  /** Ends the user's pending code steps: a password step passed before a reset must not finish after it. */
  async forgetChallenges(userId: string): Promise<void> {
    await this.db('auth_mfa_challenges').where({ user_id: userId }).delete();
  }

  /** Uses a challenge up; false if it was already used (a concurrent request won). */
  async consumeChallenge(token: string): Promise<boolean> {
    return (
      (await this.db('auth_mfa_challenges')
        .where({ secret_hash: hashSecret(token) })
        .delete()) > 0
    );
  }
}
