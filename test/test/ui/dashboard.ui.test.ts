import { saveScreenshot, testDatabases } from '@bilbycast/tests';
import { SimulatedDevice } from '@bilbycast/device-simulator';
import { PASSWORD, uiEnv, type UiTestEnv } from './ui-harness';

describe.each(testDatabases().slice(0, 1))('UI: sign-in and the live dashboard (%s)', (kind) => {
  let env: UiTestEnv;

  beforeAll(async () => {
    env = await uiEnv(kind);
  });
  afterAll(async () => {
    await env.close();
  });

  test('1. log in; a simulated node turns online on the dashboard without a reload', async () => {
    const { page } = await env.signIn('admin', '/');
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    const { id } = await env.t.admin.addNode('Live edge');
    const card = page.locator(`[data-node-id="${id}"]`);
    await card.waitFor();
    expect(await card.getAttribute('data-status')).toBe('pending');
    // Nothing reloads the page from here on: a marker on window would vanish with a reload.
    await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 42));

    const token = ((await env.t.admin.request('POST', `/api/v1/nodes/${id}/token`)).result as { registration_token: string }).registration_token;
    const device = new SimulatedDevice({ url: env.t.nodeUrl, kind: 'edge', registration_token: token, stats_interval_ms: 200, thumbnail_interval_ms: 0 });
    env.devices.push(device);
    device.start();

    await page.locator(`[data-node-id="${id}"][data-status="online"]`).waitFor();
    await card.locator('[data-testid="bitrate"]', { hasText: /b\/s/ }).waitFor();
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(42);
    await page.getByTestId('card-online').getByText('1').waitFor();
    await saveScreenshot(page, 'dashboard');
  });

  test('deep links while signed out go to the login page and come back', async () => {
    const context = await env.browser.newContext({ baseURL: env.t.baseUrl });
    const page = await context.newPage();
    await page.goto('/events');
    await page.waitForURL(/\/login\?next=%2Fevents/);
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill('wrong-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText('Invalid username or password.').waitFor();
    await saveScreenshot(page, 'login');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((url) => url.pathname === '/events');
    // The wrong password before is reported, once, until dismissed.
    const notice = page.getByTestId('sign-in-notice');
    await notice.getByText(/There (was 1 failed sign-in|were \d+ failed sign-ins) to your account since you last signed in/).waitFor();
    await notice.getByRole('button', { name: 'Dismiss' }).click();
    await notice.waitFor({ state: 'detached' });
    await page.reload();
    await page.getByRole('heading', { level: 1 }).first().waitFor();
    expect(await page.getByTestId('sign-in-notice').count()).toBe(0);
    await context.close();
  });

  test('a failed single sign-on says why on the login page', async () => {
    const context = await env.browser.newContext({ baseURL: env.t.baseUrl });
    const page = await context.newPage();
    for (const [error, message] of [
      [
        'sso_not_linked',
        'Your single sign-on account is not linked to an account on this manager. Sign in with your username and password and link it under My account, or ask an administrator.'
      ],
      ['sso_failed', 'Single sign-on failed. Try again, or sign in with your username and password.'],
      ['something_else', 'Sign-in failed. Try again.']
    ]) {
      await page.goto(`/login?error=${error}`);
      await page.getByRole('alert').getByText(message, { exact: true }).waitFor();
    }
    await context.close();
  });

  // Last in this file: it locks 127.0.0.1 out of password sign-in for a minute.
  test('no SSO button without SSO; repeated failures give the rate-limit message', async () => {
    const context = await env.browser.newContext({ baseURL: env.t.baseUrl });
    const page = await context.newPage();
    await page.goto('/login');
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(await page.getByRole('link', { name: /SSO|single sign-on/i }).count()).toBe(0);
    for (let attempt = 0; attempt < 6; attempt++) {
      await page.getByLabel('Username').fill('admin');
      await page.getByLabel('Password').fill(`wrong-${attempt}`);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('alert').waitFor();
      if ((await page.getByRole('alert').innerText()).includes('Too many attempts')) break;
    }
    await page.getByRole('alert').getByText('Too many attempts. Wait a minute and try again.').waitFor();
    await context.close();
  });
});
