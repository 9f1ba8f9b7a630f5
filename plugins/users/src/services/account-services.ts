/**
 * The account services, declared here — in the package the auth plugin already depends on —
 * so that both sides share their types: `accounts` is provided by this plugin (the CLI and
 * auth use it); `sessions`, `mfa` and `ssoIdentities` are provided by the auth plugin and used
 * by this plugin's routes and commands when it is loaded.
 */

/** Account administration the CLI commands need; provided by the users plugin. */
export interface AccountAdministration {
  countUsers(): Promise<number>;
  /** Reasons a password fails the policy (empty when it passes). */
  passwordProblems(password: string): string[];
  createSuperAdmin(input: { username: string; password: string; display_name?: string; email?: string }): Promise<{ id: string }>;
  /** The user's id, or null when no such user exists. */
  resetPassword(username: string, password: string): Promise<string | null>;
  /** The user with this username (any letter case), or null. */
  findUser(username: string): Promise<{ id: string; username: string } | null>;
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
    accounts: AccountAdministration;
    sessions: SessionRevocation;
    mfa: SecondFactors;
    ssoIdentities: SsoIdentities;
  }
}
