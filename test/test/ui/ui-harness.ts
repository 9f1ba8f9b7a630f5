import type { AuthOptions } from '@bilbycast/auth';
import type { Role } from '@bilbycast/core';
import { SimulatedDevice, type SimulatedDeviceOptions } from '@bilbycast/device-simulator';
import events from '@bilbycast/events';
import { launchBrowser, type TestDatabaseKind } from '@bilbycast/tests';
import ui from '@bilbycast/ui';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { PASSWORD, Session, nodesManager, seedUser, type NodesTestManager } from '../../../plugins/nodes/test/nodes-harness';
import type { NodesOptions } from '../../../plugins/nodes/src';

export { PASSWORD, Session, seedUser };

/** Fast device cadences so the UI sees changes quickly (the manager is real, only clocks are short). */
export const FAST_DEVICE = { stats_interval_ms: 200, health_interval_ms: 1000, thumbnail_interval_ms: 0, reconnect_delay_ms: 200 } as const;

export interface UiTestEnv {
  t: NodesTestManager;
  browser: Browser;
  devices: SimulatedDevice[];
  /** A fresh browser context (cookies), signed in as `username`, on `path`. */
  signIn(username: string, path?: string): Promise<{ context: BrowserContext; page: Page }>;
  /** Creates a node through the API and runs a simulated device for it. */
  simulate(name: string, options?: Partial<SimulatedDeviceOptions> & { device_type?: string }): Promise<{ id: string; device: SimulatedDevice }>;
  user(username: string, role: Role, extra?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

/** The standard build's UI on a real manager (users, auth, nodes, events, ui) and a headless Chromium. */
export async function uiEnv(kind: TestDatabaseKind, options: NodesOptions = {}, authOptions?: AuthOptions): Promise<UiTestEnv> {
  const t = await nodesManager(kind, { options: { dashboard_stats_interval_ms: 250, ...options }, plugins: [events, ui], authOptions });
  const browser = await launchBrowser();
  const devices: SimulatedDevice[] = [];
  const contexts: BrowserContext[] = [];
  return {
    t,
    browser,
    devices,
    async signIn(username, path = '/') {
      const context = await browser.newContext({ baseURL: t.baseUrl, viewport: { width: 1400, height: 900 } });
      contexts.push(context);
      const page = await context.newPage();
      await page.goto(`/login?next=${encodeURIComponent(path)}`);
      await page.getByLabel('Username').fill(username);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL((url) => url.pathname === path.split('?')[0]);
      return { context, page };
    },
    async simulate(name, options = {}) {
      const { device_type, ...deviceOptions } = options;
      const kind = deviceOptions.kind ?? 'edge';
      const type = device_type ?? (kind === 'gateway' ? 'appear_x' : kind);
      const { id, token } = await t.admin.addNode(name, type);
      const device = new SimulatedDevice({ url: t.nodeUrl, kind, registration_token: token, ...FAST_DEVICE, ...deviceOptions });
      devices.push(device);
      device.start();
      await device.waitForState('online');
      return { id, device };
    },
    user: (username, role, extra = {}) => seedUser(t.manager, username, role, extra),
    async close() {
      await Promise.all(devices.map((d) => d.stop()));
      for (const context of contexts) await context.close().catch(() => undefined);
      await browser.close();
      await t.close();
    }
  };
}

/**
 * Opens a confirmation dialog with the keyboard and confirms it the same way (Enter on each
 * button), as a keyboard user would; focus checks follow.
 */
export async function confirmWithKeyboard(page: Page, opener: Locator, dialogName: string, confirmLabel: string): Promise<void> {
  await opener.focus();
  await page.keyboard.press('Enter');
  await page.getByRole('dialog', { name: dialogName }).getByRole('button', { name: confirmLabel }).focus();
  await page.keyboard.press('Enter');
}

/** Focus is somewhere useful (`expected`), not dropped on the page body. */
export async function focusIsOn(page: Page, expected: Locator): Promise<void> {
  await expected.and(page.locator(':focus')).waitFor();
  expect(await page.evaluate(() => document.activeElement === document.body)).toBe(false);
}
