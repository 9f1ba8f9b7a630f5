import type { ResponseToolkit } from '@hapi/hapi';
import type { UserDirectory } from '../services/user-directory';

/** What the users routes are bound to (`server.bind` in the plugin's register). */
export interface UsersRouteContext {
  directory: UserDirectory;
}

export function contextOf(h: ResponseToolkit): UsersRouteContext {
  if (!h.context) throw new Error('users routes need the context the plugin binds (server.bind in register)');
  return h.context as UsersRouteContext;
}
