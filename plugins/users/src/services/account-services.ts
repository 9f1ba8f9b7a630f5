import type { Role } from '@bilbycast/core';
import type { Knex } from 'knex';
import type { User } from './user-directory';

/**
 * The account services, declared here — in the package the auth plugin already depends on —
 * so that both sides share their types: `accounts` is provided by this plugin (the CLI and
 * auth use it: it is the only way into the `users` table from outside this plugin);
 * `sessions`, `mfa` and `ssoIdentities` are provided by the auth plugin and used by this
 * plugin's routes and commands when it is loaded.
 */

/** A user's account as the account service gives it out: no password hash or other secret. */
export type Account = Omit<User, 'mfa_enabled'>;

/** An account with its password hash (null: it has none, made by single sign-on), to check a password against. */
export interface AccountWithPassword extends Account {
  password_hash: string | null;
}

/**
 * Accounts for the CLI, the start-up bootstrap and the auth plugin (sign-in, one's own account,
 * single sign-on); provided by the users plugin. Methods taking `trx` run in the caller's
 * transaction, so that their change commits or rolls back with the caller's own tables.
 */
export interface AccountService {
  countUsers(): Promise<number>;
  /** Reasons a password fails the policy (empty when it passes). */
  passwordProblems(password: string): string[];
  /** Throws AccountError for a username or password the rules refuse. */
  createSuperAdmin(input: { username: string; password: string; display_name?: string; email?: string }): Promise<{ id: string }>;
  byId(id: string): Promise<Account | undefined>;
  /** Any letter case. */
  byUsername(username: string): Promise<Account | undefined>;
  /** An account with this email (any letter case). */
  byEmail(email: string): Promise<Account | undefined>;
  /** With its password hash: the account signing in with a username (any letter case), or re-entering its password. */
  withPassword(key: { id: string } | { username: string }): Promise<AccountWithPassword | undefined>;
  /** Reads the account, locking its row until `trx` ends: its password, active flag and expiry cannot change meanwhile. */
  lockForUpdate(id: string, trx: Knex.Transaction): Promise<AccountWithPassword | undefined>;
  /** One's own display name and email. */
  updateProfile(id: string, changes: { display_name?: string; email?: string | null }): Promise<void>;
  /**
   * Hashes and stores a new password, keeping the replaced one in the password history. Throws
   * AccountError when it fails the policy (check `passwordProblems` first to answer the reasons),
   * or with code `password_reused` when it is the current password or one of the last few —
   * unless `allowReuse` (an operator's reset, which must not learn the user's old passwords).
   * With `expectedHash` (the hash the caller checked the current password against), or when the
   * password changes while this runs, it throws with code `password_changed` and changes nothing.
   */
  setPassword(id: string, password: string, options?: { allowReuse?: boolean; expectedHash?: string | null }): Promise<void>;
  /** Notes a successful sign-in (`last_login_at`). */
  recordLogin(id: string): Promise<void>;
  /**
   * Creates an active account without a password for an identity provider's user, named after
   * the local part of the email (made unique with a number) — unless an account already has
   * that email (any letter case): then nothing is created and the answer is undefined. The check
   * locks the users it reads until `trx` ends, so two first sign-ins with one email create one.
   */
  createSsoUser(trx: Knex.Transaction, input: { email: string; name?: string; role: Role }): Promise<Account | undefined>;
  /**
   * Sets the role an identity provider's claims map to, except on the last active (enabled,
   * unexpired) super_admin, who is never demoted: then `refused` and nothing changes. Takes the
   * users API's locks in its order, so the guard holds against its concurrent changes too.
   */
  changeRoleFromSso(id: string, role: Role, trx: Knex.Transaction): Promise<{ account: Account; refused: boolean }>;
}

/** Ends a user's sessions and API tokens; provided by the auth plugin, used when an account is disabled, reset or deleted. */
export interface SessionRevocation {
  /** Ends every session (but `keepSessionId`) and, unless `keepApiTokens`, every API token; says how many of each. */
  revokeAllForUser(userId: string, options?: { keepSessionId?: string; keepApiTokens?: boolean }): Promise<{ sessions: number; api_tokens: number }>;
}

/** Users' second factors: which are enabled (shown by the users API), and an administrator's reset; provided by the auth plugin. */
export interface SecondFactors {
  enabledFor(userIds: string[]): Promise<Set<string>>;
  /** Removes the user's TOTP and recovery codes (for one who lost them); false when they had none. */
  reset(userId: string): Promise<boolean>;
}

/**
 * How an identity came to be linked: by the user through the provider, by an administrator, for
 * a user created at its first sign-in, or — links made before linking became explicit — by a
 * matching email (worth reviewing).
 */
export type SsoLinkSource = 'user' | 'admin' | 'auto_create' | 'email_match';

/** An identity-provider account that may sign in as a user. */
export interface SsoIdentity {
  issuer: string;
  subject: string;
  source: SsoLinkSource;
  created_at: string;
}

export type SsoLinkOutcome = 'linked' | 'already_linked' | 'linked_elsewhere';

/** Users' single sign-on identities, for administrators; provided by the auth plugin. */
export interface SsoIdentities {
  list(userId: string): Promise<SsoIdentity[]>;
  /** The configured identity provider's issuer, or null when single sign-on is not configured. */
  issuer(): string | null;
  /** Binds a subject of the configured identity provider to the user. */
  link(userId: string, subject: string): Promise<SsoLinkOutcome>;
  /** False when the user has no such identity; 409 `last_sign_in_method` for the last way into an account without a password. */
  unlink(userId: string, issuer: string, subject: string): Promise<boolean>;
}

declare module '@bilbycast/core' {
  interface ManagerServices {
    accounts: AccountService;
    sessions: SessionRevocation;
    mfa: SecondFactors;
    ssoIdentities: SsoIdentities;
  }
}
