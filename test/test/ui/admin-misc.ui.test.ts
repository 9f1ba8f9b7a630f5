import { saveScreenshot, testDatabases } from '@bilbycast/tests';
import type { Locator } from 'playwright-core';
import { uiEnv, type UiTestEnv } from './ui-harness';

/** Many browser steps and password hashing: room for a busy machine (the default is 30 s). */
const TEST_TIMEOUT_MS = 60_000;

describe.each(testDatabases().slice(0, 1))('UI: audit log, drivers and the admin-only guard (%s)', (kind) => {
  let env: UiTestEnv;

  beforeAll(async () => {
    env = await uiEnv(kind);
  });
  afterAll(async () => {
    await env.close();
  });

  test(
    'the audit log lists a just-performed action and filters by action and user',
    async () => {
      const { page } = await env.signIn('admin', '/admin/audit');
      await page.getByRole('heading', { name: 'Audit log', level: 1 }).waitFor();
      // Signing in was audited before the page loaded.
      await page.locator('[data-testid="audit-row"][data-action="auth.login"]').first().waitFor();

      const { id } = await env.t.admin.addNode('Audited edge');
      await page.getByRole('button', { name: 'Refresh' }).click();
      const created = page.locator('[data-testid="audit-row"][data-action="node.create"]');
      await created.waitFor();
      await created.getByRole('link', { name: 'Audited edge' }).waitFor();
      expect(await created.getByRole('link').getAttribute('href')).toBe(`/nodes/${id}`);
      await created.getByText('success').waitFor();
      await created.getByText('"device_type":"edge"').waitFor();

      await page.getByLabel('Action').fill('node.create');
      await page.getByRole('button', { name: 'Apply filters' }).click();
      await page.waitForURL(/action=node\.create/);
      await page.getByTestId('audit-range').getByText('1–1 of 1 · page 1 of 1').waitFor();
      expect(await page.locator('[data-testid="audit-row"]').count()).toBe(1);
      expect(await page.locator('[data-testid="audit-row"]').getAttribute('data-action')).toBe('node.create');

      // A user filter that matches nobody's node.create: an empty state, not an error.
      const viewerId = await env.user('quiet', 'viewer');
      await page.reload();
      await page.getByLabel('User').locator(`option[value="${viewerId}"]`).waitFor({ state: 'attached' });
      await page.getByLabel('User').selectOption(viewerId);
      await page.getByRole('button', { name: 'Apply filters' }).click();
      await page.getByText('No audit records match these filters.').waitFor();

      await page.getByRole('button', { name: 'Clear' }).click();
      await page.locator('[data-testid="audit-row"][data-action="auth.login"]').first().waitFor();
      expect(await page.getByLabel('Action').inputValue()).toBe('');
      await saveScreenshot(page, 'audit');

      // A time window in the future holds nothing.
      await page.getByLabel('From').fill('2099-01-01T00:00');
      await page.getByRole('button', { name: 'Apply filters' }).click();
      await page.getByText('No audit records match these filters.').waitFor();
      await page.getByRole('button', { name: 'Clear' }).click();
    },
    TEST_TIMEOUT_MS
  );

  test(
    'the audit log pages through many records',
    async () => {
      const now = new Date().toISOString();
      await env.t.manager.context
        .db('audit_log')
        .insert(Array.from({ length: 60 }, (_, i) => ({ action: 'test.bulk', outcome: 'success', details: JSON.stringify({ n: i }), created_at: now })));
      const { page } = await env.signIn('admin', '/admin/audit?action=test.bulk');
      const range = page.getByTestId('audit-range');
      await range.getByText('1–50 of 60 · page 1 of 2').waitFor();
      expect(await page.locator('[data-testid="audit-row"][data-action="test.bulk"]').count()).toBe(50);
      expect(await page.getByLabel('Action').inputValue()).toBe('test.bulk');
      await page.getByRole('button', { name: 'Next' }).click();
      await range.getByText('51–60 of 60 · page 2 of 2').waitFor();
      expect(await page.locator('[data-testid="audit-row"]').count()).toBe(10);
      // The oldest ten, newest first.
      await page.locator('[data-testid="audit-row"]').last().getByText('{"n":0}').waitFor();
      expect(await page.getByRole('button', { name: 'Next' }).isDisabled()).toBe(true);
      await page.getByRole('button', { name: 'Previous' }).click();
      await range.getByText('1–50 of 60 · page 1 of 2').waitFor();
    },
    TEST_TIMEOUT_MS
  );

  test(
    'Back and Forward restore the audit filters with the list they filter',
    async () => {
      const { id: adminId } = (await env.t.admin.request('GET', '/api/v1/auth/me')).result as { id: string };
      const { page } = await env.signIn('admin', '/admin/audit');
      await page.locator('[data-testid="audit-row"][data-action="auth.login"]').first().waitFor();
      const action = page.getByLabel('Action');
      const user = page.getByLabel('User');
      await user.locator(`option[value="${adminId}"]`).waitFor({ state: 'attached' });
      /** Waits until the form control shows `value`. */
      const shows = async (control: Locator, value: string) =>
        page.waitForFunction(([el, v]) => (el as HTMLInputElement | HTMLSelectElement).value === v, [await control.elementHandle(), value] as const);

      await action.fill('auth.login');
      await user.selectOption(adminId);
      await page.getByRole('button', { name: 'Apply filters' }).click();
      await page.waitForURL((url) => url.searchParams.get('action') === 'auth.login' && url.searchParams.get('user_id') === adminId);

      await page.goBack();
      await page.waitForURL((url) => url.search === '');
      await shows(action, '');
      await shows(user, '');
      await page.goForward();
      await page.waitForURL((url) => url.searchParams.get('action') === 'auth.login');
      await shows(action, 'auth.login');
      await shows(user, adminId);
    },
    TEST_TIMEOUT_MS
  );

  test(
    'each command shows the role the manager requires: operator at least, whatever the driver declares',
    async () => {
      const { page } = await env.signIn('admin', '/admin/drivers');
      // The driver tables above the device types are in place: no layout shift under the click.
      await page.getByTestId('no-refused').waitFor();
      await page.locator('[data-testid="device-type"][data-device-type="edge"] summary').click();
      const edgeCommands = page.getByRole('table', { name: 'Edge Transport Node commands' });
      // The edge driver declares get_ptp_mode for viewers; the command API still needs an operator.
      const readCommand = edgeCommands.getByRole('row').filter({ has: page.getByRole('cell', { name: 'get_ptp_mode', exact: true }) });
      await readCommand.getByText('operator', { exact: true }).waitFor();
      expect(await edgeCommands.getByText('viewer', { exact: true }).count()).toBe(0);
    },
    TEST_TIMEOUT_MS
  );

  test(
    'the drivers page lists the installed drivers, refused ones and each type’s commands',
    async () => {
      const { page } = await env.signIn('admin', '/admin/drivers');
      await page.getByRole('heading', { name: 'Drivers', level: 1 }).waitFor();
      const installed = page.getByRole('table', { name: 'Installed drivers' });
      for (const [type, name, pkg] of [
        ['edge', 'Edge Transport Node', '@bilbycast/driver-edge'],
        ['relay', 'Relay Server', '@bilbycast/driver-relay'],
        ['appear_x', 'Appear X (via gateway)', '@bilbycast/driver-appear-x']
      ]) {
        const row = installed.locator(`[data-testid="driver-row"][data-device-type="${type}"]`);
        await row.getByText(name, { exact: true }).waitFor();
        await row.getByText(pkg, { exact: true }).waitFor();
      }
      await page.getByTestId('no-refused').getByText('No drivers were refused.').waitFor();

      // Commands per device type, with their descriptions and required roles (the test driver has an admin-only one).
      const testdevTable = page.getByRole('table', { name: 'Test device commands' });
      expect(await testdevTable.isVisible()).toBe(false);
      await page.locator('[data-testid="device-type"][data-device-type="testdev"] summary').click();
      await page.locator('[data-testid="device-type"][data-device-type="edge"] summary').click();
      const testdev = page.getByRole('table', { name: 'Test device commands' });
      const adminOnly = testdev.getByRole('row').filter({ hasText: 'admin_only' });
      await adminOnly.getByText('Needs admin').waitFor();
      await adminOnly.getByText('admin', { exact: true }).waitFor();
      await testdev.getByRole('row').filter({ hasText: 'quick' }).getByText('operator', { exact: true }).waitFor();
      const edgeCommands = page.getByRole('table', { name: 'Edge Transport Node commands' });
      await edgeCommands
        .getByRole('row')
        .filter({ has: page.getByRole('cell', { name: 'stop_flow', exact: true }) })
        .getByText('Stop a flow (persists enabled: false)')
        .waitFor();
      await page.locator('[data-testid="device-type"][data-device-type="edge"] summary').click();
      await edgeCommands.waitFor({ state: 'hidden' });
      await saveScreenshot(page, 'drivers');
    },
    TEST_TIMEOUT_MS
  );

  test(
    'a viewer opening the admin pages sees "Administrators only" and no controls',
    async () => {
      await env.user('vic', 'viewer');
      const { page } = await env.signIn('vic', '/admin/nodes');
      await page.getByRole('heading', { name: 'Nodes', level: 1 }).waitFor();
      await page.getByTestId('admin-only').getByText('Administrators only.').waitFor();
      expect(await page.getByRole('button', { name: 'Add node' }).count()).toBe(0);
      expect(await page.getByRole('table').count()).toBe(0);
      // The navigation does not offer the administration pages either.
      expect(await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).count()).toBe(0);

      for (const [path, title, control] of [
        ['/admin/users', 'Users', 'Add user'],
        ['/admin/audit', 'Audit log', 'Apply filters'],
        ['/admin/drivers', 'Drivers', null]
      ] as const) {
        await page.goto(path);
        await page.getByRole('heading', { name: title, level: 1 }).waitFor();
        await page.getByTestId('admin-only').waitFor();
        if (control) expect(await page.getByRole('button', { name: control }).count()).toBe(0);
        expect(await page.getByRole('table').count()).toBe(0);
      }
    },
    TEST_TIMEOUT_MS
  );
});
