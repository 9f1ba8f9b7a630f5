import { callerOf } from '@bilbycast/core';
import type { Request } from '@hapi/hapi';
import Joi from 'joi';
import type { Actor } from '../services/user-directory';

/** The params of every `/api/v1/users/{id}…` route. */
export const userIdParams = Joi.object({ id: Joi.string().guid().lowercase().required() });

/** The caller as the user directory's rules and audit entries see them. */
export function actorOf(request: Request): Actor {
  return { credentials: callerOf(request), ip: request.clientIp };
}
