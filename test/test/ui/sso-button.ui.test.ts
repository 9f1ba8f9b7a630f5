import { testDatabases } from '@bilbycast/tests';
import { seedUser, Session, uiEnv, type UiTestEnv } from './ui-harness';

/** The login page offers SSO only when it is configured and has its client secret. */
describe.each(testDatabases().slice(0, 1))('UI: the SSO button (%s)', (kind) => {
  let env: UiTestEnv;

  beforeAll(async () => {
    env = await uiEnv(
      kind,
      {},
      {
        oidc: {
          issuer: 'https://idp.example.invalid',
          client_id: 'bilbycast',
          redirect_url: 'https://manager.example.invalid/api/v1/auth/oidc/callback',
          label: 'Sign in with Example SSO'
        }
      }
    );
  });
  afterAll(async () => {
    await env.close();
  });

  test('appears, with its label and the page to return to, once the client secret is set', async () => {
    const context = await env.browser.newContext({ baseURL: env.t.baseUrl });
    const page = await context.newPage();
    await page.goto('/login?next=%2Fevents');
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await page.waitForLoadState('networkidle');
    expect(await page.getByRole('link', { name: 'Sign in with Example SSO' }).count()).toBe(0);

    await seedUser(env.t.manager, 'root', 'super_admin');
    const superAdmin = await Session.login(env.t.manager, 'root');
    expect((await superAdmin.request('PUT', '/api/v1/auth/oidc/client-secret', { client_secret: 'from-the-idp' })).statusCode).toBeLessThan(300);

    await page.reload();
    const sso = page.getByRole('link', { name: 'Sign in with Example SSO' });
    await sso.waitFor();
    expect(await sso.getAttribute('href')).toBe('/api/v1/auth/oidc/login?next=%2Fevents');
    await context.close();
  });
});
