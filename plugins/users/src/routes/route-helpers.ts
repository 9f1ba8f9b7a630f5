import { callerOf } from '@bilbycast/core';
import type { Request, ResponseToolkit } from '@hapi/hapi';
import Joi from 'joi';
import type { Actor, UserDirectory } from '../services/user-directory';

/** What the users routes are bound to (`server.bind` in the plugin's register). */
export interface UsersRouteContext {
  directory: UserDirectory;
}

export const contextOf = (h: ResponseToolkit) => h.context as UsersRouteContext;

/** The params of every `/api/v1/users/{id}…` route. */
export const userIdParams = Joi.object({ id: Joi.string().guid().lowercase().required() });

/** The caller as the user directory's rules and audit entries see them. */
export function actorOf(request: Request): Actor {
  return { credentials: callerOf(request), ip: request.clientIp };
}
