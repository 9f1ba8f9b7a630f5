import crypto from 'node:crypto';
import { apiError, callerOf } from '@bilbycast/core';
import type { Request, ResponseToolkit, Server, ServerRoute } from '@hapi/hapi';
import Joi from 'joi';
import { requireAllFactors } from '../services/reauthentication';
import { contextOf, selfActor } from './route-context';

/**
 * The sealed cookie that turns the next single sign-on callback into "link this identity to the
 * signed-in user". It is set only here, by a CSRF-protected request with a recent sign-in or the
 * current password, and names the session that asked: a forged or replayed link cannot bind an
 * attacker's identity provider account to someone else's user.
 */
export const LINK_INTENT_COOKIE = 'bilbycast_oidc_link';
export const LINK_INTENT_TTL_MS = 10 * 60_000;

export interface LinkIntent {
  user_id: string;
  session_id: string;
  /** Also carried by the link flow's own start URL: only that flow links, not any SSO login in this browser. */
  link_id: string;
}

export function registerLinkIntentCookie(server: Server, options: { password: string; secure: boolean }): void {
  server.state(LINK_INTENT_COOKIE, {
    encoding: 'iron',
    password: options.password,
    isSecure: options.secure,
    isHttpOnly: true,
    isSameSite: 'Lax',
    path: '/api/v1/auth/oidc',
    ttl: LINK_INTENT_TTL_MS,
    ignoreErrors: true,
    clearInvalid: true
  });
}

const identityQuery = Joi.object({ issuer: Joi.string().min(1).max(255).required(), subject: Joi.string().min(1).max(255).required() });

function listOwnIdentities(request: Request, h: ResponseToolkit) {
  return contextOf(h).identities.list(callerOf(request).user.id);
}

async function startIdentityLink(request: Request, h: ResponseToolkit) {
  const { manager, accounts, limits, mfa, sso } = contextOf(h);
  if (!sso?.oidc.clientSecret) throw apiError(409, 'sso_not_configured', 'Single sign-on is not configured on this manager');
  await requireAllFactors({ db: manager.db, accounts, limits, mfa }, request, (request.payload as { current_password?: string; code?: string } | null) ?? {});
  const caller = callerOf(request);
  const intent: LinkIntent = {
    user_id: caller.user.id,
    session_id: caller.session_id as string,
    link_id: crypto.randomBytes(16).toString('base64url')
  };
  h.state(LINK_INTENT_COOKIE, intent);
  return { location: `/api/v1/auth/oidc/login?next=${encodeURIComponent('/account')}&link=${intent.link_id}` };
}

async function unlinkOwnIdentity(request: Request, h: ResponseToolkit) {
  const { manager, identities, sso } = contextOf(h);
  const { issuer, subject } = request.query as { issuer: string; subject: string };
  const removed = await identities.unlink(callerOf(request).user.id, issuer, subject, { keepSignInMethod: sso?.settings.issuer ?? null });
  if (!removed) throw apiError(404, 'sso_identity_not_found', 'You have no such single sign-on identity');
  await manager.audit.record({ action: 'auth.oidc_unlink', ...selfActor(request), details: { issuer, subject } });
  return h.response().code(204);
}

/** The signed-in user's own single sign-on identities: list them, link one, remove one. */
export const ssoIdentityRoutes: ServerRoute[] = [
  {
    method: 'GET',
    path: '/api/v1/auth/sso-identities',
    options: {
      tags: ['api', 'auth', 'sso'],
      description: 'Your single sign-on identities (identity provider accounts that can sign in as you)',
      plugins: { bilbycast: { access: 'session' } },
      handler: listOwnIdentities
    }
  },
  {
    method: 'POST',
    path: '/api/v1/auth/sso-identities/link',
    options: {
      tags: ['api', 'auth', 'sso'],
      description:
        'Start linking an identity provider account to you: answers the URL to open, where you sign in at the provider (asked to sign in afresh); needs current_password if you have one (else a sign-in within ten minutes) and, with MFA on, a current code',
      plugins: { bilbycast: { access: 'session' } },
      validate: { payload: Joi.object({ current_password: Joi.string().min(1).max(128), code: Joi.string().min(1).max(32) }).allow(null) },
      handler: startIdentityLink
    }
  },
  {
    method: 'DELETE',
    path: '/api/v1/auth/sso-identities',
    options: {
      tags: ['api', 'auth', 'sso'],
      description: 'Remove one of your single sign-on identities (not the only way an account without a password can sign in)',
      plugins: { bilbycast: { access: 'session' } },
      validate: { query: identityQuery },
      handler: unlinkOwnIdentity
    }
  }
];
