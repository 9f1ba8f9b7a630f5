import { auditActor, boundContext, callerOf, type ManagerContext } from '@bilbycast/core';
import type { AccountService } from '@bilbycast/users';
import type { Request, ResponseToolkit } from '@hapi/hapi';
import type { ApiTokens } from '../services/api-tokens';
import type { LoginLimits } from '../services/login-limits';
import type { MfaStore } from '../services/mfa';
import type { OidcAccounts, OidcSettings } from '../services/oidc-accounts';
import type { SessionStore } from '../services/sessions';
import type { SsoIdentityStore } from '../services/sso-identities';

/** Single sign-on with an OpenID Connect provider, when configured. */
export interface SsoContext {
  settings: OidcSettings;
  oidc: OidcAccounts;
}

/** What the auth routes are bound to (`server.bind` in the plugin's register). */
export interface AuthRouteContext {
  manager: ManagerContext;
  accounts: AccountService;
  sessions: SessionStore;
  tokens: ApiTokens;
  limits: LoginLimits;
  mfa: MfaStore;
  identities: SsoIdentityStore;
  sso?: SsoContext;
}

export function contextOf(h: ResponseToolkit): AuthRouteContext {
  return boundContext<AuthRouteContext>(h, 'auth');
}

/** The caller, acting on their own account. */
export function selfActor(request: Request) {
  return { ...auditActor(request), target_type: 'user', target_id: callerOf(request).user.id };
}
