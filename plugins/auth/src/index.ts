import type { Plugin } from '@hapi/hapi';
import Joi from 'joi';
import { registerCsrf } from './http/csrf';
import { registerSecurityHeaders } from './http/security-headers';
import { registerStrategies } from './http/strategies';
import { authMigrations } from './migrations';
import { accountRoutes } from './routes/account';
import { loginRoutes } from './routes/login';
import { mfaRoutes } from './routes/mfa';
import { sessionAndTokenRoutes } from './routes/sessions';
import { ApiTokens } from './services/api-tokens';
import { LoginLimits } from './services/login-limits';
import { MfaStore, mfaSecretColumns } from './services/mfa';
import { SessionStore } from './services/sessions';

export { SESSION_COOKIE } from './http/strategies';
export { CSRF_COOKIE, CSRF_HEADER } from './http/csrf';
export { TOKEN_PREFIX } from './services/api-tokens';

const pkg: { name: string; version: string } = require('../package.json');

export interface AuthOptions {
  /** A session ends this long after sign-in, whatever the activity (default 24 h). */
  session_absolute_hours?: number;
  /** A session ends after this long without a request (default 8 h). */
  session_idle_hours?: number;
}

const optionsSchema = Joi.object({
  session_absolute_hours: Joi.number().min(0.01).max(24 * 30).default(24),
  session_idle_hours: Joi.number().min(0.01).max(24 * 30).default(8)
});

const HOUR_MS = 3_600_000;
const PURGE_INTERVAL_MS = 15 * 60_000;

/**
 * The auth plugin: sign-in, TOTP MFA, server-side sessions, API tokens, CSRF and security headers.
 * Access rules themselves are enforced by the core from each route's declaration; this
 * plugin supplies who the caller is.
 */
export const plugin: Plugin<AuthOptions> = {
  name: pkg.name,
  version: pkg.version,
  dependencies: ['@bilbycast/users'],
  async register(server, rawOptions) {
    const options = Joi.attempt(rawOptions ?? {}, optionsSchema) as Required<AuthOptions>;
    const { manager } = server;
    const secure = Boolean(manager.config.tls_cert) || manager.config.behind_https;
    const absoluteMs = options.session_absolute_hours * HOUR_MS;

    manager.migrations.add('auth', authMigrations);
    const sessions = new SessionStore(manager.db, { absoluteMs, idleMs: options.session_idle_hours * HOUR_MS });
    const tokens = new ApiTokens(manager.db);
    const limits = new LoginLimits(manager.db, manager.database);
    const mfa = new MfaStore(manager.db, manager.secrets);
    for (const column of mfaSecretColumns) manager.secretColumns.register(column);
    manager.services.provide('sessions', sessions);

    await registerStrategies(server, {
      sessions,
      tokens,
      cookiePassword: manager.secrets.derive('session-cookie').toString('hex'),
      secure,
      absoluteMs
    });
    await registerCsrf(server, { secure });
    registerSecurityHeaders(server, { tls: Boolean(manager.config.tls_cert) });

    server.route([
      ...loginRoutes({ manager, sessions, limits, mfa }),
      ...mfaRoutes({ manager, sessions, limits, mfa }),
      ...accountRoutes({ manager, sessions, mfa }),
      ...sessionAndTokenRoutes({ manager, sessions, tokens })
    ]);

    let purgeTimer: NodeJS.Timeout | undefined;
    server.ext('onPostStart', () => {
      purgeTimer = setInterval(() => {
        sessions.purgeExpired().catch((err: unknown) => manager.logger.warn({ err }, 'could not purge expired sessions'));
      }, PURGE_INTERVAL_MS).unref();
    });
    server.ext('onPreStop', () => clearInterval(purgeTimer));
  }
};

export default plugin;
