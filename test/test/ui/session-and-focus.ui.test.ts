import { testDatabases } from '@bilbycast/tests';
import type { Page, Response, WebSocketRoute } from 'playwright-core';
import { PASSWORD, confirmWithKeyboard, focusIsOn, uiEnv, type UiTestEnv } from './ui-harness';

describe.each(testDatabases().slice(0, 1))('UI: a session ended under the live feed; focus after revoking (%s)', (kind) => {
  let env: UiTestEnv;

  beforeAll(async () => {
    // The feed's own session recheck (every 30 s by default) must not be what notices here.
    env = await uiEnv(kind, { dashboard_revalidate_secs: 3600 });
  });
  afterAll(async () => {
    await env.close();
  });

  /** Resolves once the page has had `n` responses whose URL contains `part`. */
  function responses(page: Page, part: string, n: number): Promise<void> {
    let count = 0;
    return new Promise((resolve) =>
      page.on('response', (response: Response) => {
        if (response.url().includes(part) && ++count === n) resolve();
      })
    );
  }

  test('a feed that drops after the session ended goes to the login page, and back after signing in', async () => {
    const userId = await env.user('feed-user', 'operator');
    const { page } = await env.signIn('feed-user', '/events');
    page.setDefaultTimeout(10_000);
    const feeds: WebSocketRoute[] = [];
    await page.routeWebSocket('**/ws/dashboard', (ws: WebSocketRoute) => {
      feeds.push(ws);
      ws.connectToServer();
    });
    // The page's own reads (on load and when the feed connected) are answered before the
    // session ends: none of them can be what notices it.
    const eventLists = responses(page, '/api/v1/events?', 2);
    await page.reload();
    await page.getByRole('status').getByText('Live').waitFor();
    await eventLists;

    await env.t.manager.context.db('auth_sessions').where({ user_id: userId }).delete();
    // A reconnect would be refused with 401 before it opens, which the page sees as 1006.
    await feeds[0].close({ code: 1001, reason: 'Going away' });
    await page.waitForURL((url) => url.pathname === '/login' && url.searchParams.get('next') === '/events');

    await page.getByLabel('Username').fill('feed-user');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((url) => url.pathname === '/events');
    await page.getByRole('status').getByText('Live').waitFor();
  }, 60_000);

  test('revoking an API token with the keyboard leaves focus on the tokens heading, not the page body', async () => {
    await env.user('revoke-user', 'operator');
    const { page } = await env.signIn('revoke-user', '/account');
    page.setDefaultTimeout(10_000);
    const tokens = page.getByRole('region', { name: 'API tokens' });
    const form = tokens.getByRole('form', { name: 'Create API token' });
    await form.getByLabel('Token name').fill('keyboard script');
    await form.getByRole('button', { name: 'Create token' }).click();
    const row = tokens.locator('[data-testid="token-row"]', { hasText: 'keyboard script' });
    await row.waitFor();

    await confirmWithKeyboard(page, row.getByRole('button', { name: 'Revoke token keyboard script' }), 'Revoke API token', 'Revoke token');
    await tokens.getByText('You have no API tokens.').waitFor();
    await focusIsOn(page, page.getByRole('heading', { name: 'API tokens', level: 2 }));
  }, 60_000);
});
