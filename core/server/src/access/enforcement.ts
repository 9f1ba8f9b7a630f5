import type { Request, RequestRoute, ResponseToolkit, Server } from '@hapi/hapi';
import { ConfigError } from '../config/errors';
import { apiError } from '../http/errors';
import type { ManagerCredentials } from './credentials';
import { isRole, roleAtLeast, type Role } from './roles';

/**
 * Who may call a route, declared once per route in `options.plugins.bilbycast.access`:
 * anyone; any signed-in caller; only a caller signed in with a session, never an API token
 * (routes that change the caller's own account: a token, however limited, must not be a way
 * to take the account over); or at least a role.
 */
export type RouteAccess = 'public' | 'authenticated' | 'session' | { role: Role };

/** Plugins whose own routes (API documentation) are public by design. */
const PUBLIC_INFRASTRUCTURE_PLUGINS = new Set(['hapi-swagger']);

/** The access rule of a route, or undefined when it declares none. */
export function routeAccess(route: Pick<RequestRoute, 'settings' | 'realm'>): RouteAccess | undefined {
  const declared = (route.settings.plugins as { bilbycast?: { access?: RouteAccess } } | undefined)?.bilbycast?.access;
  if (declared !== undefined) return declared;
  return PUBLIC_INFRASTRUCTURE_PLUGINS.has(route.realm.plugin ?? '') ? 'public' : undefined;
}

/** Reasons the route table breaks the access rules: an undeclared rule, or a malformed one. */
export function accessProblems(server: Server): string[] {
  const problems: string[] = [];
  for (const route of server.table()) {
    const access = routeAccess(route);
    const name = `${route.method.toUpperCase()} ${route.path}`;
    if (access === undefined) problems.push(`${name} declares no access rule`);
    else if (access !== 'public' && access !== 'authenticated' && access !== 'session' && !(typeof access === 'object' && isRole(access.role))) {
      problems.push(`${name} declares an invalid access rule`);
    }
  }
  return problems;
}

/**
 * Enforces every route's declared access centrally, after authentication: 401 without
 * credentials, 403 `session_required` for an API token on a session-only route, 403
 * `insufficient_role` (with `required_role`) below the declared role. A server whose routes
 * do not all declare a rule refuses to start.
 */
export function registerAccessEnforcement(server: Server): void {
  server.ext('onPreStart', () => {
    const problems = accessProblems(server);
    if (problems.length > 0) throw new ConfigError(`routes without a valid access rule: ${problems.join('; ')}`);
  });

  server.ext('onPostAuth', (request: Request, h: ResponseToolkit) => {
    const access = routeAccess(request.route);
    if (access === 'public') return h.continue;
    if (access === undefined) throw apiError(403, 'forbidden', 'This route declares no access rule');
    const credentials = request.auth.isAuthenticated ? (request.auth.credentials as unknown as ManagerCredentials) : null;
    if (!credentials?.user) throw apiError(401, 'unauthorized', 'Authentication required');
    if (access === 'session' && credentials.method !== 'session') {
      throw apiError(403, 'session_required', 'This changes your account: sign in with your password or single sign-on to do it; API tokens cannot');
    }
    if (typeof access === 'object' && !roleAtLeast(credentials.role, access.role)) {
      throw apiError(403, 'insufficient_role', `This requires the ${access.role} role`, { required_role: access.role });
    }
    return h.continue;
  });
}

/** The caller's credentials in a handler of a non-public route. */
export function callerOf(request: Request): ManagerCredentials {
  return request.auth.credentials as unknown as ManagerCredentials;
}
