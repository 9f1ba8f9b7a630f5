import { saveScreenshot, testDatabases } from '@bilbycast/tests';
import { request, type Page, type WebSocketRoute } from 'playwright-core';
import { currentTotp } from '../../../plugins/auth/src/services/totp';
import { PASSWORD, uiEnv, type UiTestEnv } from './ui-harness';

const STEP_MS = 30_000;

describe.each(testDatabases().slice(0, 1))('UI: my account (%s)', (kind) => {
  let env: UiTestEnv;

  /** Signed in on `path`; a UI state that never comes fails in 10 s, naming the locator. */
  async function open(username: string, path = '/account'): Promise<Page> {
    const { page } = await env.signIn(username, path);
    page.setDefaultTimeout(10_000);
    if (path === '/account') await page.getByRole('heading', { name: 'My account' }).waitFor();
    return page;
  }

  beforeAll(async () => {
    // Feeds are rechecked every second, so a feed whose session ended closes promptly.
    env = await uiEnv(kind, { dashboard_revalidate_secs: 1 });
    for (const name of ['mfa-user', 'token-user', 'password-user', 'session-user', 'profile-user', 'email-user', 'expiry-user'])
      await env.user(name, 'operator');
  });
  afterAll(async () => {
    await env.close();
  });

  test('6. enrol MFA from the QR secret, see the recovery codes once, then sign in with a code', async () => {
    const page = await open('mfa-user');
    const mfa = page.getByRole('region', { name: 'Two-factor authentication' });
    expect(await mfa.getByTestId('mfa-status').textContent()).toBe('Off');
    await mfa.getByRole('button', { name: 'Set up authenticator app' }).click();

    // The QR code is an image (an SVG data: URL, allowed by the CSP) that actually renders.
    const qr = mfa.getByRole('img', { name: 'QR code for your authenticator app' });
    await qr.waitFor();
    await page.waitForFunction((img) => img instanceof HTMLImageElement && img.complete && img.naturalWidth > 0, await qr.elementHandle());
    const secret = ((await mfa.getByTestId('totp-secret').textContent()) ?? '').trim();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(await mfa.getByRole('link', { name: 'Open in authenticator app' }).getAttribute('href')).toContain(`secret=${secret}`);
    await saveScreenshot(page, 'account');

    const enrolmentCode = await currentTotp(secret);
    await mfa.getByLabel('Code from your app').fill(enrolmentCode);
    await mfa.getByRole('button', { name: 'Enable two-factor sign-in' }).click();

    const codesRegion = page.getByRole('region', { name: 'Recovery codes' });
    await codesRegion.waitFor();
    await codesRegion.getByText('they will not be shown again').waitFor();
    const codes = await codesRegion.getByTestId('recovery-codes').locator('li').allTextContents();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    await mfa.getByTestId('mfa-status').getByText('On').waitFor();
    expect(await codesRegion.getByRole('button', { name: /Copy all/ }).count()).toBe(1);

    // Shown once: dismissed, and not there after a reload either.
    await codesRegion.getByRole('button', { name: 'I have saved them' }).click();
    await codesRegion.waitFor({ state: 'detached' });
    await page.reload();
    await mfa.getByTestId('mfa-status').getByText('On').waitFor();
    expect(await page.getByRole('region', { name: 'Recovery codes' }).count()).toBe(0);
    expect(await page.content()).not.toContain(codes[0]);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL((url) => url.pathname === '/login');
    // A plain sign-in (the sign-out may leave ?next=/account, which would bring us back here).
    await page.goto('/login');
    await page.getByLabel('Username').fill('mfa-user');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const codeForm = page.getByRole('form', { name: 'Verification code' });
    await codeForm.waitFor();

    // The server accepts each TOTP time step once (plugins/auth/src/services/mfa.ts stores the
    // last used step): the enrolment's code is refused now, whatever the clock says...
    await codeForm.getByLabel('Code').fill(enrolmentCode);
    await codeForm.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('alert').getByText('That code is not valid').waitFor();
    // ...and a fresh code is the next step's: always later than the enrolment's step, and
    // within the ±1 step of clock drift the server allows, so no waiting for the next 30 s.
    await codeForm.getByLabel('Code').fill(await currentTotp(secret, new Date(Date.now() + STEP_MS)));
    await codeForm.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL((url) => url.pathname === '/');
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();

    // New recovery codes, proven with the password and a recovery code (single use, so no clock
    // either): the old ones stop working.
    await page.getByRole('link', { name: 'My account' }).click();
    await mfa.getByTestId('mfa-status').getByText('On').waitFor();
    const change = mfa.getByRole('form', { name: 'Change two-factor sign-in' });
    await change.getByTestId('recovery-codes-left').getByText('10 unused recovery codes left.').waitFor();
    await change.getByLabel('Your password').fill(PASSWORD);
    await change.getByLabel('Authenticator or recovery code').fill(codes[2]);
    await change.getByRole('button', { name: 'New recovery codes' }).click();
    const freshList = mfa.getByRole('region', { name: 'Recovery codes' }).getByTestId('recovery-codes');
    await freshList.waitFor();
    const fresh = (await freshList.locator('code').allTextContents()).map((c) => c.trim());
    expect(fresh).toHaveLength(10);
    expect(fresh).not.toContain(codes[3]);
    await change.getByTestId('recovery-codes-left').getByText('10 unused recovery codes left.').waitFor();

    // Disable with the password and a recovery code: an old one is refused, a new one works.
    await change.getByLabel('Your password').fill(PASSWORD);
    await change.getByLabel('Authenticator or recovery code').fill(codes[3]);
    await change.getByRole('button', { name: 'Disable two-factor sign-in' }).click();
    await mfa.getByRole('alert').getByText('The code is not valid').waitFor();
    await change.getByLabel('Your password').fill(PASSWORD);
    await change.getByLabel('Authenticator or recovery code').fill(fresh[0]);
    await change.getByRole('button', { name: 'Disable two-factor sign-in' }).click();
    await mfa.getByTestId('mfa-status').getByText('Off').waitFor();
    const status = (await env.t.admin.request('GET', '/api/v1/users')).result as { username: string; mfa_enabled: boolean }[];
    expect(status.find((u) => u.username === 'mfa-user')?.mfa_enabled).toBe(false);
  });

  test('a weak new password shows the policy problems', async () => {
    const page = await open('password-user');
    const form = page.getByRole('form', { name: 'Change password' });
    await form.getByLabel('Current password').fill(PASSWORD);
    await form.getByLabel('New password', { exact: true }).fill('short');
    await form.getByLabel('Confirm new password').fill('short');
    await form.getByRole('button', { name: 'Change password' }).click();
    await form.getByRole('alert').getByText('weak_password').waitFor();
    const problems = form.getByRole('list', { name: 'Password policy problems' });
    await problems.getByText('must be at least 8 characters').waitFor();
    await problems.getByText('must contain an upper-case letter').waitFor();
    await problems.getByText('must contain a digit').waitFor();

    // A wrong current password: the server's message and code.
    await form.getByLabel('Current password').fill('Not-the-password1');
    await form.getByLabel('New password', { exact: true }).fill('Better-Passw0rd');
    await form.getByLabel('Confirm new password').fill('Better-Passw0rd');
    await form.getByRole('button', { name: 'Change password' }).click();
    await form.getByRole('alert').getByText('The current password is not correct').waitFor();
    expect(await form.getByRole('alert').getByText('wrong_password').count()).toBe(1);
  });

  test('a successful password change signs out the other sessions; this one goes on without a reload', async () => {
    const other = await open('password-user', '/events');
    const page = await open('password-user');
    await page.locator('.feed-status.feed-connected').waitFor();
    await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 1));
    // The old session ends (and its live feed closes, 4401) before the response carrying the new
    // session cookie arrives. Hold that response until the feed has noticed, so the UI's "am I
    // still signed in?" check always meets the race: it must wait for the write, not sign out.
    // (Sent from a separate request context: the page's own would store the new cookie at once.)
    const outside = await request.newContext();
    await page.route('**/api/v1/auth/change-password', async (route) => {
      const sent = route.request();
      const response = await outside.fetch(sent.url(), { method: sent.method(), headers: await sent.allHeaders(), data: sent.postDataBuffer() ?? undefined });
      await page.locator('.feed-status.feed-reconnecting').waitFor();
      await route.fulfill({ response });
    });
    const form = page.getByRole('form', { name: 'Change password' });
    await form.getByLabel('Current password').fill(PASSWORD);
    await form.getByLabel('New password', { exact: true }).fill('Better-Passw0rd');
    await form.getByLabel('Confirm new password').fill('Better-Passw0rd');
    await form.getByRole('button', { name: 'Change password' }).click();
    await form
      .getByRole('status')
      .getByText(/Password changed\. \d+ other sessions? (was|were) signed out\./)
      .waitFor();
    // The feed reconnects with the fresh session: no reload, no login page.
    await page.locator('.feed-status.feed-connected').waitFor();
    await page.unrouteAll();
    await outside.dispose();
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(1);
    expect(new URL(page.url()).pathname).toBe('/account');
    // This session goes on; the other one is back at the login page.
    await page.reload();
    await page.getByRole('heading', { name: 'My account' }).waitFor();
    await other.reload();
    await other.waitForURL((url) => url.pathname === '/login');
  });

  test('an API token is shown once, works as a Bearer token, and revoking it ends it', async () => {
    const page = await open('token-user');
    const tokens = page.getByRole('region', { name: 'API tokens' });
    await tokens.getByText('You have no API tokens.').waitFor();
    const form = tokens.getByRole('form', { name: 'Create API token' });
    await form.getByLabel('Token name').fill('ci script');
    await form.getByLabel('Role cap').selectOption('viewer');
    await form.getByRole('button', { name: 'Create token' }).click();

    const created = tokens.getByRole('region', { name: 'New API token' });
    await created.getByText('it will not be shown again').waitFor();
    const token = ((await created.getByTestId('token-secret').textContent()) ?? '').trim();
    expect(token).toMatch(/^bct_/);
    const row = tokens.locator('[data-testid="token-row"]', { hasText: 'ci script' });
    await row.waitFor();
    expect(await row.getByText('viewer').count()).toBe(1);

    // The token works from outside the browser, with its owner's identity, capped at viewer.
    const bearer = { authorization: `Bearer ${token}` };
    const me = await fetch(`${env.t.baseUrl}/api/v1/auth/me`, { headers: bearer });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { username: string }).username).toBe('token-user');
    const ack = await fetch(`${env.t.baseUrl}/api/v1/events/ack`, {
      method: 'POST',
      headers: { ...bearer, 'content-type': 'application/json' },
      body: JSON.stringify({ ids: [1] })
    });
    expect(ack.status).toBe(403);

    // Shown once: after Done and a reload, only the prefix is left.
    await created.getByRole('button', { name: 'Done' }).click();
    await created.waitFor({ state: 'detached' });
    await page.reload();
    await row.waitFor();
    expect(await page.content()).not.toContain(token);

    await row.getByRole('button', { name: 'Revoke token ci script' }).click();
    const dialog = page.getByRole('dialog', { name: 'Revoke API token' });
    await dialog.getByRole('button', { name: 'Revoke token' }).click();
    await row.waitFor({ state: 'detached' });
    await tokens.getByText('You have no API tokens.').waitFor();
    expect((await fetch(`${env.t.baseUrl}/api/v1/auth/me`, { headers: bearer })).status).toBe(401);
  });

  test('a token’s “expired” mark appears the moment the token expires', async () => {
    const page = await open('expiry-user');
    const tokens = page.getByRole('region', { name: 'API tokens' });
    const form = tokens.getByRole('form', { name: 'Create API token' });
    // Two hours ahead, on a whole minute (the field's precision), in the browser's time zone.
    const expiresAt = Math.ceil((Date.now() + 2 * 3_600_000) / 60_000) * 60_000;
    const local = await page.evaluate((ms) => {
      const at = new Date(ms);
      const two = (n: number) => String(n).padStart(2, '0');
      return `${at.getFullYear()}-${two(at.getMonth() + 1)}-${two(at.getDate())}T${two(at.getHours())}:${two(at.getMinutes())}`;
    }, expiresAt);
    await form.getByLabel('Token name').fill('nightly');
    await form.getByLabel('Expires').fill(local);
    await form.getByRole('button', { name: 'Create token' }).click();
    const row = tokens.locator('[data-testid="token-row"]', { hasText: 'nightly' });
    await row.waitFor();

    // The page's clock 45 s before the expiry: not expired; 46 s later it is, with no reload.
    await page.clock.install({ time: expiresAt - 45_000 });
    await page.reload();
    await row.waitFor();
    expect(await row.locator('.expired').count()).toBe(0);
    await page.clock.runFor(46_000);
    await row.locator('.expired').getByText('expired').waitFor();
  });

  test('the sessions list marks the current session and ends the others', async () => {
    const other = await open('session-user', '/events');
    const page = await open('session-user');
    const sessions = page.getByRole('region', { name: 'Active sessions' });
    const current = sessions.locator('[data-testid="session-row"][data-current="true"]');
    await current.getByText('This session').waitFor();
    expect(await current.count()).toBe(1);
    const others = sessions.locator('[data-testid="session-row"][data-current="false"]');
    expect(await others.count()).toBe(1);

    await others.getByRole('button', { name: 'End session' }).click();
    await sessions.getByText('Ended 1 session.').waitFor();
    await others.first().waitFor({ state: 'detached' });
    expect(await sessions.getByRole('button', { name: 'End all other sessions' }).isDisabled()).toBe(true);
    await other.reload();
    await other.waitForURL((url) => url.pathname === '/login');
  });

  test('emptying the display name is refused, not reported as saved; a new name is saved', async () => {
    const page = await open('profile-user');
    const profile = page.getByRole('form', { name: 'Profile' });
    await profile.getByLabel('Display name').fill('  ');
    await profile.getByRole('button', { name: 'Save profile' }).click();
    await profile.getByRole('alert').getByText('The display name cannot be empty. Enter a name to save the profile.').waitFor();
    expect(await profile.getByRole('status').count()).toBe(0);

    await profile.getByLabel('Display name').fill('Pat Profile');
    await profile.getByRole('button', { name: 'Save profile' }).click();
    await profile.getByRole('status').getByText('Profile saved.').waitFor();
    expect(await profile.getByRole('alert').count()).toBe(0);
    const stored = (await env.t.admin.request('GET', '/api/v1/users')).result as { username: string; display_name: string }[];
    expect(stored.find((u) => u.username === 'profile-user')?.display_name).toBe('Pat Profile');
  });

  test('a new email asks for the current password once the sign-in is no longer recent', async () => {
    const page = await open('email-user');
    const profile = page.getByRole('form', { name: 'Profile' });
    expect(await profile.getByLabel('Current password').count()).toBe(0);
    // The sign-in is made older than ten minutes.
    const userId = (await env.t.manager.context.db('users').where({ username: 'email-user' }).first()).id;
    await env.t.manager.context
      .db('auth_sessions')
      .where({ user_id: userId })
      .update({ created_at: new Date(Date.now() - 11 * 60_000).toISOString() });
    await profile.getByLabel('Email').fill('someone@example.com');
    await profile.getByRole('button', { name: 'Save profile' }).click();
    await profile
      .getByRole('alert')
      .getByText(/Enter your current password/)
      .waitFor();
    await profile.getByLabel('Current password').fill(PASSWORD);
    await profile.getByRole('button', { name: 'Save profile' }).click();
    await profile.getByRole('status').getByText('Profile saved.').waitFor();
    expect((await env.t.manager.context.db('users').where({ id: userId }).first()).email).toBe('someone@example.com');
  });

  describe('signing out', () => {
    let userId: string;
    beforeAll(async () => {
      userId = await env.user('leaving-user', 'operator');
    });

    /**
     * Signed in on /account with everything loaded (a later request would meet the ended session
     * first), recording the page's uncaught errors (unhandled promise rejections included).
     */
    async function openRecording(options: { keepFeedOpen?: boolean } = {}): Promise<{ page: Page; errors: Error[] }> {
      const page = await open('leaving-user');
      if (options.keepFeedOpen) {
        // The feed's own re-check (every second here) would close it on the ended session and sign
        // the page out before the test's click: the page never hears the server close it.
        await page.routeWebSocket('**/ws/dashboard', (ws: WebSocketRoute) => ws.connectToServer().onClose(() => undefined));
        await page.reload();
      }
      await page.getByRole('region', { name: 'API tokens' }).getByText('You have no API tokens.').waitFor();
      await page.getByRole('region', { name: 'Active sessions' }).getByText('This session').waitFor();
      const errors: Error[] = [];
      page.on('pageerror', (err) => errors.push(err));
      return { page, errors };
    }

    /** A request from the page, answered after everything the page was already doing. */
    const settled = (page: Page) => page.evaluate(async () => (await fetch('/api/v1/auth/oidc/status')).text());

    const revokeSessions = () => env.t.manager.context.db('auth_sessions').where({ user_id: userId }).delete();

    test('after the session was ended elsewhere still lands on the login page, without errors', async () => {
      const { page, errors } = await openRecording({ keepFeedOpen: true });
      await revokeSessions();
      const logout = page.waitForResponse((res) => res.url().endsWith('/api/v1/auth/logout'));
      await page.getByRole('button', { name: 'Sign out' }).click();
      expect((await logout).status()).toBe(401);
      await page.waitForURL((url) => url.pathname === '/login');
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
      await settled(page);
      expect(errors).toEqual([]);
      // The session did end: nothing to warn about.
      expect(await page.getByRole('alert').count()).toBe(0);
    });

    test('when the manager cannot be reached says the session may still be active', async () => {
      const { page, errors } = await openRecording();
      await page.route('**/api/v1/auth/logout', (route) => route.abort());
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page
        .getByRole('alert')
        .getByText('Signing out could not be confirmed by the manager: your session may still be active. Sign in and sign out again.')
        .waitFor();
      expect(new URL(page.url()).pathname).toBe('/login');
      expect(errors).toEqual([]);
    });

    test('a session that ends while the manager is failing leads to the login page, without errors', async () => {
      const { page, errors } = await openRecording();
      const tokens = page.getByRole('region', { name: 'API tokens' });
      await page.route('**/api/v1/auth/me', (route) =>
        route.fulfill({ status: 503, contentType: 'application/json', body: '{"error_code":"unavailable","message":"Unavailable"}' })
      );
      await revokeSessions();
      const me = page.waitForResponse((res) => res.url().endsWith('/api/v1/auth/me'));
      // Any request now answers 401, which sends the page to the login page.
      await tokens.getByLabel('Token name').fill('too late');
      await tokens.getByRole('button', { name: 'Create token' }).click();
      expect((await me).status()).toBe(503);
      await page.waitForURL((url) => url.pathname === '/login');
      await settled(page);
      expect(errors).toEqual([]);
    });
  });
});
