/**
 * Named services that plugins provide to each other and to the CLI (in the manner of
 * schmervice), so that core never imports a plugin package.
 */
export class ServiceRegistry {
  readonly #services = new Map<string, unknown>();

  provide<K extends keyof ManagerServices>(name: K, service: ManagerServices[K]): void {
    if (this.#services.has(name)) throw new Error(`service "${name}" is already provided`);
    this.#services.set(name, service);
  }

  get<K extends keyof ManagerServices>(name: K): ManagerServices[K] | undefined {
    return this.#services.get(name) as ManagerServices[K] | undefined;
  }
}

/** Account administration the CLI needs; provided by the users plugin. */
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

/**
 * Authenticates a browser's WebSocket upgrade from its cookies (hapi routes do not see
 * upgrades); provided by the auth plugin.
 */
export interface BrowserSessions {
  /**
   * The session's credentials, or null when the Cookie header carries no valid session. A
   * background re-check passes `touch: false`: it is not activity, so it never keeps an idle
   * session alive.
   */
  authenticate(cookieHeader: string | undefined, options?: { touch?: boolean }): Promise<import('./access/credentials').ManagerCredentials | null>;
  /** Tells of sessions ended by a revocation (logout, password reset, disabled or deleted user), so their sockets close at once. */
  onEnded(listener: (ended: EndedSessions) => void): () => void;
}

/** Sessions a revocation ended: the sessions with these ids, and/or every session of a user but one. */
export interface EndedSessions {
  sessionIds?: string[];
  userId?: string;
  exceptSessionId?: string;
}

/**
 * The services plugins provide, by name. Plugins add their own entries through declaration
 * merging: `declare module '@bilbycast/core' { interface ManagerServices { x: X } }`.
 */
export interface ManagerServices {
  accounts: AccountAdministration;
  sessions: SessionRevocation;
  mfa: SecondFactors;
  ssoIdentities: SsoIdentities;
  browserSessions: BrowserSessions;
}
