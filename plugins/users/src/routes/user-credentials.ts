import { apiError, type ManagerServices } from '@bilbycast/core';
import type { Request, ResponseToolkit, ServerRoute } from '@hapi/hapi';
import Joi from 'joi';
import { contextOf } from './route-context';
import { actorOf, userIdParams } from './route-helpers';

const identity = { issuer: Joi.string().min(1).max(255).required(), subject: Joi.string().min(1).max(255).required() };
const admin = { bilbycast: { access: { role: 'admin' as const } } };
// A linked identity signs in past the password and MFA, and the provider's role claims (if
// mapped) set the user's role at each sign-in: only a super_admin links one for someone else.
const superAdmin = { bilbycast: { access: { role: 'super_admin' as const } } };

/**
 * One of the auth plugin's services, or 501 when no sign-in plugin provides it. The auth plugin
 * registers after this one: its services are looked up per request.
 */
function signInService<K extends 'mfa' | 'ssoIdentities'>(request: Request, name: K): ManagerServices[K] {
  const provided = request.server.manager.services.get(name);
  if (!provided) throw apiError(501, 'not_supported', 'This manager has no sign-in plugin that supports this');
  return provided;
}

async function resetMfa(request: Request, h: ResponseToolkit) {
  const { id } = request.params as { id: string };
  const { directory } = contextOf(h);
  const user = await directory.authorizeCredentialChange(actorOf(request), id);
  if (!(await signInService(request, 'mfa').reset(id))) throw apiError(404, 'mfa_not_enabled', `${user.username} has no MFA to reset`);
  await directory.recordCredentialChange(actorOf(request), 'user.mfa_reset', id, { username: user.username });
  return h.response().code(204);
}

async function listSsoIdentities(request: Request, h: ResponseToolkit) {
  const { id } = request.params as { id: string };
  await contextOf(h).directory.authorizeCredentialChange(actorOf(request), id);
  return signInService(request, 'ssoIdentities').list(id);
}

async function linkSsoIdentity(request: Request, h: ResponseToolkit) {
  const { id } = request.params as { id: string };
  const { subject } = request.payload as { subject: string };
  const { directory } = contextOf(h);
  const user = await directory.authorizeCredentialChange(actorOf(request), id);
  const identities = signInService(request, 'ssoIdentities');
  const issuer = identities.issuer();
  if (!issuer) throw apiError(409, 'sso_not_configured', 'Single sign-on is not configured on this manager');
  const outcome = await identities.link(id, subject);
  if (outcome === 'linked_elsewhere') throw apiError(409, 'sso_identity_linked_elsewhere', 'That identity is already linked to another user');
  if (outcome === 'linked') await directory.recordCredentialChange(actorOf(request), 'user.sso_link', id, { username: user.username, issuer, subject });
  const linked = (await identities.list(id)).find((i) => i.issuer === issuer && i.subject === subject);
  return h.response(linked).code(outcome === 'linked' ? 201 : 200);
}

async function unlinkSsoIdentity(request: Request, h: ResponseToolkit) {
  const { id } = request.params as { id: string };
  const { issuer, subject } = request.query as { issuer: string; subject: string };
  const { directory } = contextOf(h);
  const user = await directory.authorizeCredentialChange(actorOf(request), id);
  if (!(await signInService(request, 'ssoIdentities').unlink(id, issuer, subject)))
    throw apiError(404, 'sso_identity_not_found', `${user.username} has no such single sign-on identity`);
  await directory.recordCredentialChange(actorOf(request), 'user.sso_unlink', id, { username: user.username, issuer, subject });
  // Sessions it may have opened end too (which identity opened a session is not kept).
  await request.server.manager.services.get('sessions')?.revokeAllForUser(id, { keepApiTokens: true });
  return h.response().code(204);
}

/**
 * An administrator's help with another user's sign-in: reset a lost second factor, and see,
 * link or remove their single sign-on identities. The rules of a password reset apply (within
 * the admin's nodes, super_admin for a super_admin, never oneself); every change is audited.
 * The second factors and identities themselves belong to the auth plugin's services.
 */
export const userCredentialRoutes: ServerRoute[] = [
  {
    method: 'DELETE',
    path: '/api/v1/users/{id}/mfa',
    options: {
      tags: ['api', 'users'],
      description: "Reset a user's MFA (their TOTP and recovery codes), for one who lost them (admin; super_admin for a super_admin)",
      plugins: admin,
      validate: { params: userIdParams },
      handler: resetMfa
    }
  },
  {
    method: 'GET',
    path: '/api/v1/users/{id}/sso-identities',
    options: {
      tags: ['api', 'users', 'sso'],
      description: "A user's single sign-on identities (admin; super_admin for a super_admin)",
      plugins: admin,
      validate: { params: userIdParams },
      handler: listSsoIdentities
    }
  },
  {
    method: 'POST',
    path: '/api/v1/users/{id}/sso-identities',
    options: {
      tags: ['api', 'users', 'sso'],
      description: 'Link an account of the configured identity provider (its subject) to a user (super_admin)',
      plugins: superAdmin,
      validate: { params: userIdParams, payload: Joi.object({ subject: identity.subject }) },
      handler: linkSsoIdentity
    }
  },
  {
    method: 'DELETE',
    path: '/api/v1/users/{id}/sso-identities',
    options: {
      tags: ['api', 'users', 'sso'],
      description:
        "Remove one of a user's single sign-on identities and end their sessions (admin; super_admin for a super_admin); not the last way into an account without a password",
      plugins: admin,
      validate: { params: userIdParams, query: Joi.object(identity) },
      handler: unlinkSsoIdentity
    }
  }
];
