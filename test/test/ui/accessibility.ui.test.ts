import { testDatabases } from '@bilbycast/tests';
import type { Page } from 'playwright-core';
import { uiEnv, type UiTestEnv } from './ui-harness';

/** Every main page: labelled controls, keyboard reachability, no CSP violations, tablet width. */
describe.each(testDatabases().slice(0, 1))('UI: accessibility and layout of every page (%s)', (kind) => {
  let env: UiTestEnv;
  let nodeId: string;

  beforeAll(async () => {
    env = await uiEnv(kind);
    ({ id: nodeId } = await env.simulate('A11y edge', { kind: 'edge' }));
  });
  afterAll(async () => {
    await env.close();
  });

  /** Form controls without an accessible name (label, aria-label, aria-labelledby or title). */
  const unlabelled = (page: Page) =>
    page.evaluate(() =>
      [...document.querySelectorAll('input, select, textarea')]
        .filter((el) => (el as HTMLInputElement).type !== 'hidden' && (el as HTMLElement).offsetParent !== null)
        .filter((el) => {
          const control = el as HTMLInputElement;
          return (
            !(control.labels && control.labels.length > 0) && !control.getAttribute('aria-label') && !control.getAttribute('aria-labelledby') && !control.title
          );
        })
        .map((el) => el.outerHTML.slice(0, 120))
    );

  const pages = () => ['/', `/nodes/${nodeId}`, '/events', '/admin/nodes', '/admin/users', '/admin/audit', '/admin/drivers', '/account'];

  test('every control is labelled, the page is reachable by keyboard, and nothing breaks the CSP', async () => {
    const { page } = await env.signIn('admin', '/');
    const violations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text());
    });
    for (const path of pages()) {
      await page.goto(path);
      await page.getByRole('heading', { level: 1 }).first().waitFor();
      await page.waitForLoadState('networkidle');
      expect({ path, unlabelled: await unlabelled(page) }).toEqual({ path, unlabelled: [] });
      // Tab moves focus onto the page's own controls (navigation first, so a few steps).
      for (let i = 0; i < 3; i++) await page.keyboard.press('Tab');
      expect({ path, focused: await page.evaluate(() => document.activeElement?.tagName ?? 'BODY') }).not.toEqual({ path, focused: 'BODY' });
    }
    expect(violations).toEqual([]);
  });

  test('usable at tablet width: no page scrolls sideways at 820 px', async () => {
    const { page } = await env.signIn('admin', '/');
    await page.setViewportSize({ width: 820, height: 1100 });
    for (const path of pages()) {
      await page.goto(path);
      await page.getByRole('heading', { level: 1 }).first().waitFor();
      await page.waitForLoadState('networkidle');
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect({ path, overflow }).toEqual({ path, overflow: 0 });
    }
  });
});
