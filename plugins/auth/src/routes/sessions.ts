import { ROLES, apiError, auditActor, callerOf, isoDate, roleAtLeast } from '@bilbycast/core';
import type { Request, ResponseToolkit, ServerRoute } from '@hapi/hapi';
import Joi from 'joi';
import { requireRecentAuthentication } from '../services/reauthentication';
import { contextOf } from './route-context';

const id = Joi.string().guid().required();

function listOwnSessions(request: Request, h: ResponseToolkit) {
  return contextOf(h).sessions.list(callerOf(request).user.id, callerOf(request).session_id);
}

async function revokeOwnSession(request: Request, h: ResponseToolkit) {
  const { manager, sessions } = contextOf(h);
  const caller = callerOf(request);
  const { id: sessionId } = request.params as { id: string };
  if (!(await sessions.revoke(caller.user.id, sessionId))) throw apiError(404, 'session_not_found', 'No such session');
  await manager.audit.record({ action: 'auth.session_revoke', ...auditActor(request), target_type: 'session', target_id: sessionId });
  return h.response().code(204);
}

function listOwnTokens(request: Request, h: ResponseToolkit) {
  return contextOf(h).tokens.list(callerOf(request).user.id);
}

async function createOwnToken(request: Request, h: ResponseToolkit) {
  const { manager, accounts, tokens, limits } = contextOf(h);
  const caller = callerOf(request);
  const input = request.payload as { name: string; expires_at?: Date | null; role?: (typeof ROLES)[number] | null; current_password?: string };
  // A token outlives the session that made it: a stolen cookie must not be able to mint one.
  await requireRecentAuthentication({ db: manager.db, accounts, limits }, request, input.current_password);
  // Tokens are made in a signed-in session (never by another token), and never above its role.
  const role = input.role ?? null;
  if (role !== null && !roleAtLeast(caller.role, role)) {
    throw apiError(403, 'role_above_own', `A new token cannot have more than your current role (${caller.role})`);
  }
  const created = await tokens.create(caller.user.id, caller.session_id as string, {
    name: input.name,
    role,
    expires_at: input.expires_at ? input.expires_at.toISOString() : null
  });
  if (!created) throw apiError(401, 'session_ended', 'Your session ended (signed out or revoked) before the token was made');
  await manager.audit.record({
    action: 'auth.token_create',
    user_id: caller.user.id,
    username: caller.user.username,
    target_type: 'api_token',
    target_id: created.id,
    ip: request.clientIp,
    details: { name: created.name, role: created.role, expires_at: created.expires_at }
  });
  return h.response(created).code(201);
}

async function revokeOwnToken(request: Request, h: ResponseToolkit) {
  const { manager, tokens } = contextOf(h);
  const caller = callerOf(request);
  const revoked = await tokens.revoke(caller.user.id, (request.params as { id: string }).id);
  if (!revoked) throw apiError(404, 'token_not_found', 'No such token');
  await manager.audit.record({
    action: 'auth.token_revoke',
    ...auditActor(request),
    target_type: 'api_token',
    target_id: revoked.id,
    details: { name: revoked.name }
  });
  return h.response().code(204);
}

/** The caller's sessions and personal API tokens. */
export const sessionAndTokenRoutes: ServerRoute[] = [
  {
    method: 'GET',
    path: '/api/v1/auth/sessions',
    options: {
      tags: ['api', 'auth'],
      description: 'Your active sessions',
      plugins: { bilbycast: { access: 'authenticated' } },
      handler: listOwnSessions
    }
  },
  {
    method: 'DELETE',
    path: '/api/v1/auth/sessions/{id}',
    options: {
      tags: ['api', 'auth'],
      description: 'End one of your sessions',
      plugins: { bilbycast: { access: 'session' } },
      validate: { params: Joi.object({ id }) },
      handler: revokeOwnSession
    }
  },
  {
    method: 'GET',
    path: '/api/v1/auth/tokens',
    options: {
      tags: ['api', 'auth'],
      description: 'Your API tokens (never their secrets)',
      plugins: { bilbycast: { access: 'authenticated' } },
      handler: listOwnTokens
    }
  },
  {
    method: 'POST',
    path: '/api/v1/auth/tokens',
    options: {
      tags: ['api', 'auth'],
      description: 'Create an API token; its secret is returned this once. Needs current_password unless the session is under ten minutes old',
      plugins: { bilbycast: { access: 'session' } },
      validate: {
        payload: Joi.object({
          name: Joi.string()
            .min(1)
            .max(100)
            .pattern(/^[^\p{Cc}]*$/u)
            .required(),
          expires_at: isoDate().greater('now').max('9999-12-31T23:59:59.999Z').allow(null),
          role: Joi.string()
            .valid(...ROLES)
            .allow(null),
          current_password: Joi.string().min(1).max(128)
        })
      },
      handler: createOwnToken
    }
  },
  {
    method: 'DELETE',
    path: '/api/v1/auth/tokens/{id}',
    options: {
      tags: ['api', 'auth'],
      description: 'Revoke one of your API tokens',
      plugins: { bilbycast: { access: 'session' } },
      validate: { params: Joi.object({ id }) },
      handler: revokeOwnToken
    }
  }
];
