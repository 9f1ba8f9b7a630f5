import { SimulatedDevice } from '@bilbycast/device-simulator';
import { saveScreenshot, testDatabases } from '@bilbycast/tests';
import type { Page } from 'playwright-core';
import { FAST_DEVICE, confirmWithKeyboard, focusIsOn, uiEnv, type UiTestEnv } from './ui-harness';

/** Adds a node through the "Add node" dialog; returns the dialog (still open) and what it shows. */
async function addNodeInUi(page: Page, name: string, deviceType = 'edge') {
  await page.getByRole('button', { name: 'Add node' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add node' });
  await dialog.getByLabel('Name', { exact: true }).fill(name);
  await dialog.getByLabel('Description').fill(`${name} — added in the UI test`);
  await dialog.getByLabel('Device type').selectOption(deviceType);
  await dialog.getByRole('button', { name: 'Add node' }).click();
  const shown = page.getByRole('dialog', { name: 'Registration token' });
  const token = (await shown.getByTestId('registration-token').textContent())!;
  const id = (await shown.getByTestId('node-id').textContent())!;
  return { dialog: shown, token, id };
}

/** Many browser steps and password hashing: room for a busy machine (the default is 30 s). */
const TEST_TIMEOUT_MS = 60_000;

describe.each(testDatabases().slice(0, 1))('UI: managed nodes administration (%s)', (kind) => {
  let env: UiTestEnv;

  beforeAll(async () => {
    env = await uiEnv(kind);
  });
  afterAll(async () => {
    await env.close();
  });

  test(
    '2. add a node in the UI; a device registers with the token shown and turns online without a reload',
    async () => {
      const { page } = await env.signIn('admin', '/admin/nodes');
      await page.getByRole('heading', { name: 'Nodes', level: 1 }).waitFor();
      await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 7));

      const { dialog, token, id } = await addNodeInUi(page, 'Studio edge');
      expect(token).toMatch(/^[0-9a-f-]{36}$/);
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      // The token is said to be single-use and expiring; the config lines carry it and this host's URL.
      await dialog.getByText(/shown only once/).waitFor();
      const snippet = (await dialog.getByTestId('config-snippet').textContent())!;
      expect(snippet).toContain(`"registration_token": "${token}"`);
      expect(snippet).toContain(`"ws://${new URL(env.t.baseUrl).host}/ws/node"`);
      expect(snippet).toContain('"enabled": true');
      await dialog.getByText(/only connect over/).waitFor();

      const row = page.locator(`[data-testid="node-row"][data-node-id="${id}"]`);
      await row.waitFor();
      expect(await row.getAttribute('data-status')).toBe('pending');
      // The server has the node, waiting for its registration.
      const listed = (await env.t.admin.request('GET', `/api/v1/nodes/${id}`)).result as { name: string; registration_pending: boolean };
      expect(listed).toMatchObject({ name: 'Studio edge', registration_pending: true });

      const device = new SimulatedDevice({ url: env.t.nodeUrl, kind: 'edge', registration_token: token, ...FAST_DEVICE });
      env.devices.push(device);
      device.start();
      await page.locator(`[data-testid="node-row"][data-node-id="${id}"][data-status="online"]`).waitFor();
      await row.getByRole('cell', { name: '0.106.0' }).waitFor();
      expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(7);

      await dialog.getByRole('button', { name: 'Done' }).click();
      await dialog.waitFor({ state: 'hidden' });
      await saveScreenshot(page, 'nodes');

      // Search by name and by status.
      const search = page.getByLabel('Search');
      await search.fill('no such node');
      await row.waitFor({ state: 'detached' });
      await search.fill('online');
      await row.waitFor();
      await search.fill('');
    },
    TEST_TIMEOUT_MS
  );

  test(
    'regenerating the token disconnects the node; the new token registers it again',
    async () => {
      const { page } = await env.signIn('admin', '/admin/nodes');
      const { id, device } = await env.simulate('Token edge');
      const online = page.locator(`[data-testid="node-row"][data-node-id="${id}"][data-status="online"]`);
      await online.waitFor();

      await page.getByRole('button', { name: 'Regenerate token for Token edge' }).click();
      const confirm = page.getByRole('dialog', { name: 'Regenerate registration token' });
      await confirm.getByText(/disconnected/).waitFor();
      await confirm.getByText(/revoked/).waitFor();
      await confirm.getByRole('button', { name: 'Regenerate token' }).click();

      const shown = page.getByRole('dialog', { name: 'Registration token' });
      const token = (await shown.getByTestId('registration-token').textContent())!;
      expect(await shown.getByTestId('node-id').textContent()).toBe(id);
      expect(token).toMatch(/^[0-9a-f-]{36}$/);
      // Disconnected: the row leaves "online" without a reload, and the device's old secret is refused.
      await page.locator(`[data-testid="node-row"][data-node-id="${id}"][data-status="pending"]`).waitFor();
      await device.stop();

      const again = new SimulatedDevice({ url: env.t.nodeUrl, kind: 'edge', registration_token: token, ...FAST_DEVICE });
      env.devices.push(again);
      again.start();
      await online.waitFor();
      await shown.getByRole('button', { name: 'Done' }).click();
    },
    TEST_TIMEOUT_MS
  );

  test(
    'delete asks for confirmation, warns, and removes the node from the table',
    async () => {
      const { page } = await env.signIn('admin', '/admin/nodes');
      const { id } = await env.simulate('Doomed relay', { kind: 'relay' });
      const row = page.locator(`[data-testid="node-row"][data-node-id="${id}"]`);
      await page.locator(`[data-testid="node-row"][data-node-id="${id}"][data-status="online"]`).waitFor();

      await page.getByRole('button', { name: 'Delete Doomed relay' }).click();
      const confirm = page.getByRole('dialog', { name: 'Delete node' });
      await confirm.getByText(/disconnected/).waitFor();
      await confirm.getByText(/all its events/).waitFor();
      // Cancel keeps it.
      await confirm.getByRole('button', { name: 'Cancel' }).click();
      await confirm.waitFor({ state: 'hidden' });
      expect(await row.count()).toBe(1);

      await page.getByRole('button', { name: 'Delete Doomed relay' }).click();
      await confirm.getByRole('button', { name: 'Delete node' }).click();
      await row.waitFor({ state: 'detached' });
      await page.getByRole('status').getByText('Node “Doomed relay” deleted.').waitFor();
      expect((await env.t.admin.request('GET', `/api/v1/nodes/${id}`)).statusCode).toBe(404);
    },
    TEST_TIMEOUT_MS
  );

  test(
    'deleting a node with the keyboard leaves focus on the page heading, not the page body',
    async () => {
      const { page } = await env.signIn('admin', '/admin/nodes');
      const { id } = await env.t.admin.addNode('Keyboard edge', 'edge');
      const row = page.locator(`[data-testid="node-row"][data-node-id="${id}"]`);
      await row.waitFor();

      await confirmWithKeyboard(page, page.getByRole('button', { name: 'Delete Keyboard edge' }), 'Delete node', 'Delete node');
      await row.waitFor({ state: 'detached' });
      await page.getByRole('status').getByText('Node “Keyboard edge” deleted.').waitFor();
      await focusIsOn(page, page.getByRole('heading', { name: 'Nodes', level: 1 }));
      // The keyboard carries on from the top of the list.
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Add node');
    },
    TEST_TIMEOUT_MS
  );

  test(
    'bad input shows the server’s message and code; edit changes name and expiry; past expiry shows Expired',
    async () => {
      const { page } = await env.signIn('admin', '/admin/nodes');
      const before = ((await env.t.admin.request('GET', '/api/v1/nodes')).result as unknown[]).length;
      await page.getByRole('button', { name: 'Add node' }).click();
      const dialog = page.getByRole('dialog', { name: 'Add node' });
      await dialog.getByLabel('Name', { exact: true }).fill('   ');
      await dialog.getByRole('button', { name: 'Add node' }).click();
      const alert = dialog.getByRole('alert');
      await alert.getByText('"name" is not allowed to be empty').first().waitFor();
      expect(await alert.locator('.error-code').textContent()).toBe('validation_error');
      // Nothing was created.
      expect(((await env.t.admin.request('GET', '/api/v1/nodes')).result as unknown[]).length).toBe(before);
      await dialog.getByRole('button', { name: 'Cancel' }).click();

      const { id } = await env.t.admin.addNode('Edit me', 'appear_x');
      const row = page.locator(`[data-testid="node-row"][data-node-id="${id}"]`);
      await row.waitFor();
      await page.getByRole('button', { name: 'Edit Edit me' }).click();
      const edit = page.getByRole('dialog', { name: 'Edit Edit me' });
      // A past expiry is refused by the server, with its message.
      await edit.getByLabel('Expires').fill('2001-01-01T10:00');
      await edit.getByRole('button', { name: 'Save' }).click();
      await edit.getByRole('alert').getByText('"expires_at" must be in the future').first().waitFor();
      await edit.getByLabel('Name', { exact: true }).fill('Edited gateway');
      await edit.getByLabel('Expires').fill('2099-06-01T12:00');
      await edit.getByRole('button', { name: 'Save' }).click();
      await row.getByRole('link', { name: 'Edited gateway' }).waitFor();
      const saved = (await env.t.admin.request('GET', `/api/v1/nodes/${id}`)).result as { name: string; expires_at: string };
      expect(saved.name).toBe('Edited gateway');
      expect(saved.expires_at.startsWith('2099-06-01')).toBe(true);
      expect(await row.locator('.badge.expired').count()).toBe(0);

      // A node whose expiry has passed (set behind the API's back) carries the Expired badge.
      await env.t.manager.context.db('nodes').where({ id }).update({ expires_at: '2020-01-01T00:00:00.000Z' });
      await page.reload();
      await row.getByText('Expired').waitFor();
      await page.getByLabel('Search').fill('expired');
      await row.waitFor();
      expect(await page.locator('[data-testid="node-row"]').count()).toBe(1);
    },
    TEST_TIMEOUT_MS
  );
});
