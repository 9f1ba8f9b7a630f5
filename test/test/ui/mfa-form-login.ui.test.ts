import { testDatabases } from '@bilbycast/tests';
import type { BrowserContext, Page } from 'playwright-core';
import { currentTotp } from '../../../plugins/auth/src/services/totp';
import { PASSWORD, Session, uiEnv, type UiTestEnv } from './ui-harness';

const STEP_MS = 30_000;
const CHALLENGE_COOKIE = 'bilbycast_mfa_challenge';
/** A challenge token (`mfa_…`), or any parameter naming one. */
const CHALLENGE_IN_URL = /mfa_[A-Za-z0-9_-]{20,}|challenge/i;

/** A plain HTML sign-in form on the manager's own origin (an operator's portal page, no script), posting to the form login. */
const PORTAL_PAGE = `<!doctype html>
<title>Operator portal</title>
<form method="post" action="/api/v1/auth/login-form">
  <label>Portal username <input name="username"></label>
  <label>Portal password <input name="password" type="password"></label>
  <input type="hidden" name="next" value="/events">
  <button>Sign in to bilbycast</button>
</form>`;

describe.each(testDatabases().slice(0, 1))('UI: form sign-in with MFA (%s)', (kind) => {
  let env: UiTestEnv;
  let recoveryCodes: string[];
  let secret: string;

  beforeAll(async () => {
    env = await uiEnv(kind);
    await env.user('form-mfa', 'operator');
    const session = await Session.login(env.t.manager, 'form-mfa');
    secret = ((await session.request('POST', '/api/v1/auth/mfa/totp/setup')).result as { secret: string }).secret;
    const confirm = await session.request('POST', '/api/v1/auth/mfa/totp/confirm', { code: await currentTotp(secret) });
    recoveryCodes = (confirm.result as { recovery_codes: string[] }).recovery_codes;
  });
  afterAll(async () => {
    await env.close();
  });

  /** Signs in through the portal form up to the login page's code step; `urls` collects every URL the page requests, visits or is redirected to. */
  async function passwordStepThroughForm(): Promise<{ context: BrowserContext; page: Page; urls: string[] }> {
    const context = await env.browser.newContext({ baseURL: env.t.baseUrl });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    const urls: string[] = [];
    page.on('request', (request) => urls.push(request.url()));
    page.on('framenavigated', (frame) => urls.push(frame.url()));
    page.on('response', (response) => urls.push(response.headers().location ?? ''));
    await page.route('**/portal', (route) => route.fulfill({ contentType: 'text/html', body: PORTAL_PAGE }));
    await page.goto('/portal');
    await page.getByLabel('Portal username').fill('form-mfa');
    await page.getByLabel('Portal password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in to bilbycast' }).click();
    await page.waitForURL((url) => url.pathname === '/login' && url.searchParams.get('step') === 'mfa');
    await page.getByRole('form', { name: 'Verification code' }).waitFor();
    return { context, page, urls };
  }

  test('the code step after the form login takes a TOTP and lands on next; the challenge is in no URL', async () => {
    const { context, page, urls } = await passwordStepThroughForm();
    const cookie = (await context.cookies()).find((c) => c.name === CHALLENGE_COOKIE);
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/api/v1/auth/mfa/verify' });
    expect(await page.evaluate(() => document.cookie)).not.toContain(CHALLENGE_COOKIE);

    const codeForm = page.getByRole('form', { name: 'Verification code' });
    await codeForm.getByLabel('Code').fill('000000');
    await codeForm.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('alert').getByText('That code is not valid').waitFor();
    expect(new URL(page.url()).search).toBe('?step=mfa');

    await codeForm.getByLabel('Code').fill(await currentTotp(secret, new Date(Date.now() + STEP_MS)));
    await codeForm.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL((url) => url.pathname === '/events');
    await page.getByRole('heading', { name: 'Events' }).waitFor();
    const cookies = (await context.cookies()).map((c) => c.name);
    expect(cookies).toContain('session');
    expect(cookies).not.toContain(CHALLENGE_COOKIE);

    expect(urls.some((url) => url.includes('/api/v1/auth/login-form'))).toBe(true);
    expect(urls.filter((url) => CHALLENGE_IN_URL.test(url))).toEqual([]);
    await context.close();
  });

  test('an expired challenge sends the code step back to the password step with a message', async () => {
    const { context, page } = await passwordStepThroughForm();
    await context.clearCookies({ name: CHALLENGE_COOKIE }); // as the browser does when it expires
    const codeForm = page.getByRole('form', { name: 'Verification code' });
    await codeForm.getByLabel('Code').fill(recoveryCodes[0]);
    await codeForm.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('alert').getByText('The sign-in took too long. Enter your password again.').waitFor();
    const signIn = page.getByRole('form', { name: 'Sign in' });
    await signIn.waitFor();
    expect(new URL(page.url()).searchParams.has('step')).toBe(false);

    // The password step from here is the page's own, and the code (unused so far) completes it.
    await signIn.getByLabel('Username').fill('form-mfa');
    await signIn.getByLabel('Password').fill(PASSWORD);
    await signIn.getByRole('button', { name: 'Sign in' }).click();
    await codeForm.getByLabel('Code').fill(recoveryCodes[0]);
    await codeForm.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL((url) => url.pathname === '/');
    await context.close();
  });
});
