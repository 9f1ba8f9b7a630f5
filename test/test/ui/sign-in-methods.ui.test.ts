import { signInAtOidcProvider, startOidcProvider, testDatabases, type OidcTestProvider } from '@bilbycast/tests';
import type { Page } from 'playwright-core';
import { currentTotp } from '../../../plugins/auth/src/services/totp';
import { PASSWORD, Session, uiEnv, type UiTestEnv } from './ui-harness';

jest.setTimeout(60_000);

// The identity provider sends the browser back here; the test forwards that to the manager.
const CALLBACK = 'http://manager.test/api/v1/auth/oidc/callback';

/** Linking single sign-on identities (by the user, by an admin) and an admin's MFA reset, in a real browser against a real OIDC provider. */
describe.each(testDatabases().slice(0, 1))('UI: sign-in methods (%s)', (kind) => {
  let provider: OidcTestProvider;
  let env: UiTestEnv;

  beforeAll(async () => {
    provider = await startOidcProvider({
      redirectUris: [CALLBACK],
      tokenEndpointAuthMethod: 'client_secret_post',
      accounts: [{ sub: 'alice-at-idp', email: 'alice@example.com', email_verified: true, name: 'Alice' }]
    });
    env = await uiEnv(kind, {}, { oidc: { issuer: provider.issuer, client_id: provider.clientId, redirect_url: CALLBACK, label: 'Company SSO' } });
    await env.user('root', 'super_admin');
    const root = await Session.login(env.t.manager, 'root');
    expect((await root.request('PUT', '/api/v1/auth/oidc/client-secret', { client_secret: provider.clientSecret })).statusCode).toBe(200);
  });
  afterAll(async () => {
    await env?.close();
    await provider?.stop();
  });

  /**
   * The browser's visit to the provider: signed in there as `accountId`, then sent back to the
   * manager. (Playwright cannot intercept a redirect's target, so the manager's own redirect to
   * the provider is taken in hand.)
   */
  async function throughProvider(page: Page, accountId: string) {
    await page.route(
      (url) => url.pathname === '/api/v1/auth/oidc/login',
      async (route) => {
        const response = await route.fetch({ maxRedirects: 0 });
        const back = await signInAtOidcProvider(response.headers().location, { accountId });
        await route.fulfill({ response, headers: { ...response.headers(), location: new URL(back.pathname + back.search, env.t.baseUrl).href } });
      }
    );
  }

  test('a user links their identity provider account on My account, signs in with it, and removes it', async () => {
    await env.user('alice', 'operator', { email: 'alice@example.com' });
    // Before linking, the matching email is no way in.
    const before = await env.browser.newContext({ baseURL: env.t.baseUrl });
    const anonymous = await before.newPage();
    await throughProvider(anonymous, 'alice-at-idp');
    await anonymous.goto('/login');
    await anonymous.getByRole('link', { name: 'Company SSO' }).click();
    await anonymous.waitForURL((url) => url.pathname === '/login' && url.searchParams.get('error') === 'sso_not_linked');
    await anonymous
      .getByRole('alert')
      .getByText(/not linked/)
      .waitFor();

    const { page } = await env.signIn('alice', '/account');
    const section = page.getByRole('region', { name: 'Single sign-on' });
    await section.getByText('No identity provider account is linked to you.').waitFor();
    await throughProvider(page, 'alice-at-idp');
    // A fresh sign-in is not enough: the password is asked for.
    await section.getByRole('button', { name: 'Link Company SSO account' }).click();
    await section.getByRole('alert').getByText('Enter your current password to make this change').waitFor();
    await section.getByLabel('Current password').fill(PASSWORD);
    await section.getByRole('button', { name: 'Link Company SSO account' }).click();
    await section.getByRole('status').getByText('Your Company SSO account is linked.').waitFor();
    expect(new URL(page.url()).pathname).toBe('/account');
    const row = section.getByTestId('sso-identity-row');
    await row.getByText('alice-at-idp').waitFor();

    // The linked identity signs in.
    await anonymous.goto('/login?next=%2Fevents');
    await anonymous.getByRole('link', { name: 'Company SSO' }).click();
    await anonymous.waitForURL((url) => url.pathname === '/events');
    await before.close();

    await section.getByRole('button', { name: 'Remove alice-at-idp' }).click();
    await section.getByText('No identity provider account is linked to you.').waitFor();
    expect(
      (
        await env.t.admin.request(
          'GET',
          `/api/v1/users/${(await env.t.manager.context.db('users').where({ username_key: 'alice' }).first()).id}/sso-identities`
        )
      ).result
    ).toEqual([]);
  });

  test('a super_admin resets a user’s lost MFA and links an identity for them from the users page', async () => {
    const bobId = await env.user('bob', 'viewer');
    const bob = await Session.login(env.t.manager, 'bob');
    const { secret } = (await bob.request('POST', '/api/v1/auth/mfa/totp/setup', {})).result as { secret: string };
    expect((await bob.request('POST', '/api/v1/auth/mfa/totp/confirm', { code: await currentTotp(secret) })).statusCode).toBe(200);
    await env.user('carl', 'super_admin');

    const { page } = await env.signIn('carl', '/admin/users');
    const row = page.locator('[data-testid="user-row"][data-username="bob"]');
    await row.getByRole('button', { name: 'Sign-in of bob' }).click();
    const dialog = page.getByRole('dialog', { name: 'Sign-in of bob' });
    await dialog.getByRole('button', { name: 'Reset MFA…' }).click();
    await dialog.getByText('Do this only once you are sure who asked.').waitFor();
    await dialog.getByRole('button', { name: 'Reset MFA', exact: true }).click();
    await page.getByRole('status').getByText('MFA of “bob” reset').waitFor();
    expect((await env.t.admin.request('GET', `/api/v1/users/${bobId}`)).result).toMatchObject({ mfa_enabled: false });

    await row.getByRole('button', { name: 'Sign-in of bob' }).click();
    await dialog.getByText('Off.').waitFor();
    await dialog.getByLabel('Subject at the identity provider').fill('bob-at-idp');
    await dialog.getByRole('button', { name: 'Link', exact: true }).click();
    await dialog.getByRole('table', { name: 'Single sign-on identities of bob' }).getByText('bob-at-idp').waitFor();
    // Linked elsewhere: the server's refusal is shown.
    const other = await env.user('dora', 'viewer');
    const root = await Session.login(env.t.manager, 'root');
    expect((await root.request('POST', `/api/v1/users/${other}/sso-identities`, { subject: 'dora-at-idp' })).statusCode).toBe(201);
    await dialog.getByLabel('Subject at the identity provider').fill('dora-at-idp');
    await dialog.getByRole('button', { name: 'Link', exact: true }).click();
    await dialog.getByRole('alert').getByText('That identity is already linked to another user').waitFor();
    const actions = (await env.t.manager.context.db('audit_log').whereIn('action', ['user.mfa_reset', 'user.sso_link']).andWhere({ username: 'carl' })).map(
      (r) => r.action
    );
    expect(actions.sort()).toEqual(['user.mfa_reset', 'user.sso_link']);
  });
});
