import crypto from 'node:crypto';
import Bell from '@hapi/bell';
import type { Request, ResponseToolkit, Server, ServerRoute } from '@hapi/hapi';
import Joi from 'joi';
import { accountUsable } from '../services/caller';
import { OidcError, discover, verifyIdToken } from '../services/oidc-client';
import { SESSION_COOKIE } from '../http/strategies';
import { safeNext, startSession } from './login';
import { contextOf, type AuthRouteContext, type SsoContext } from './route-context';
import { LINK_INTENT_COOKIE, type LinkIntent } from './sso-identities';

const NONCE_COOKIE = 'bilbycast_oidc_nonce';
const LOGIN_PATH = '/api/v1/auth/oidc/login';
const CALLBACK_PATH = '/api/v1/auth/oidc/callback';

/**
 * OIDC single sign-on through @hapi/bell: Authorization Code with PKCE (S256) and state
 * (bell), endpoints from the issuer's discovery document, and a nonce (ours: sent through
 * bell's provider parameters, kept in a sealed cookie) checked against the ID token, whose
 * signature, issuer, audience and expiry are verified too.
 *
 * `context` must be the object the plugin binds: the routes added here read it, `sso` included.
 */
export async function registerOidc(server: Server, context: AuthRouteContext, secure: boolean): Promise<void> {
  if (!context.sso) throw new Error('registerOidc needs the bound route context with single sign-on (sso) configured');
  const { manager } = context;
  const { settings, oidc } = context.sso;
  await oidc.load();
  await server.register(Bell);
  server.state(NONCE_COOKIE, {
    encoding: 'iron',
    password: manager.secrets.derive('oidc-nonce-cookie').toString('hex'),
    isSecure: secure,
    isHttpOnly: true,
    isSameSite: 'Lax',
    path: '/api/v1/auth/oidc',
    ttl: 10 * 60_000,
    ignoreErrors: true,
    clearInvalid: true
  });
  server.auth.strategy('oidc', 'bell', {
    provider: {
      name: 'oidc',
      protocol: 'oauth2',
      pkce: 'S256',
      useParamsAuth: true,
      auth: async () => (await discover(settings.issuer)).authorizationEndpoint,
      token: async () => (await discover(settings.issuer)).tokenEndpoint
    },
    skipProfile: true,
    password: manager.secrets.derive('oidc-state-cookie').toString('hex'),
    cookie: 'bilbycast_oidc_state',
    isSecure: secure,
    isSameSite: 'Lax',
    clientId: settings.client_id,
    clientSecret: () => oidc.clientSecret ?? '',
    scope: ['openid', ...settings.scopes.filter((s) => s !== 'openid')],
    location: () => settings.redirect_url,
    providerParams: (request: Request) => {
      const nonce = crypto.randomBytes(32).toString('base64url');
      request.plugins.bilbycastOidc = { nonce };
      // Linking asks the provider for a fresh sign-in: not whoever happens to be signed in there.
      return request.query.link ? { nonce, prompt: 'login' } : { nonce };
    }
  });
  // Bell answers the first visit with its redirect to the provider; the nonce rides along.
  server.ext('onPreResponse', (request: Request, h: ResponseToolkit) => {
    const nonce = request.plugins.bilbycastOidc?.nonce;
    const response = request.response;
    if (nonce && !('isBoom' in response && response.isBoom)) (response as { state(n: string, v: unknown): void }).state(NONCE_COOKIE, { nonce });
    return h.continue;
  });
  server.route(oidcRoutes);
}

declare module '@hapi/hapi' {
  interface PluginsStates {
    bilbycastOidc?: { nonce: string };
  }
}

/** The OIDC routes are added only by registerOidc, which checks that the bound context has `sso`. */
const ssoOf = (h: ResponseToolkit): SsoContext => contextOf(h).sso!;

/** The link this callback completes: the intent set by the link request, when this flow is the one it started. */
function linkIntentOf(request: Request): LinkIntent | undefined {
  const intent = request.state[LINK_INTENT_COOKIE] as LinkIntent | undefined;
  if (!intent) return undefined;
  // A provider error has no flow to compare with: the link that was asked for failed.
  if (!request.auth.isAuthenticated) return intent;
  const query = (request.auth.credentials as { query?: { link?: unknown } }).query;
  return query?.link === intent.link_id ? intent : undefined;
}

/** Ends a refused sign-in or link: audited, logged, its cookies cleared, back to the page it came from. */
async function refuseSso(request: Request, h: ResponseToolkit, reason: string, detail?: string) {
  const { manager } = contextOf(h);
  const intent = linkIntentOf(request);
  const who = intent ? { user_id: intent.user_id, target_type: 'user', target_id: intent.user_id } : {};
  await manager.audit.record({
    action: intent ? 'auth.oidc_link_failed' : 'auth.oidc_failed',
    ...who,
    ip: request.clientIp,
    outcome: 'failure',
    details: { reason, detail }
  });
  manager.logger.warn({ reason, detail }, intent ? 'SSO identity not linked' : 'SSO login refused');
  h.unstate(NONCE_COOKIE);
  h.unstate(LINK_INTENT_COOKIE);
  if (intent) return h.redirect(`/account?sso_error=${reason === 'linked_elsewhere' || reason === 'link_session_ended' ? reason : 'sso_failed'}`).code(303);
  return h.redirect(`/login?error=${reason === 'not_linked' ? 'sso_not_linked' : 'sso_failed'}`).code(303);
}

/** The callback of a link started by a signed-in user: binds the identity to them, signs nobody in. */
async function linkIdentity(request: Request, h: ResponseToolkit, intent: LinkIntent, subject: string) {
  const { manager, sessions, identities } = contextOf(h);
  const { settings } = ssoOf(h);
  // The session that asked must still be the one in this browser.
  const sid = (request.state[SESSION_COOKIE] as { sid?: unknown } | undefined)?.sid;
  const caller = typeof sid === 'string' ? await sessions.authenticate(sid, { touch: false }) : null;
  if (!caller || caller.session_id !== intent.session_id || caller.user.id !== intent.user_id) return refuseSso(request, h, 'link_session_ended');
  const outcome = await identities.link(caller.user.id, settings.issuer, subject, 'user');
  if (outcome === 'linked_elsewhere') return refuseSso(request, h, 'linked_elsewhere');
  h.unstate(NONCE_COOKIE);
  h.unstate(LINK_INTENT_COOKIE);
  if (outcome === 'linked') {
    await manager.audit.record({
      action: 'auth.oidc_link',
      user_id: caller.user.id,
      username: caller.user.username,
      target_type: 'user',
      target_id: caller.user.id,
      ip: request.clientIp,
      details: { issuer: settings.issuer, subject, source: 'user' }
    });
  }
  return h.redirect('/account?sso=linked').code(303);
}

/** The provider's answer: checks the ID token, then links an identity or signs the user in. */
async function signInOrLink(request: Request, h: ResponseToolkit) {
  const { settings, oidc } = ssoOf(h);
  if (!request.auth.isAuthenticated) return refuseSso(request, h, 'provider', request.auth.error?.message);
  if (!oidc.clientSecret) return refuseSso(request, h, 'not_configured');
  const nonce = (request.state[NONCE_COOKIE] as { nonce?: string } | undefined)?.nonce;
  const idToken = (request.auth.artifacts as { id_token?: unknown } | undefined)?.id_token;
  if (!nonce || typeof idToken !== 'string') return refuseSso(request, h, 'missing_nonce_or_id_token');
  let claims;
  try {
    claims = await verifyIdToken({ discovery: await discover(settings.issuer), idToken, clientId: settings.client_id, nonce });
  } catch (err) {
    return refuseSso(request, h, err instanceof OidcError ? err.code : 'invalid_id_token', (err as Error).message);
  }
  const intent = linkIntentOf(request);
  if (intent) return linkIdentity(request, h, intent, claims.sub);
  // An intent left by a link that was never finished does not turn this login into a link.
  h.unstate(LINK_INTENT_COOKIE);
  const outcome = await oidc.resolve(claims, request.clientIp);
  if ('refused' in outcome) return refuseSso(request, h, outcome.refused);
  if (!accountUsable(outcome.user)) return refuseSso(request, h, 'account_unusable');
  h.unstate(NONCE_COOKIE);
  if (!(await startSession(request, h, outcome.user, 'oidc'))) return refuseSso(request, h, 'account_unusable');
  const query = (request.auth.credentials as { query?: { next?: unknown } }).query;
  return h.redirect(safeNext(query?.next)).code(303);
}

/** A database failure (or anything unforeseen) ends the flow with a clear refusal, not a 500 page. */
async function finishSso(request: Request, h: ResponseToolkit) {
  try {
    return await signInOrLink(request, h);
  } catch (err) {
    contextOf(h).manager.logger.error({ err }, 'SSO callback failed');
    return refuseSso(request, h, 'internal_error');
  }
}

async function setOidcClientSecret(request: Request, h: ResponseToolkit) {
  await ssoOf(h).oidc.setClientSecret((request.payload as { client_secret: string }).client_secret);
  const caller = request.auth.credentials as unknown as { user: { id: string; username: string } };
  await contextOf(h).manager.audit.record({
    action: 'settings.oidc_client_secret',
    user_id: caller.user.id,
    username: caller.user.username,
    ip: request.clientIp
  });
  return { client_secret_set: true };
}

function getOidcConfig(_request: Request, h: ResponseToolkit) {
  const { settings, oidc } = ssoOf(h);
  return { ...settings, client_secret_set: Boolean(oidc.clientSecret) };
}

/** A route through the bell strategy: bell redirects to the provider first, and the callback reaches the handler. */
function bellRoute(path: string, description: string): ServerRoute {
  return {
    method: 'GET',
    path,
    options: {
      tags: ['api', 'auth', 'sso'],
      description,
      auth: { strategy: 'oidc', mode: 'try' },
      plugins: { bilbycast: { access: 'public' } },
      handler: finishSso
    }
  };
}

const oidcRoutes: ServerRoute[] = [
  bellRoute(LOGIN_PATH, 'Start single sign-on: redirects to the identity provider'),
  bellRoute(CALLBACK_PATH, 'Single sign-on callback from the identity provider'),
  {
    method: 'PUT',
    path: '/api/v1/auth/oidc/client-secret',
    options: {
      tags: ['api', 'auth', 'sso'],
      description: 'Set the OIDC client secret (stored encrypted; never returned)',
      plugins: { bilbycast: { access: { role: 'super_admin' } } },
      validate: { payload: Joi.object({ client_secret: Joi.string().min(1).max(1024).required() }) },
      handler: setOidcClientSecret
    }
  },
  {
    method: 'GET',
    path: '/api/v1/auth/oidc/config',
    options: {
      tags: ['api', 'auth', 'sso'],
      description: 'The OIDC configuration (the client secret only as set or not)',
      plugins: { bilbycast: { access: { role: 'super_admin' } } },
      handler: getOidcConfig
    }
  }
];

function getOidcStatus(_request: Request, h: ResponseToolkit) {
  const { sso } = contextOf(h);
  return { enabled: Boolean(sso?.oidc.clientSecret), label: sso?.settings.label ?? null };
}

/** `GET /api/v1/auth/oidc/status` (public): whether the login page offers single sign-on. */
export const oidcStatusRoute: ServerRoute = {
  method: 'GET',
  path: '/api/v1/auth/oidc/status',
  options: {
    tags: ['api', 'auth', 'sso'],
    description: 'Whether single sign-on is available, and its button label',
    plugins: { bilbycast: { access: 'public' } },
    handler: getOidcStatus
  }
};
