import { boundContext } from '@bilbycast/core';
import type { ResponseToolkit } from '@hapi/hapi';
import type { UserDirectory } from '../services/user-directory';

/** What the users routes are bound to (`server.bind` in the plugin's register). */
export interface UsersRouteContext {
  directory: UserDirectory;
}

export function contextOf(h: ResponseToolkit): UsersRouteContext {
  return boundContext<UsersRouteContext>(h, 'users');
}
