import { saveScreenshot, testDatabases } from '@bilbycast/tests';
import type { Page } from 'playwright-core';
import { confirmWithKeyboard, focusIsOn, uiEnv, type UiTestEnv } from './ui-harness';

interface ApiUser {
  id: string;
  username: string;
  role: string;
  is_active: boolean;
  allowed_node_ids: string[] | null;
}

/** Many browser steps and password hashing: room for a busy machine (the default is 30 s). */
const TEST_TIMEOUT_MS = 60_000;

describe.each(testDatabases().slice(0, 1))('UI: user administration (%s)', (kind) => {
  let env: UiTestEnv;
  let studioA: string;

  const users = async () => (await env.t.admin.request('GET', '/api/v1/users')).result as ApiUser[];
  const openCreate = async (page: Page) => {
    await page.getByRole('button', { name: 'Add user' }).click();
    return page.getByRole('dialog', { name: 'Add user' });
  };

  beforeAll(async () => {
    env = await uiEnv(kind);
    studioA = (await env.t.admin.addNode('Studio A')).id;
    await env.t.admin.addNode('Studio B');
  });
  afterAll(async () => {
    await env.close();
  });

  test(
    'create an operator limited to one node, then change the role',
    async () => {
      const { page } = await env.signIn('admin', '/admin/users');
      await page.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
      const dialog = await openCreate(page);
      await dialog.getByLabel('Username').fill('olivia');
      await dialog.getByLabel('Password', { exact: true }).fill('Str0ngPassword');
      await dialog.getByLabel('Display name').fill('Olivia Operator');
      await dialog.getByLabel('Email').fill('olivia@example.com');
      await dialog.getByLabel('Role').selectOption('operator');
      await dialog.getByLabel('Only selected nodes').check();
      await dialog.getByRole('group', { name: 'Allowed nodes' }).getByLabel('Studio A').check();
      await dialog.getByRole('button', { name: 'Create user' }).click();

      const row = page.locator('[data-testid="user-row"][data-username="olivia"]');
      await row.waitFor();
      await dialog.waitFor({ state: 'hidden' });
      expect(await row.getByTestId('user-role').textContent()).toBe('Operator');
      expect(await row.getByTestId('user-access').textContent()).toBe('Studio A');
      await row.getByText('Olivia Operator').waitFor();
      const created = (await users()).find((u) => u.username === 'olivia')!;
      expect(created).toMatchObject({ role: 'operator', is_active: true, allowed_node_ids: [studioA] });

      await page.getByRole('button', { name: 'Edit olivia' }).click();
      const edit = page.getByRole('dialog', { name: 'Edit olivia' });
      await edit.getByLabel('Role').selectOption('viewer');
      await edit.getByLabel('All nodes').check();
      await edit.getByRole('button', { name: 'Save' }).click();
      await row.getByTestId('user-role').getByText('Viewer').waitFor();
      expect(await row.getByTestId('user-access').textContent()).toBe('All nodes');
      expect((await users()).find((u) => u.username === 'olivia')).toMatchObject({ role: 'viewer', allowed_node_ids: null });
      await saveScreenshot(page, 'users');
    },
    TEST_TIMEOUT_MS
  );

  test(
    'an admin limited to some nodes is offered access within them only, and sees only the users within them',
    async () => {
      await env.user('studio-admin', 'admin', { allowed_node_ids: JSON.stringify([studioA]) });
      await env.user('everywhere', 'operator');
      const { page } = await env.signIn('studio-admin', '/admin/users');
      await page.locator('[data-testid="user-row"][data-username="studio-admin"]').waitFor();
      // Users who reach further are not listed at all (the server does not send them).
      expect(await page.locator('[data-testid="user-row"][data-username="everywhere"]').count()).toBe(0);
      expect(await page.locator('[data-testid="user-row"][data-username="admin"]').count()).toBe(0);

      const dialog = await openCreate(page);
      expect(await dialog.getByLabel('All nodes').isDisabled()).toBe(true);
      expect(await dialog.getByLabel('Only selected nodes').isChecked()).toBe(true);
      const choices = dialog.getByRole('group', { name: 'Allowed nodes' });
      // Only the nodes it can reach are listed.
      expect(await choices.getByRole('checkbox').count()).toBe(1);
      await dialog.getByLabel('Username').fill('studio-viewer');
      await dialog.getByLabel('Password', { exact: true }).fill('Str0ngPassword');
      await choices.getByLabel('Studio A').check();
      await dialog.getByRole('button', { name: 'Create user' }).click();
      await page.locator('[data-testid="user-row"][data-username="studio-viewer"]').waitFor();
      expect((await users()).find((u) => u.username === 'studio-viewer')).toMatchObject({ allowed_node_ids: [studioA] });
      // Within its nodes it manages users as any admin.
      expect(await page.getByRole('button', { name: 'Edit studio-viewer' }).isDisabled()).toBe(false);
    },
    TEST_TIMEOUT_MS
  );

  test(
    'a weak password shows the policy problems; nothing is created',
    async () => {
      const { page } = await env.signIn('admin', '/admin/users');
      const dialog = await openCreate(page);
      await dialog.getByLabel('Username').fill('weakling');
      await dialog.getByLabel('Password', { exact: true }).fill('short');
      await dialog.getByRole('button', { name: 'Create user' }).click();
      const alert = dialog.getByRole('alert');
      await alert.getByText(/^Password rejected:/).waitFor();
      expect(await alert.locator('.error-code').textContent()).toBe('weak_password');
      await dialog
        .getByTestId('error-explain')
        .getByText(/Choose a stronger password/)
        .waitFor();
      expect((await users()).some((u) => u.username === 'weakling')).toBe(false);
    },
    TEST_TIMEOUT_MS
  );

  test(
    'an admin cannot create a super_admin: not offered, and the server’s refusal is shown',
    async () => {
      const { page } = await env.signIn('admin', '/admin/users');
      const dialog = await openCreate(page);
      const role = dialog.getByLabel('Role');
      expect(await role.locator('option').evaluateAll((options) => options.map((o) => (o as HTMLOptionElement).value))).toEqual([
        'viewer',
        'operator',
        'admin'
      ]);
      // A stale or crafted form still asks for it: the server refuses with its own message.
      await role.evaluate((select) => select.append(new Option('Super admin', 'super_admin')));
      await role.selectOption('super_admin');
      await dialog.getByLabel('Username').fill('wannabe');
      await dialog.getByLabel('Password', { exact: true }).fill('Str0ngPassword');
      await dialog.getByRole('button', { name: 'Create user' }).click();
      const alert = dialog.getByRole('alert');
      await alert.getByText('You cannot grant the super_admin role, which is above your own (admin)').waitFor();
      expect(await alert.locator('.error-code').textContent()).toBe('role_above_own');
      expect((await users()).some((u) => u.username === 'wannabe')).toBe(false);
    },
    TEST_TIMEOUT_MS
  );

  test(
    'your own account cannot be deleted: not offered, and disabling it is refused with a clear message; deleting another user works',
    async () => {
      await env.user('leaver', 'viewer');
      const { page } = await env.signIn('admin', '/admin/users');
      const own = page.locator('[data-testid="user-row"][data-username="admin"]');
      await own.getByText('you', { exact: true }).waitFor();
      expect(await page.getByRole('button', { name: 'Delete admin' }).isDisabled()).toBe(true);
      expect(await own.getByTestId('user-locked').textContent()).toBe('You cannot delete or disable your own account. Ask another administrator.');

      // The server enforces it: disabling yourself through Edit is refused.
      await page.getByRole('button', { name: 'Edit admin' }).click();
      const edit = page.getByRole('dialog', { name: 'Edit admin' });
      await edit.getByLabel('Active (may sign in)').uncheck();
      await edit.getByRole('button', { name: 'Save' }).click();
      const alert = edit.getByRole('alert');
      await alert.getByText('You cannot disable your own account').waitFor();
      expect(await alert.locator('.error-code').textContent()).toBe('cannot_modify_self');
      await edit
        .getByTestId('error-explain')
        .getByText(/Ask another administrator/)
        .waitFor();
      expect((await users()).find((u) => u.username === 'admin')!.is_active).toBe(true);
      await edit.getByRole('button', { name: 'Cancel' }).click();

      const row = page.locator('[data-testid="user-row"][data-username="leaver"]');
      expect(await row.getByTestId('user-locked').count()).toBe(0);
      // With the keyboard: focus lands on the page heading, not the body, once the row is gone.
      await confirmWithKeyboard(page, page.getByRole('button', { name: 'Delete leaver' }), 'Delete user', 'Delete user');
      await row.waitFor({ state: 'detached' });
      await focusIsOn(page, page.getByRole('heading', { name: 'Users', level: 1 }));
      expect((await users()).some((u) => u.username === 'leaver')).toBe(false);
    },
    TEST_TIMEOUT_MS
  );

  test(
    'an admin cannot change or delete a super_admin: not offered, and a page from before a promotion gets the server’s refusal',
    async () => {
      const bossId = await env.user('boss', 'admin');
      const { page } = await env.signIn('admin', '/admin/users');
      await page.getByRole('button', { name: 'Edit boss' }).click();
      const edit = page.getByRole('dialog', { name: 'Edit boss' });
      await edit.getByLabel('Role').selectOption('operator');
      // Promoted elsewhere while the dialog is open.
      await env.t.manager.context.db('users').where({ id: bossId }).update({ role: 'super_admin' });
      await edit.getByRole('button', { name: 'Save' }).click();
      const alert = edit.getByRole('alert');
      await alert.getByText('Only a super_admin may change or delete a super_admin').waitFor();
      expect(await alert.locator('.error-code').textContent()).toBe('super_admin_required');
      expect((await users()).find((u) => u.username === 'boss')!.role).toBe('super_admin');
      await edit.getByRole('button', { name: 'Cancel' }).click();

      await page.reload();
      const row = page.locator('[data-testid="user-row"][data-username="boss"]');
      await row.getByTestId('user-role').getByText('Super admin').waitFor();
      expect(await page.getByRole('button', { name: 'Edit boss' }).isDisabled()).toBe(true);
      expect(await page.getByRole('button', { name: 'Delete boss' }).isDisabled()).toBe(true);
      expect(await row.getByTestId('user-locked').textContent()).toBe('Only a super admin can change or delete a super admin.');
    },
    TEST_TIMEOUT_MS
  );

  test(
    'the last super_admin cannot step down; a super_admin is offered the super_admin role',
    async () => {
      const { page } = await env.signIn('boss', '/admin/users');
      const create = await openCreate(page);
      await create.getByLabel('Role').locator('option[value="super_admin"]').waitFor({ state: 'attached' });
      await create.getByRole('button', { name: 'Cancel' }).click();

      await page.getByRole('button', { name: 'Edit boss' }).click();
      const edit = page.getByRole('dialog', { name: 'Edit boss' });
      await edit.getByLabel('Role').selectOption('admin');
      await edit.getByRole('button', { name: 'Save' }).click();
      const alert = edit.getByRole('alert');
      await alert.getByText('The last active super_admin cannot be deleted, disabled, demoted or given an expiry').waitFor();
      expect(await alert.locator('.error-code').textContent()).toBe('last_super_admin');
      await edit
        .getByTestId('error-explain')
        .getByText(/promote someone else first/)
        .waitFor();
      expect((await users()).find((u) => u.username === 'boss')!.role).toBe('super_admin');
    },
    TEST_TIMEOUT_MS
  );
});
