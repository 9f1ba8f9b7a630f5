import { createTestDatabase } from '@bilbycast/tests';
import { AUTH_ENV, authOptionsFromEnv } from '../src';
import { databaseEnv, randomMasterKey, runCli, stderrLines } from './run-cli';

describe('auth options from the environment', () => {
  it('leaves SSO off without BILBYCAST_OIDC_ISSUER and maps every variable when it is set', () => {
    expect(authOptionsFromEnv({}).oidc).toBeUndefined();
    expect(authOptionsFromEnv({ [AUTH_ENV.session_idle_hours]: '2' }).session_idle_hours).toBe(2);
    const options = authOptionsFromEnv({
      BILBYCAST_OIDC_ISSUER: 'https://idp.example.com',
      BILBYCAST_OIDC_CLIENT_ID: 'manager',
      BILBYCAST_OIDC_REDIRECT_URL: 'https://manager.example.com/api/v1/auth/oidc/callback',
      BILBYCAST_OIDC_SCOPES: 'openid email, groups',
      BILBYCAST_OIDC_ROLE_CLAIM: 'groups',
      BILBYCAST_OIDC_ROLE_MAP: '{"ops":"operator"}',
      BILBYCAST_OIDC_AUTO_CREATE: 'true',
      BILBYCAST_OIDC_DEFAULT_ROLE: 'viewer'
    });
    expect(options.oidc).toMatchObject({
      issuer: 'https://idp.example.com',
      client_id: 'manager',
      scopes: ['openid', 'email', 'groups'],
      role_claim: 'groups',
      role_map: { ops: 'operator' },
      auto_create: true,
      default_role: 'viewer'
    });
  });

  it('stops the command with exit status 2 and one line for bad SSO settings', async () => {
    const database = await createTestDatabase('sqlite');
    for (const [vars, expected] of [
      [{ BILBYCAST_OIDC_ISSUER: 'https://idp.example.com', BILBYCAST_OIDC_ROLE_MAP: '{not json' }, /BILBYCAST_OIDC_ROLE_MAP must be a JSON object/],
      [
        { BILBYCAST_OIDC_ISSUER: 'https://idp.example.com', BILBYCAST_OIDC_CLIENT_ID: 'm', BILBYCAST_OIDC_REDIRECT_URL: 'https://m.example.com/elsewhere' },
        /redirect_url.*must end with \/api\/v1\/auth\/oidc\/callback/
      ]
    ] as const) {
      const result = await runCli(['migrate', '--status'], { env: databaseEnv(database, { BILBYCAST_MASTER_KEY: randomMasterKey(), ...vars }) });
      expect(result.code).toBe(2);
      const lines = stderrLines(result);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(expected);
    }
    await database.cleanup();
  });
});
