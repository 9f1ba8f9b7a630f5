import Crumb from '@hapi/crumb';
import type { Request, ResponseToolkit, Server } from '@hapi/hapi';
import { apiError, routeAccess, type ManagerCredentials } from '@bilbycast/core';

export const CSRF_COOKIE = 'csrf_token';
export const CSRF_HEADER = 'X-CSRF-Token';

/** Public routes that change nothing for an existing session, exempt from the CSRF check. */
const EXEMPT_PUBLIC_WRITES = new Set(['/api/v1/auth/login', '/api/v1/auth/login-form', '/api/v1/auth/mfa/verify']);

/**
 * Whether a browser says the request comes from another site. Browsers that send
 * `Sec-Fetch-Site` are believed on it alone (only `same-origin` and `none`, a typed address or
 * bookmark, are this site) — it does not depend on the Host header a reverse proxy may rewrite.
 * Older ones are judged by `Origin` against the Host header, default ports ignored. Clients that
 * send neither (scripts, curl) are not browsers on someone else's page.
 */
export function isCrossSite(request: Request): boolean {
  const fetchSite: unknown = request.headers['sec-fetch-site'];
  if (typeof fetchSite === 'string') return fetchSite !== 'same-origin' && fetchSite !== 'none';
  const origin: unknown = request.headers.origin;
  if (typeof origin !== 'string') return false;
  // An opaque origin (a sandboxed frame, a data: page) is never this site.
  if (origin === 'null') return true;
  try {
    const from = new URL(origin);
    const host: unknown = request.headers.host;
    const to = new URL(`${from.protocol}//${typeof host === 'string' ? host : ''}`);
    return from.host.toLowerCase() !== to.host.toLowerCase();
  } catch {
    return true;
  }
}

/**
 * Double-submit CSRF protection with @hapi/crumb: every cookie-authenticated POST, PUT, PATCH
 * or DELETE must echo the `csrf_token` cookie in `X-CSRF-Token` (else 403). Requests carrying
 * an API token send no cookies and are exempt, as are the public login endpoints.
 */
export async function registerCsrf(server: Server, options: { secure: boolean }): Promise<void> {
  // The sign-in routes have no CSRF token to check (there is no session yet), but a page on
  // another site must not sign a browser in to an account of the attacker's choosing (login
  // CSRF): browsers say where a request comes from, and cross-site ones are refused.
  server.ext('onPreAuth', (request: Request, h: ResponseToolkit) => {
    if (request.method === 'post' && EXEMPT_PUBLIC_WRITES.has(request.path) && isCrossSite(request)) {
      throw apiError(403, 'cross_site_request', 'Signing in from another site is not allowed');
    }
    return h.continue;
  });
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
