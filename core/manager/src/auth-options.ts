import { ConfigError } from '@bilbycast/core';
import type { AuthOptions } from '@bilbycast/auth';

/** Environment variables of the auth plugin's options in the standard build. */
export const AUTH_ENV = {
  session_absolute_hours: 'BILBYCAST_SESSION_ABSOLUTE_HOURS',
  session_idle_hours: 'BILBYCAST_SESSION_IDLE_HOURS',
  oidc_issuer: 'BILBYCAST_OIDC_ISSUER',
  oidc_client_id: 'BILBYCAST_OIDC_CLIENT_ID',
  oidc_redirect_url: 'BILBYCAST_OIDC_REDIRECT_URL',
  oidc_scopes: 'BILBYCAST_OIDC_SCOPES',
  oidc_label: 'BILBYCAST_OIDC_LABEL',
  oidc_role_claim: 'BILBYCAST_OIDC_ROLE_CLAIM',
  oidc_role_map: 'BILBYCAST_OIDC_ROLE_MAP',
  oidc_auto_create: 'BILBYCAST_OIDC_AUTO_CREATE',
  oidc_default_role: 'BILBYCAST_OIDC_DEFAULT_ROLE'
} as const;

/**
 * The auth plugin's options from the environment. SSO is on when BILBYCAST_OIDC_ISSUER is set;
 * the plugin validates the values (a bad one stops start-up with exit status 2).
 */
export function authOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): AuthOptions {
  const read = (key: keyof typeof AUTH_ENV) => {
    const value = env[AUTH_ENV[key]];
    return value === undefined || value === '' ? undefined : value;
  };
  const number = (key: keyof typeof AUTH_ENV) => (read(key) === undefined ? undefined : Number(read(key)));
  const options: AuthOptions = { session_absolute_hours: number('session_absolute_hours'), session_idle_hours: number('session_idle_hours') };
  if (read('oidc_issuer')) {
    let roleMap: unknown;
    try {
      roleMap = read('oidc_role_map') ? JSON.parse(read('oidc_role_map')!) : undefined;
    } catch {
      throw new ConfigError(`${AUTH_ENV.oidc_role_map} must be a JSON object such as {"ops":"operator"}`);
    }
    options.oidc = {
      issuer: read('oidc_issuer')!,
      client_id: read('oidc_client_id') ?? '',
      redirect_url: read('oidc_redirect_url') ?? '',
      scopes: read('oidc_scopes')
        ?.split(/[\s,]+/)
        .filter(Boolean),
      label: read('oidc_label'),
      role_claim: read('oidc_role_claim'),
      role_map: roleMap as Record<string, never> | undefined,
      auto_create: read('oidc_auto_create') === undefined ? undefined : ['1', 'true'].includes(read('oidc_auto_create')!),
      default_role: read('oidc_default_role') as never
    };
  }
  return options;
}
