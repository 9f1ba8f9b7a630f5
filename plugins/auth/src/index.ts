import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, ROLES, type CliContribution } from '@bilbycast/core';
import type { Plugin } from '@hapi/hapi';
import Joi from 'joi';
import { authCli } from './cli';
import { registerCsrf } from './http/csrf';
import { registerMfaChallengeCookie } from './http/mfa-challenge-cookie';
import { registerSecurityHeaders } from './http/security-headers';
import { registerStrategies } from './http/strategies';
import { authMigrations } from './migrations';
import { accountRoutes } from './routes/account';
import { loginRoutes } from './routes/login';
import { mfaRoutes } from './routes/mfa';
import { oidcStatusRoute, registerOidc } from './routes/oidc';
import type { AuthRouteContext, SsoContext } from './routes/route-context';
import { sessionAndTokenRoutes } from './routes/sessions';
import { registerLinkIntentCookie, ssoIdentityRoutes } from './routes/sso-identities';
import { ApiTokens } from './services/api-tokens';
import { LoginLimits } from './services/login-limits';
import { MfaStore, mfaSecretColumns } from './services/mfa';
import { OidcAccounts, oidcSecretColumn, type OidcSettings } from './services/oidc-accounts';
import { browserSessions } from './services/browser-sessions';
import { SessionStore } from './services/sessions';
import { SsoIdentityStore } from './services/sso-identities';

export { SESSION_COOKIE } from './http/strategies';
export { CSRF_COOKIE, CSRF_HEADER } from './http/csrf';
export { TOKEN_PREFIX } from './services/api-tokens';
export type { BrowserSessions, EndedSessions } from './services/browser-sessions';

const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { name: string; version: string };

export interface AuthOptions {
  /** A session ends this long after sign-in, whatever the activity (default 24 h). */
  session_absolute_hours?: number;
  /** A session ends after this long without a request (default 8 h). */
  session_idle_hours?: number;
  /** Single sign-on with an OpenID Connect provider (the client secret is set through the API). */
  oidc?: Partial<OidcSettings> & Pick<OidcSettings, 'issuer' | 'client_id' | 'redirect_url'>;
}

const optionsSchema = Joi.object({
  session_absolute_hours: Joi.number()
    .min(0.01)
    .max(24 * 30)
    .default(24),
  session_idle_hours: Joi.number()
    .min(0.01)
    .max(24 * 30)
    .default(8),
  oidc: Joi.object({
    issuer: Joi.string()
      .uri({ scheme: ['http', 'https'] })
      .max(255)
      .required(),
    client_id: Joi.string().min(1).max(255).required(),
    redirect_url: Joi.string()
      .uri({ scheme: ['http', 'https'] })
      .pattern(/\/api\/v1\/auth\/oidc\/callback$/)
      .required()
      .messages({ 'string.pattern.base': '{{#label}} must end with /api/v1/auth/oidc/callback' }),
    scopes: Joi.array()
      .items(Joi.string().pattern(/^[\x21-\x7e]+$/))
      .default(['openid', 'email', 'profile']),
    label: Joi.string().min(1).max(64).default('Single sign-on'),
    role_claim: Joi.string().min(1).max(100),
    role_map: Joi.object()
      .pattern(Joi.string(), Joi.string().valid(...ROLES))
      .default({}),
    auto_create: Joi.boolean().default(false),
    default_role: Joi.string()
      .valid(...ROLES)
      .default('viewer')
  })
});

const HOUR_MS = 3_600_000;

const PURGE_INTERVAL_MS = 15 * 60_000;

/**
 * The auth plugin: sign-in, TOTP MFA, server-side sessions, API tokens, CSRF and security headers.
 * Access rules themselves are enforced by the core from each route's declaration; this
 * plugin supplies who the caller is.
 */
export const plugin: Plugin<AuthOptions> & { cli: CliContribution } = {
  name: pkg.name,
  version: pkg.version,
  cli: authCli,
  dependencies: ['@bilbycast/users'],
  async register(server, rawOptions) {
    const validated = optionsSchema.validate(rawOptions ?? {}) as Joi.ValidationResult<Required<Omit<AuthOptions, 'oidc'>> & { oidc?: OidcSettings }>;
    if (validated.error) throw new ConfigError(`auth options: ${validated.error.message}`);
    const options = validated.value;
    const { manager } = server;
    // The users plugin must come first: it provides the accounts, and its migration creates the table auth's refer to.
    const accounts = manager.services.get('accounts');
    if (!accounts) throw new ConfigError(`${pkg.name} must be registered after @bilbycast/users`);
    const secure = Boolean(manager.config.tls_cert) || manager.config.behind_https;
    const absoluteMs = options.session_absolute_hours * HOUR_MS;

    manager.migrations.add('auth', authMigrations);
    // Sign-in state that is only worth keeping on the running manager stays out of backups.
    manager.backupTables.declare('auth', {
      durable: ['auth_mfa', 'auth_api_tokens', 'auth_oidc_client', 'auth_oidc_identities'],
      ephemeral: ['auth_sessions', 'auth_mfa_challenges', 'auth_rate_limits', 'auth_known_addresses']
    });
    const sessions = new SessionStore(manager.db, accounts, manager.bus, { absoluteMs, idleMs: options.session_idle_hours * HOUR_MS });
    const tokens = new ApiTokens(manager.db, accounts);
    const limits = new LoginLimits(manager.db, manager.database);
    const mfa = new MfaStore(manager.db, manager.secrets);
    for (const column of mfaSecretColumns) manager.secretColumns.register(column);
    manager.services.provide('sessions', {
      async revokeAllForUser(userId, options = {}) {
        // Whoever held the old credentials loses the "known address" exemption, and any code step they had reached.
        await limits.forgetAddresses(userId);
        await mfa.forgetChallenges(userId);
        const ended = await sessions.revokeAllForUser(userId, options.keepSessionId);
        const apiTokens = options.keepApiTokens ? 0 : await tokens.revokeAllForUser(userId);
        return { sessions: ended, api_tokens: apiTokens };
      }
    });
    manager.services.provide('mfa', mfa);
    manager.services.provide('browserSessions', browserSessions(server, sessions, manager.bus));

    await registerStrategies(server, {
      sessions,
      tokens,
      cookiePassword: manager.secrets.derive('session-cookie').toString('hex'),
      secure,
      absoluteMs
    });
    await registerCsrf(server, { secure });
    registerMfaChallengeCookie(server, { password: manager.secrets.derive('mfa-challenge-cookie').toString('hex'), secure });
    registerSecurityHeaders(server, { tls: Boolean(manager.config.tls_cert) });

    const identities = new SsoIdentityStore(manager.db, accounts);
    const sso: SsoContext | undefined = options.oidc && {
      settings: options.oidc,
      oidc: new OidcAccounts(manager.db, manager.secrets, manager.audit, options.oidc, identities, accounts)
    };
    manager.secretColumns.register(oidcSecretColumn);
    registerLinkIntentCookie(server, { password: manager.secrets.derive('oidc-link-cookie').toString('hex'), secure });
    const context: AuthRouteContext = { manager, accounts, sessions, tokens, limits, mfa, identities, sso };
    if (sso) {
      // The client secret lives in the database, which is only migrated at start-up.
      server.ext('onPreStart', () => registerOidc(server, context, secure));
    }
    const issuer = sso?.settings.issuer ?? null;
    manager.services.provide('ssoIdentities', {
      list: (userId) => identities.list(userId),
      issuer: () => issuer,
      async link(userId, subject) {
        if (!issuer) throw new Error('single sign-on is not configured');
        return identities.link(userId, issuer, subject, 'admin');
      },
      unlink: (userId, identityIssuer, subject) => identities.unlink(userId, identityIssuer, subject, { keepSignInMethod: issuer })
    });

    // Also the default for the OIDC routes, added at start-up, and the default context of this
    // plugin's ext handlers (all arrow functions, which ignore it).
    server.bind(context);
    server.route([oidcStatusRoute, ...loginRoutes, ...mfaRoutes, ...accountRoutes, ...sessionAndTokenRoutes, ...ssoIdentityRoutes]);

    let purgeTimer: NodeJS.Timeout | undefined;
    server.ext('onPostStart', () => {
      purgeTimer = setInterval(() => {
        sessions.purgeExpired().catch((err: unknown) => manager.logger.warn({ err }, 'could not purge expired sessions'));
        limits.purgeExpired().catch((err: unknown) => manager.logger.warn({ err }, 'could not purge expired rate-limit counters'));
      }, PURGE_INTERVAL_MS).unref();
    });
    server.ext('onPreStop', () => clearInterval(purgeTimer));
  }
};

export default plugin;
