import Crumb from '@hapi/crumb';
import type { Request, Server } from '@hapi/hapi';
import { routeAccess, type ManagerCredentials } from '@bilbycast/core';

export const CSRF_COOKIE = 'csrf_token';
export const CSRF_HEADER = 'X-CSRF-Token';

/** Public routes that change nothing for an existing session, exempt from the CSRF check. */
const EXEMPT_PUBLIC_WRITES = new Set(['/api/v1/auth/login', '/api/v1/auth/login-form', '/api/v1/auth/mfa/verify']);

/**
 * Double-submit CSRF protection with @hapi/crumb: every cookie-authenticated POST, PUT, PATCH
 * or DELETE must echo the `csrf_token` cookie in `X-CSRF-Token` (else 403). Requests carrying
 * an API token send no cookies and are exempt, as are the public login endpoints.
 */
export async function registerCsrf(server: Server, options: { secure: boolean }): Promise<void> {
  await server.register({
    plugin: Crumb,
    options: {
      key: CSRF_COOKIE,
      headerName: CSRF_HEADER,
      restful: true,
      cookieOptions: { isSecure: options.secure, isHttpOnly: false, isSameSite: 'Lax', path: '/' },
      skip: (request: Request) => {
        const credentials = request.auth.credentials as unknown as ManagerCredentials | null;
        if (credentials?.method === 'token') return true;
        return routeAccess(request.route) === 'public' && (request.method === 'get' || EXEMPT_PUBLIC_WRITES.has(request.path));
      }
    }
  });
}
