import { saveScreenshot, testDatabases } from '@bilbycast/tests';
import type { Page } from 'playwright-core';
import { uiEnv, type UiTestEnv } from './ui-harness';

/** The header's alarm badge shows `count` (it follows the live feed's event_count). */
async function badgeShows(page: Page, count: number): Promise<void> {
  await page.locator(`[data-testid="alarm-badge"][aria-label="Active alarms: ${count}"]`).waitFor();
}

function rows(page: Page, text?: string) {
  return page.locator('[data-testid="event-row"]', text === undefined ? {} : { hasText: text });
}

describe.each(testDatabases().slice(0, 1))('UI: events (%s)', (kind) => {
  let env: UiTestEnv;
  let nodeId: string;
  let device: Awaited<ReturnType<UiTestEnv['simulate']>>['device'];

  /** Polls the API (as admin) until `query` matches `total` events. */
  async function storedEvents(query: string, total: number): Promise<void> {
    for (let i = 0; i < 200; i++) {
      const res = await env.t.admin.request('GET', `/api/v1/events?${query}`);
      if (Number(res.headers['x-total-count']) === total) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`events matching ${query} never reached ${total}`);
  }

  /** Signed in on `path`; a UI state that never comes fails in 10 s, naming the locator (not at the test's time limit). */
  async function open(username: string, path: string): Promise<Page> {
    const { page } = await env.signIn(username, path);
    page.setDefaultTimeout(10_000);
    return page;
  }

  async function alarmCount(): Promise<number> {
    return ((await env.t.admin.request('GET', '/api/v1/events/count')).result as { count: number }).count;
  }

  beforeAll(async () => {
    env = await uiEnv(kind);
    await env.user('operator1', 'operator');
    await env.user('viewer1', 'viewer');
    ({ id: nodeId, device } = await env.simulate('Events edge', { kind: 'edge' }));
  });
  afterAll(async () => {
    await env.close();
  });

  test('4. a critical event appears live and raises the alarm badge; acknowledging it lowers the badge', async () => {
    const page = await open('operator1', '/events');
    await page.getByRole('heading', { name: 'Events' }).waitFor();
    // The edge's connection event (info) is listed once the page has loaded.
    await rows(page, 'Node connected to manager').waitFor();
    const before = await alarmCount();
    await badgeShows(page, before);
    // Nothing reloads the page from here on: a marker on window would vanish with a reload.
    await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 4));

    device.raiseEvent({ severity: 'critical', category: 'srt', message: 'SRT input lost' });

    const row = rows(page, 'SRT input lost');
    await page.locator('[data-testid="event-row"][data-new="true"][data-severity="critical"]', { hasText: 'SRT input lost' }).waitFor();
    expect(await row.getByText('Events edge').count()).toBe(1);
    expect(await row.getByText('New', { exact: true }).count()).toBe(1);
    await badgeShows(page, before + 1);
    await saveScreenshot(page, 'events');

    await row.getByRole('button', { name: 'Acknowledge' }).click();
    await page.locator('[data-testid="event-row"][data-acknowledged="true"]', { hasText: 'SRT input lost' }).waitFor();
    await row.getByText('by operator1').waitFor();
    await badgeShows(page, before);
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(4);

    const stored = (await env.t.admin.request('GET', `/api/v1/events?node_id=${nodeId}&category=srt`)).result as {
      acknowledged: boolean;
      acknowledged_by: string;
    }[];
    expect(stored).toHaveLength(1);
    expect(stored[0].acknowledged).toBe(true);
  });

  test('an acknowledgement made elsewhere shows on the open page without a refresh', async () => {
    const { page } = await env.signIn('admin', '/events?category=elsewhere');
    device.raiseEvent({ severity: 'warning', category: 'elsewhere', message: 'Acknowledged by someone else' });
    await page.locator('[data-testid="event-row"][data-acknowledged="false"]', { hasText: 'Acknowledged by someone else' }).waitFor();
    const [stored] = (await env.t.admin.request('GET', `/api/v1/events?node_id=${nodeId}&category=elsewhere`)).result as { id: number }[];
    expect((await env.t.admin.request('POST', `/api/v1/events/${stored.id}/ack`)).statusCode).toBe(200);
    await page.locator('[data-testid="event-row"][data-acknowledged="true"]', { hasText: 'Acknowledged by someone else' }).waitFor();
  });

  test('filters: severity, search and the URL', async () => {
    device.raiseEvent({ severity: 'critical', category: 'filtering', message: 'Filter test: encoder overload' });
    device.raiseEvent({ severity: 'info', category: 'filtering', message: 'Filter test: routine note' });
    await storedEvents('category=filtering', 2);
    const page = await open('operator1', '/events');
    await rows(page, 'encoder overload').waitFor();
    await rows(page, 'routine note').waitFor();

    await page.getByLabel('Severity').selectOption('critical');
    await page.waitForURL((url) => url.searchParams.get('severity') === 'critical');
    await rows(page, 'routine note').waitFor({ state: 'detached' });
    await rows(page, 'encoder overload').waitFor();
    expect(await page.locator('[data-testid="event-row"]:not([data-severity="critical"])').count()).toBe(0);

    await page.getByLabel('Severity').selectOption('info');
    await page.waitForURL((url) => url.searchParams.get('severity') === 'info');
    await rows(page, 'encoder overload').waitFor({ state: 'detached' });
    await rows(page, 'routine note').waitFor();
    expect(await page.locator('[data-testid="event-row"]:not([data-severity="info"])').count()).toBe(0);

    // Search (debounced) goes to the URL too.
    await page.getByLabel('Severity').selectOption('');
    await page.getByLabel('Search').fill('ENCODER over');
    await page.waitForURL((url) => url.searchParams.get('q') === 'ENCODER over' && !url.searchParams.has('severity'));
    await rows(page, 'routine note').waitFor({ state: 'detached' });
    await rows(page, 'encoder overload').waitFor();
    expect(await rows(page).count()).toBe(1);

    // A deep link restores every filter; an empty result says so.
    await page.goto('/events?severity=critical&acknowledged=false&category=filtering');
    await rows(page, 'encoder overload').waitFor();
    expect(await page.getByLabel('Severity').inputValue()).toBe('critical');
    expect(await page.getByLabel('Acknowledged').inputValue()).toBe('false');
    expect(await page.getByLabel('Category').inputValue()).toBe('filtering');
    await page.getByLabel('Acknowledged').selectOption('true');
    await page.waitForURL((url) => url.searchParams.get('acknowledged') === 'true' && url.searchParams.get('category') === 'filtering');
    await page.getByText('No events match these filters.').waitFor();
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.waitForURL((url) => url.search === '');
    await rows(page, 'routine note').waitFor();
  });

  test('bulk acknowledgement: selected, then all matching', async () => {
    const page = await open('operator1', '/events?category=bulk');
    await page.getByText('No events match these filters.').waitFor();
    const before = await alarmCount();

    // An event of another category, stored (and so published) before the matching ones: it never shows.
    device.raiseEvent({ severity: 'warning', category: 'other', message: 'Other warning' });
    await storedEvents('category=other', 1);
    for (const n of [1, 2, 3]) device.raiseEvent({ severity: 'warning', category: 'bulk', message: `Bulk warning ${n}` });
    for (const n of [1, 2, 3]) await rows(page, `Bulk warning ${n}`).waitFor();
    expect(await rows(page).count()).toBe(3);
    await badgeShows(page, before + 4);

    await page.getByLabel('Select event: Bulk warning 1').check();
    await page.getByLabel('Select event: Bulk warning 3').check();
    await page.getByRole('button', { name: 'Acknowledge selected (2)' }).click();
    await page.getByRole('status').getByText('Acknowledged 2 events.').waitFor();
    await page.locator('[data-testid="event-row"][data-acknowledged="true"]', { hasText: 'Bulk warning 1' }).waitFor();
    await page.locator('[data-testid="event-row"][data-acknowledged="true"]', { hasText: 'Bulk warning 3' }).waitFor();
    expect(await page.locator('[data-testid="event-row"][data-acknowledged="false"]', { hasText: 'Bulk warning 2' }).count()).toBe(1);
    await badgeShows(page, before + 2);

    await page.getByRole('button', { name: 'Acknowledge all matching…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Acknowledge all matching events' });
    await dialog.getByRole('button', { name: 'Acknowledge all', exact: true }).click();
    await page.getByRole('status').getByText('Acknowledged 1 event.').waitFor();
    await page.locator('[data-testid="event-row"][data-acknowledged="true"]', { hasText: 'Bulk warning 2' }).waitFor();
    // Only the matching events were acknowledged: the other category's warning is still an alarm.
    await badgeShows(page, before + 1);
    const other = (await env.t.admin.request('GET', '/api/v1/events?category=other')).result as { acknowledged: boolean }[];
    expect(other[0].acknowledged).toBe(false);
  });

  test('a selection acknowledged elsewhere drops out of "Acknowledge selected"', async () => {
    for (const n of [1, 2, 3]) device.raiseEvent({ severity: 'warning', category: 'selection', message: `Selected warning ${n}` });
    await storedEvents('category=selection', 3);
    const page = await open('operator1', '/events?category=selection');
    for (const n of [1, 2, 3]) await page.getByLabel(`Select event: Selected warning ${n}`).check();
    await page.getByRole('button', { name: 'Acknowledge selected (3)' }).waitFor();

    const stored = (await env.t.admin.request('GET', '/api/v1/events?category=selection')).result as { id: number; message: string }[];
    const second = stored.find((e) => e.message === 'Selected warning 2')!;
    expect((await env.t.admin.request('POST', `/api/v1/events/${second.id}/ack`)).statusCode).toBe(200);
    await page.locator('[data-testid="event-row"][data-acknowledged="true"]', { hasText: 'Selected warning 2' }).waitFor();
    await page.getByRole('button', { name: 'Acknowledge selected (2)' }).click();
    await page.getByRole('status').getByText('Acknowledged 2 events.').waitFor();
  });

  test('the alarm badge and card open exactly the events they count: unacknowledged warnings and criticals', async () => {
    device.raiseEvent({ severity: 'critical', category: 'alarm-link', message: 'Alarm link: critical' });
    for (const n of [1, 2, 3]) device.raiseEvent({ severity: 'info', category: 'alarm-link', message: `Alarm link: note ${n}` });
    await storedEvents('category=alarm-link', 4);
    const count = await alarmCount();
    const page = await open('operator1', '/');
    await badgeShows(page, count);
    expect(await page.getByTestId('card-alarms').getAttribute('href')).toBe(await page.getByTestId('alarm-badge').getAttribute('href'));

    await page.getByTestId('alarm-badge').click();
    await page.waitForURL(
      (url) => url.pathname === '/events' && url.searchParams.get('acknowledged') === 'false' && url.searchParams.get('severity') === 'warning,critical'
    );
    await page
      .getByTestId('events-total')
      .getByText(`${count} matching event${count === 1 ? '' : 's'}`, { exact: true })
      .waitFor();
    await rows(page, 'Alarm link: critical').waitFor();
    expect(await rows(page, 'Alarm link: note').count()).toBe(0);
    expect(await page.getByLabel('Severity').inputValue()).toBe('warning,critical');

    // Live events follow the same filter: the note (sent first) never shows, the warning does.
    device.raiseEvent({ severity: 'info', category: 'alarm-link', message: 'Alarm link: live note' });
    device.raiseEvent({ severity: 'warning', category: 'alarm-link', message: 'Alarm link: live warning' });
    await page.locator('[data-testid="event-row"][data-new="true"]', { hasText: 'Alarm link: live warning' }).waitFor();
    expect(await rows(page, 'Alarm link: live note').count()).toBe(0);
    await page
      .getByTestId('events-total')
      .getByText(`${count + 1} matching events`, { exact: true })
      .waitFor();
    await badgeShows(page, count + 1);

    // The Severity select offers the combination too.
    await page.getByLabel('Severity').selectOption('info');
    await page.waitForURL((url) => url.searchParams.get('severity') === 'info');
    await page.getByLabel('Severity').selectOption({ label: 'Warning + critical' });
    await page.waitForURL((url) => url.searchParams.get('severity') === 'warning,critical');
    await rows(page, 'Alarm link: critical').waitFor();
  });

  test('pagination: 50 per page, with X-Total-Count', async () => {
    for (let n = 1; n <= 60; n++) device.raiseEvent({ severity: 'info', category: 'load', message: `Load event ${n}` });
    await storedEvents('category=load', 60);
    const page = await open('operator1', '/events?category=load');
    await page.getByTestId('page-info').getByText('Page 1 of 2').waitFor();
    await page.getByText('60 matching events').waitFor();
    expect(await rows(page).count()).toBe(50);
    expect(await page.getByRole('button', { name: 'Previous' }).isDisabled()).toBe(true);

    await page.getByRole('button', { name: 'Next' }).click();
    await page.waitForURL((url) => url.searchParams.get('page') === '2' && url.searchParams.get('category') === 'load');
    await page.getByTestId('page-info').getByText('Page 2 of 2').waitFor();
    await rows(page).nth(9).waitFor();
    expect(await rows(page).count()).toBe(10);
    expect(await page.getByRole('button', { name: 'Next' }).isDisabled()).toBe(true);

    await page.getByRole('button', { name: 'Previous' }).click();
    await page.getByTestId('page-info').getByText('Page 1 of 2').waitFor();
    await rows(page).nth(49).waitFor();
  });

  test('a viewer sees the events but no acknowledgement controls', async () => {
    device.raiseEvent({ severity: 'warning', category: 'viewing', message: 'Viewer warning 1' });
    await storedEvents('category=viewing', 1);
    const page = await open('viewer1', '/events?category=viewing');
    await rows(page, 'Viewer warning 1').waitFor();
    expect(await page.getByRole('checkbox').count()).toBe(0);
    expect(await page.getByRole('button', { name: /Acknowledge/ }).count()).toBe(0);
    // Live events still arrive for viewers, still without controls.
    device.raiseEvent({ severity: 'warning', category: 'viewing', message: 'Viewer warning 2' });
    await page.locator('[data-testid="event-row"][data-new="true"]', { hasText: 'Viewer warning 2' }).waitFor();
    expect(await page.getByRole('checkbox').count()).toBe(0);
    expect(await page.getByRole('button', { name: /Acknowledge/ }).count()).toBe(0);
  });
});
