import Boom from '@hapi/boom';
import Cookie from '@hapi/cookie';
import type { Server } from '@hapi/hapi';
import type { ApiTokens } from '../services/api-tokens';
import type { SessionStore } from '../services/sessions';

export const SESSION_COOKIE = 'session';

declare module '@hapi/hapi' {
  interface Request {
    /** Set by @hapi/cookie on routes that can authenticate with the cookie strategy. */
    cookieAuth: { set(session: object): void; clear(): void };
  }
}

/**
 * Two ways in: `Authorization: Bearer <API token>` (tried first; no cookies, no CSRF), then
 * the `session` cookie (an iron-sealed opaque id checked against the sessions table on every
 * request). Both run in "try" mode; the core's access enforcement answers 401 where needed.
 */
export async function registerStrategies(
  server: Server,
  deps: { sessions: SessionStore; tokens: ApiTokens; cookiePassword: string; secure: boolean; absoluteMs: number }
): Promise<void> {
  await server.register(Cookie);
  server.auth.strategy('session', 'cookie', {
    cookie: {
      name: SESSION_COOKIE,
      password: deps.cookiePassword,
      isSecure: deps.secure,
      isHttpOnly: true,
      isSameSite: 'Lax',
      path: '/',
      ttl: deps.absoluteMs,
      clearInvalid: true
    },
    validate: async (_request: unknown, session: { sid?: unknown }) => {
      if (typeof session?.sid !== 'string') return { isValid: false };
      const credentials = await deps.sessions.authenticate(session.sid);
      return credentials ? { isValid: true, credentials } : { isValid: false };
    }
  });

  server.auth.scheme('bearer-token', () => ({
    async authenticate(request, h) {
      const header = request.headers.authorization as string | undefined;
      if (!header || !/^Bearer\s/i.test(header)) return h.unauthenticated(Boom.unauthorized(null, 'Bearer'));
      const credentials = await deps.tokens.authenticate(header.replace(/^Bearer\s+/i, '').trim());
      if (!credentials) return h.unauthenticated(Boom.unauthorized('Invalid or expired token', 'Bearer'));
      return h.authenticated({ credentials: credentials as never });
    }
  }));
  server.auth.strategy('token', 'bearer-token');
  server.auth.default({ strategies: ['token', 'session'], mode: 'try' });
}
