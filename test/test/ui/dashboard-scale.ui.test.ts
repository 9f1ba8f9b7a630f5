import { createFleet, type Fleet } from '@bilbycast/device-simulator';
import { saveScreenshot, testDatabases } from '@bilbycast/tests';
import { uiEnv, type UiTestEnv } from './ui-harness';

const NODES = 500;

/**
 * Issue test 7, functional half: 500 live nodes render and the page stays usable while their
 * stats stream. The time to first full view is measured by bench/dashboard-render.js and
 * recorded in bench/RESULTS.md — tests do not assert on timing.
 */
describe.each(testDatabases().slice(0, 1))('UI: dashboard with %s and 500 simulated nodes', (kind) => {
  let env: UiTestEnv;
  let fleet: Fleet;

  beforeAll(async () => {
    env = await uiEnv(kind, { dashboard_stats_interval_ms: 1000 });
    const tokens: string[] = [];
    for (let i = 0; i < NODES; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(50, NODES - i) }, (_, j) => env.t.admin.addNode(`edge ${String(i + j + 1).padStart(3, '0')}`))
      );
      tokens.push(...batch.map((b) => b.token));
    }
    fleet = createFleet({
      url: env.t.nodeUrl,
      ramp_ms: 2000,
      devices: tokens.map((registration_token) => ({ kind: 'edge' as const, registration_token, flows: 1, thumbnail_interval_ms: 0, reconnect_delay_ms: 500 }))
    });
    fleet.start();
    await fleet.waitAllOnline(60_000);
  }, 120_000);
  afterAll(async () => {
    await fleet?.stop();
    await env.close();
  });

  test('every node renders online with live numbers, and filtering works while stats stream', async () => {
    const { page } = await env.signIn('admin', '/');
    await page.getByTestId('card-total').getByText(String(NODES), { exact: true }).waitFor();
    await page.getByTestId('card-online').getByText(String(NODES), { exact: true }).waitFor();
    await page
      .locator('[data-testid="node-card"][data-status="online"]')
      .nth(NODES - 1)
      .waitFor();
    expect(await page.locator('[data-testid="node-card"]').count()).toBe(NODES);

    // Stats keep arriving: a card's bitrate shows a value and changes over time.
    const card = page.locator('[data-testid="node-card"]', { hasText: 'edge 250' });
    const first = await card.getByTestId('bitrate').innerText();
    expect(first).toMatch(/b\/s/);
    await page.waitForFunction(
      ([selector, before]) => document.querySelector(selector)?.textContent !== before,
      [`[data-node-id="${await card.getAttribute('data-node-id')}"] [data-testid="bitrate"]`, first] as const,
      { timeout: 20_000 }
    );

    // The page answers input while the stream goes on.
    await page.getByLabel('Search').fill('edge 42');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="node-card"]').length === 10);
    const names = await page.locator('[data-testid="node-card"] .node-name').allInnerTexts();
    expect(names).toEqual(Array.from({ length: 10 }, (_, i) => `edge ${420 + i}`));
    await page.getByLabel('Search').fill('');
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid="node-card"]').length === n, NODES);
    await saveScreenshot(page, 'dashboard-500-nodes');
  });
});
