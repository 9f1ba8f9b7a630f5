import { SimulatedDevice } from '@bilbycast/device-simulator';
import { saveScreenshot, testDatabases } from '@bilbycast/tests';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import type { APIResponse, Page, Request, Route, WebSocketRoute } from 'playwright-core';
import { SchemaValidator, toFormErrors } from '../../../ui/web/src/pages/node-detail/json-schema-validation';
import { uiEnv, type UiTestEnv } from './ui-harness';

/** Polls `read` until `accept` holds (no fixed sleeps in assertions); returns the accepted value. */
async function until<T>(read: () => Promise<T>, accept: (value: T) => boolean, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!accept(value)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last value: ${JSON.stringify(value)})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await read();
  }
  return value;
}

interface CommandInfo {
  name: string;
  requires_role: string;
  params_schema: Record<string, unknown>;
}

/** A signed-in page on a node's detail page, with what it posted and any CSP violations. */
interface DetailPage {
  page: Page;
  commandPosts: { type: string; [key: string]: unknown }[];
  cspViolations: string[];
}

describe.each(testDatabases().slice(0, 1))('UI: node detail page (%s)', (kind) => {
  let env: UiTestEnv;

  beforeAll(async () => {
    env = await uiEnv(kind);
    await env.user('olive', 'operator');
    await env.user('vic', 'viewer');
  });
  afterAll(async () => {
    await env.close();
  });

  async function openNode(username: string, nodeId: string): Promise<DetailPage> {
    const { page } = await env.signIn(username, `/nodes/${nodeId}`);
    const commandPosts: DetailPage['commandPosts'] = [];
    const cspViolations: string[] = [];
    page.on('request', (request: Request) => {
      if (request.method() === 'POST' && request.url().endsWith(`/api/v1/nodes/${nodeId}/command`)) commandPosts.push(request.postDataJSON().action);
    });
    page.on('console', (message) => {
      if (/Content Security Policy|unsafe-eval/i.test(message.text())) cspViolations.push(message.text());
    });
    await page.getByRole('heading', { level: 1 }).waitFor();
    return { page, commandPosts, cspViolations };
  }

  const flowRow = (page: Page, flowId: string) => page.locator(`tr[data-flow-id="${flowId}"]`);
  const commandsSection = (page: Page) => page.getByRole('region', { name: 'Commands' });

  async function chooseCommand(page: Page, name: string) {
    await page.getByLabel('Command', { exact: true }).selectOption(name);
    await page.getByRole('button', { name: `Run ${name}` }).waitFor();
  }

  /** Waits until the page has received `n` more live stats samples (time has passed on the page). */
  async function waitForMoreSamples(page: Page, n: number) {
    const chart = page.getByTestId('bitrate-chart');
    const start = Number(await chart.getAttribute('data-points'));
    await until(
      async () => Number(await chart.getAttribute('data-points')),
      (count) => count >= start + n,
      `${n} more chart points`
    );
  }

  test('an edge: header, live flows, bitrate chart, events and thumbnails', async () => {
    const { id, device } = await env.simulate('Studio edge', { kind: 'edge', thumbnail_interval_ms: 500 });
    // Thumbnails are listed in the node record once the manager has some.
    await until(
      async () => (((await env.t.admin.request('GET', `/api/v1/nodes/${id}`)).result as any).connection?.thumbnails ?? []).length,
      (count) => count === 2,
      'two thumbnails'
    );
    device.raiseEvent({ severity: 'warning', category: 'flow', message: 'Input jitter high', flow_id: 'Studio feed 2' });

    const { page, cspViolations } = await openNode('admin', id);
    await page.getByRole('heading', { name: 'Studio edge', level: 1 }).waitFor();
    const header = page.getByTestId('node-header');
    await header.getByText('Online').waitFor();
    await header.getByText('0.106.0').waitFor();
    await header.getByText('127.0.0.1:').waitFor();
    await header.getByRole('listitem').filter({ hasText: /^ptp$/ }).waitFor();
    await header.getByTestId('node-flows').getByText('2/2').waitFor();

    for (const flowId of ['flow-1', 'Studio feed 2']) {
      const row = flowRow(page, flowId);
      await row.waitFor();
      expect(await row.getAttribute('data-flow-state')).toBe('Running');
      await row.getByText('srt').waitFor();
      await row.getByText(/UDP out/).waitFor();
      await row.getByText(/Mb\/s/).first().waitFor();
    }

    // The chart is seeded from the history and grows with live stats.
    await waitForMoreSamples(page, 3);

    // Stored events, and a live one arriving while the page is open.
    const events = page.getByRole('region', { name: 'Recent events' });
    await events.getByText('Input jitter high').waitFor();
    device.raiseEvent({ severity: 'critical', category: 'flow', message: 'Output stalled', flow_id: 'flow-1' });
    await events.getByText('Output stalled').waitFor();

    // Thumbnails of both flows load as images.
    const thumbs = page.getByRole('region', { name: 'Thumbnails' }).getByRole('img');
    await until(
      () => thumbs.count(),
      (count) => count === 2,
      'two thumbnail images'
    );
    for (const img of await thumbs.all()) {
      await until(
        () => img.evaluate((el: HTMLImageElement) => (el.complete ? el.naturalWidth : 0)),
        (width) => width === 320,
        'a decoded thumbnail'
      );
    }

    expect(await page.getByTestId('offline-banner').count()).toBe(0);
    await saveScreenshot(page, 'node-detail');
    expect(cspViolations).toEqual([]);
  }, 60_000);

  test('(3) stop_flow through its generated form turns the flow Idle live; an invalid form shows the validation message and sends nothing', async () => {
    const { id, device } = await env.simulate('Flow edge', { kind: 'edge' });
    const { page, commandPosts, cspViolations } = await openNode('olive', id);
    await page.getByTestId('flow-row').first().waitFor();
    const flowId = (await page.getByTestId('flow-row').first().getAttribute('data-flow-id'))!;
    const otherFlowId = (await page.getByTestId('flow-row').nth(1).getAttribute('data-flow-id'))!;
    expect(await flowRow(page, flowId).getAttribute('data-flow-state')).toBe('Running');
    // Nothing below reloads the page: a reload would lose this marker.
    await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 7));

    await chooseCommand(page, 'stop_flow');
    await commandsSection(page).getByText('Stop a flow').waitFor();
    await page.getByLabel('flow_id').fill(flowId);
    await page.getByRole('button', { name: 'Run stop_flow' }).click();
    const result = page.getByTestId('command-result');
    await result.getByText('stop_flow succeeded.').waitFor();
    expect(await result.getAttribute('data-outcome')).toBe('success');
    expect(commandPosts).toEqual([{ type: 'stop_flow', flow_id: flowId }]);

    // The flow goes Idle from the live stats, without a reload; the other one keeps running.
    await page.locator(`tr[data-flow-id="${flowId}"][data-flow-state="Idle"]`).waitFor();
    expect(await flowRow(page, otherFlowId).getAttribute('data-flow-state')).toBe('Running');
    expect((device.config as any).flows.find((f: { id: string }) => f.id === flowId).enabled).toBe(false);
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(7);

    // An invalid form: the required flow_id left empty.
    await chooseCommand(page, 'start_flow');
    await page.getByRole('button', { name: 'Run start_flow' }).click();
    const errors = page.getByTestId('validation-errors');
    await errors.getByText("must have required property 'flow_id'").waitFor();
    expect(await errors.getAttribute('role')).toBe('alert');
    // …also shown at the field itself.
    await commandsSection(page).locator('.error-detail').getByText("must have required property 'flow_id'").waitFor();

    // And a value of the wrong shape (the driver's id: at most 64 bytes).
    await page.getByLabel('flow_id').fill('x'.repeat(65));
    await page.getByRole('button', { name: 'Run start_flow' }).click();
    await errors.getByText('must NOT have more than 64 characters').waitFor();

    // Nothing was sent, and the flow states stay as they were while later stats arrive.
    await waitForMoreSamples(page, 3);
    expect(commandPosts).toHaveLength(1);
    expect(await flowRow(page, flowId).getAttribute('data-flow-state')).toBe('Idle');
    expect(await flowRow(page, otherFlowId).getAttribute('data-flow-state')).toBe('Running');
    expect(cspViolations).toEqual([]);
  }, 60_000);

  test('a device failure shows the device’s error and error code', async () => {
    const { id } = await env.simulate('Failing edge', { kind: 'edge' });
    const { page, commandPosts } = await openNode('olive', id);
    await chooseCommand(page, 'start_flow');
    await page.getByLabel('flow_id').fill('no-such-flow');
    await page.getByRole('button', { name: 'Run start_flow' }).click();
    const result = page.getByTestId('command-result');
    await result.waitFor();
    expect(await result.getAttribute('data-outcome')).toBe('failure');
    const alert = result.getByRole('alert');
    await alert.getByText("Flow 'no-such-flow' not found").waitFor();
    expect(await alert.locator('.error-code').textContent()).toBe('unknown_flow');
    expect(commandPosts).toEqual([{ type: 'start_flow', flow_id: 'no-such-flow' }]);
  }, 60_000);

  test('the config viewer shows the node’s config and update_config round-trips it; invalid JSON is refused before sending', async () => {
    const { id, device } = await env.simulate('Config edge', { kind: 'edge' });
    const { page, commandPosts, cspViolations } = await openNode('olive', id);
    const viewer = page.getByTestId('node-config');
    await viewer.waitFor();
    const shown = JSON.parse((await viewer.textContent())!);
    expect(shown.version).toBe(2);
    expect(shown.flows.map((f: { id: string }) => f.id)).toEqual(['flow-1', 'Studio feed 2']);
    // Secrets are never shown: the SRT passphrases are placeholders.
    const passphrases = (device.config as any).inputs.map((input: { passphrase: string }) => input.passphrase);
    expect(shown.inputs.map((input: { passphrase: string }) => input.passphrase)).toEqual(['***REDACTED***', '***REDACTED***']);
    expect(await viewer.textContent()).not.toContain(passphrases[0]);
    expect(shown).toEqual(((await env.t.admin.request('GET', `/api/v1/nodes/${id}/config`)).result as { config: unknown }).config);
    await page
      .getByRole('region', { name: 'Configuration' })
      .getByRole('button', { name: /Copy config/ })
      .waitFor();

    // The editor is pre-filled with the same config.
    const editor = page.getByLabel('Configuration JSON');
    expect(JSON.parse(await editor.inputValue())).toEqual(shown);

    // Invalid JSON: a clear message, nothing sent.
    await editor.fill('{ "version": 2, ');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page
      .getByTestId('config-parse-error')
      .getByText(/Invalid JSON/)
      .waitFor();
    expect(commandPosts).toEqual([]);

    // Applying the unchanged config succeeds on the device.
    await page.getByRole('button', { name: 'Reset to the node’s config' }).click();
    expect(JSON.parse(await editor.inputValue())).toEqual(shown);
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByRole('region', { name: 'Configuration' }).getByTestId('command-result').getByText('update_config succeeded.').waitFor();
    expect(commandPosts).toEqual([{ type: 'update_config', config: shown }]);
    expect((device.config as any).version).toBe(2);
    // The placeholders were put back to the secrets they stand for.
    expect((device.config as any).inputs.map((input: { passphrase: string }) => input.passphrase)).toEqual(passphrases);
    // The manager's cached config was dropped by the change: the viewer shows a fresh read.
    await page.getByTestId('config-meta').getByText('Fetched from the node').waitFor();
    expect(JSON.parse((await viewer.textContent())!)).toEqual(shown);

    // get_config through the generated form returns the config JSON too.
    await chooseCommand(page, 'get_config');
    await commandsSection(page).getByText('This command takes no parameters.').waitFor();
    await page.getByRole('button', { name: 'Run get_config' }).click();
    const result = commandsSection(page).getByTestId('command-result');
    await result.getByText('get_config succeeded.').waitFor();
    expect(JSON.parse((await result.locator('pre').textContent())!)).toEqual(shown);
    expect(cspViolations).toEqual([]);
  }, 60_000);

  test('(5) an operator cannot run admin-only commands, an admin can rotate the secret, a viewer gets no controls', async () => {
    const { id, device } = await env.simulate('Secure edge', { kind: 'edge' });
    // Secret rotation needs a session signed in with the node secret: reconnect with it.
    await device.stop();
    device.start();
    await device.waitForState('online');
    await until(
      async () => ((await env.t.admin.request('GET', `/api/v1/nodes/${id}`)).result as any).connection?.auth_method,
      (m) => m === 'auth_ok',
      'a secret sign-in'
    );
    const secretBefore = device.credentials!.node_secret;

    // Operator: admin-only commands are listed, disabled, with the reason.
    const operator = await openNode('olive', id);
    const select = operator.page.getByLabel('Command', { exact: true });
    await select.waitFor();
    for (const name of ['upgrade_binary', 'rotate_secret']) {
      await select.selectOption(name);
      await operator.page.getByTestId('command-role-note').getByText('Requires the admin role').waitFor();
      expect(await operator.page.getByRole('button', { name: `Run ${name}` }).isDisabled()).toBe(true);
    }
    expect(await select.locator('option', { hasText: 'rotate_secret' }).textContent()).toBe('rotate_secret (admin only)');
    await select.selectOption('upgrade_binary');
    for (const input of await commandsSection(operator.page)
      .getByRole('group', { name: 'Parameters of upgrade_binary' })
      .locator('input, select, textarea')
      .all()) {
      expect(await input.isDisabled()).toBe(true);
    }
    // Operator commands stay runnable.
    await select.selectOption('stop_flow');
    expect(await operator.page.getByRole('button', { name: 'Run stop_flow' }).isEnabled()).toBe(true);
    expect(operator.commandPosts).toEqual([]);

    // Admin: rotate_secret has no parameters (the manager generates the secret) and succeeds.
    const admin = await openNode('admin', id);
    await chooseCommand(admin.page, 'rotate_secret');
    await commandsSection(admin.page).getByText('This command takes no parameters.').waitFor();
    expect(await admin.page.getByTestId('command-role-note').count()).toBe(0);
    await admin.page.getByRole('button', { name: 'Run rotate_secret' }).click();
    await admin.page.getByTestId('command-result').getByText('rotate_secret succeeded.').waitFor();
    expect(admin.commandPosts).toEqual([{ type: 'rotate_secret' }]);
    expect(device.credentials!.node_secret).not.toBe(secretBefore);

    // Viewer: the commands are listed for information only; no config panel or editor.
    const viewer = await openNode('vic', id);
    const commands = commandsSection(viewer.page);
    await commands.getByText('Running commands requires the operator role').waitFor();
    await commands.getByText(/commands of this device type/).click();
    await commands.getByRole('cell', { name: 'stop_flow', exact: true }).waitFor();
    expect(await commands.getByRole('combobox').count()).toBe(0);
    expect(await commands.getByRole('button').count()).toBe(0);
    expect(await viewer.page.getByRole('button', { name: /^Run / }).count()).toBe(0);
    expect(await viewer.page.getByRole('region', { name: 'Configuration' }).count()).toBe(0);
    expect(await viewer.page.getByLabel('Configuration JSON').count()).toBe(0);
    expect(await viewer.page.getByRole('button', { name: 'Apply' }).count()).toBe(0);
    // The only enabled controls on the page are harmless ones.
    const enabled: string[] = [];
    for (const control of await viewer.page.locator('.content').locator('button:enabled, input:enabled, select:enabled, textarea:enabled').all()) {
      enabled.push(((await control.textContent()) ?? '').trim());
    }
    expect(enabled.every((name) => /^(Copy id|Show all \d+|Show fewer)$/.test(name))).toBe(true);
  }, 60_000);

  test('relays and gateways get their summaries; a node going offline shows the banner with the last known data', async () => {
    const relay = await env.simulate('Core relay', { kind: 'relay' });
    const { page: relayPage } = await openNode('admin', relay.id);
    await relayPage.getByRole('heading', { name: 'Tunnels and edges' }).waitFor();
    await relayPage.getByRole('region', { name: 'Metrics' }).getByText('Connected edges').waitFor();
    await relayPage.getByLabel('Command', { exact: true }).locator('option', { hasText: 'list_tunnels' }).waitFor({ state: 'attached' });

    const gateway = await env.simulate('Appear gateway', { kind: 'gateway' });
    const { page } = await openNode('admin', gateway.id);
    await page.getByTestId('flow-row').first().waitFor();
    await page.getByLabel('Command', { exact: true }).locator('option', { hasText: 'get_alarms' }).waitFor({ state: 'attached' });
    const flowCount = await page.getByTestId('flow-row').count();
    expect(flowCount).toBe(2);

    await gateway.device.stop();
    await page.getByTestId('offline-banner').getByText('Offline — last known data shown').waitFor();
    await page.getByTestId('node-header').getByText('Offline').waitFor();
    expect(await page.getByTestId('flow-row').count()).toBe(flowCount);
  }, 60_000);

  test('a node deleted while its page is open shows as deleted, without stats, commands or config', async () => {
    const { id, device } = await env.simulate('Deleted edge', { kind: 'edge' });
    const { page } = await openNode('olive', id);
    await page.getByTestId('node-header').getByText('Online').waitFor();
    await chooseCommand(page, 'stop_flow');
    await page.getByRole('region', { name: 'Configuration' }).waitFor();

    expect((await env.t.admin.request('DELETE', `/api/v1/nodes/${id}`)).statusCode).toBe(204);
    await device.stop();
    await page.getByRole('alert').getByText('This node was deleted').waitFor();
    await page.getByRole('heading', { name: 'Deleted edge', level: 1 }).waitFor();
    expect(await page.getByTestId('node-header').count()).toBe(0);
    expect(await page.getByTestId('flow-row').count()).toBe(0);
    expect(await page.getByRole('button', { name: /^Run / }).count()).toBe(0);
    expect(await commandsSection(page).count()).toBe(0);
    expect(await page.getByRole('region', { name: 'Configuration' }).count()).toBe(0);
  }, 60_000);

  test('an older read of the node arriving last does not replace a newer one', async () => {
    const { id, device } = await env.simulate('Ordered edge', { kind: 'edge' });
    const { page } = await env.signIn('admin', '/');
    // The page's first read of the node is answered now (signed in with the registration
    // token) but delivered only when the test says so.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let held: Request | undefined;
    await page.route(`**/api/v1/nodes/${id}`, async (route: Route) => {
      if (held) return route.continue();
      held = route.request();
      const response = await route.fetch();
      await released;
      await route.fulfill({ response });
    });
    await page.goto(`/nodes/${id}`);
    const header = page.getByTestId('node-header');
    await header.getByText('registration token').waitFor();

    // Reconnected with its secret: later reads say so.
    await device.stop();
    device.start();
    await device.waitForState('online');
    await header.getByText('node secret').waitFor();

    const finished = page.waitForEvent('requestfinished', (request) => request === held);
    release();
    await finished;
    await waitForMoreSamples(page, 3);
    expect(await header.getByText('node secret').count()).toBe(1);
    expect(await header.getByText('registration token').count()).toBe(0);
  }, 60_000);

  test('overlapping config loads: only the latest one is shown, and it is loading until that one is done', async () => {
    const { id } = await env.simulate('Config order edge', { kind: 'edge' });
    const { page } = await env.signIn('olive', '/');
    // Each config read is answered at once by the manager but delivered when the test says so.
    const held: { route: Route; response: APIResponse }[] = [];
    await page.route(`**/api/v1/nodes/${id}/config`, async (route: Route) => {
      held.push({ route, response: await route.fetch() });
    });
    const heldCount = (n: number) =>
      until(
        () => Promise.resolve(held.length),
        (count) => count >= n,
        `${n} held config reads`
      );
    const enabledFlows = async (response: APIResponse) =>
      ((await response.json()).config.flows as { id: string; enabled: boolean }[]).filter((f) => f.enabled).map((f) => f.id);

    await page.goto(`/nodes/${id}`);
    await heldCount(1);
    const config = page.getByRole('region', { name: 'Configuration' });
    const refresh = config.getByRole('button', { name: 'Fetching…' });
    await refresh.waitFor();

    // A command that changes the node reloads the config while the first read is still out.
    await chooseCommand(page, 'stop_flow');
    await page.getByLabel('flow_id').fill('flow-1');
    await page.getByRole('button', { name: 'Run stop_flow' }).click();
    await commandsSection(page).getByText('stop_flow succeeded.').waitFor();
    await heldCount(2);
    expect(await enabledFlows(held[0].response)).toEqual(['flow-1', 'Studio feed 2']);
    expect(await enabledFlows(held[1].response)).toEqual(['Studio feed 2']);

    // The older read arrives first: not shown, and still loading.
    const finished = page.waitForEvent('requestfinished', (request) => request === held[0].route.request());
    await held[0].route.fulfill({ response: held[0].response });
    await finished;
    await waitForMoreSamples(page, 3);
    expect(await page.getByTestId('node-config').count()).toBe(0);
    expect(await refresh.count()).toBe(1);
    expect(await refresh.isDisabled()).toBe(true);

    // The latest read: shown, and done.
    await held[1].route.fulfill({ response: held[1].response });
    await config.getByRole('button', { name: 'Refresh from node' }).waitFor();
    const shown = JSON.parse((await page.getByTestId('node-config').textContent())!);
    expect(shown.flows.filter((f: { enabled: boolean }) => f.enabled).map((f: { id: string }) => f.id)).toEqual(['Studio feed 2']);
    expect(held).toHaveLength(2);
  }, 60_000);

  test('recent events: an acknowledgement made elsewhere shows; events missed while the feed was down appear after it reconnects', async () => {
    const { id, device } = await env.simulate('Events edge', { kind: 'edge' });
    const storedEvent = (message: string) =>
      until(
        async () =>
          ((await env.t.admin.request('GET', `/api/v1/events?node_id=${id}`)).result as { id: number; message: string }[]).find((e) => e.message === message),
        (event) => event !== undefined,
        `the stored event "${message}"`
      );
    device.raiseEvent({ severity: 'warning', category: 'flow', message: 'Acknowledge me' });
    const event = (await storedEvent('Acknowledge me'))!;

    const { page } = await env.signIn('olive', '/');
    // The live feed passes through the test; `dropping` loses what the server sends the page.
    const feeds: WebSocketRoute[] = [];
    let dropping = false;
    await page.routeWebSocket('**/ws/dashboard', (ws: WebSocketRoute) => {
      feeds.push(ws);
      ws.connectToServer().onMessage((message) => {
        if (!dropping || ws !== feeds[0]) ws.send(message);
      });
    });
    await page.goto(`/nodes/${id}`);
    const events = page.getByTestId('node-events');
    await events.locator('tr[data-acknowledged="false"]', { hasText: 'Acknowledge me' }).waitFor();

    expect((await env.t.admin.request('POST', `/api/v1/events/${event.id}/ack`, {})).statusCode).toBe(200);
    await events.locator('tr[data-acknowledged="true"]', { hasText: 'Acknowledge me' }).waitFor();

    // An event pushed while the feed is down never reaches the page; the list is read again on reconnect.
    dropping = true;
    device.raiseEvent({ severity: 'critical', category: 'flow', message: 'Missed while away' });
    await storedEvent('Missed while away');
    await feeds[0].close({ code: 1001, reason: 'Going away' });
    await events.getByText('Missed while away').waitFor();
    expect(feeds.length).toBe(2);
  }, 60_000);

  /** The command schemas the manager publishes, by `<device type>.<command>`. */
  async function commandSchemas(): Promise<Map<string, Record<string, unknown>>> {
    const schemas = new Map<string, Record<string, unknown>>();
    for (const type of ['edge', 'relay', 'appear_x']) {
      const view = (await env.t.admin.request('GET', `/api/v1/device-types/${type}`)).result as { supported_commands: CommandInfo[] };
      for (const c of view.supported_commands) schemas.set(`${type}.${c.name}`, c.params_schema);
    }
    return schemas;
  }

  test('the command form validator agrees with Ajv on every driver schema', async () => {
    // Ajv (with rjsf's options) is the reference here: in Node nothing forbids its code generation.
    const ajv = new Ajv({ allErrors: true, strict: false, multipleOfPrecision: 8 });
    addFormats(ajv);
    const validator = new SchemaValidator();

    const schemas = await commandSchemas();
    expect(schemas.size).toBeGreaterThan(50);
    // An edge's configuration as the simulator holds it (never started: nothing connects).
    const edge = new SimulatedDevice({ url: env.t.nodeUrl, kind: 'edge', registration_token: 'unused' });
    const samples: unknown[] = [
      {},
      { flow_id: 'flow-1' },
      { flow_id: '' },
      { flow_id: 'bad id!' },
      { flow_id: 5 },
      { flow_id: 'x'.repeat(65) },
      { unexpected: true },
      { config: JSON.parse(JSON.stringify(edge.config)) },
      { config: { ...JSON.parse(JSON.stringify(edge.config)), version: 1 } },
      { version: '1.2.3', channel: 'stable' },
      { version: 'latest', channel: 'weekly' },
      { tunnel_id: '0b6f3a8e-8c1e-4d6a-9a4f-1d2f3e4a5b6c' },
      { tunnel_id: 'not-a-uuid' },
      { mode: 'auto', domain: 200 },
      { mode: 'off', domain: 1.5, priority1: -1 },
      { slot: 1, inputs: [{ id: 'ipin-1', name: 'x' }] },
      { slot: 0, inputs: [] },
      { ids: ['a', 'a', 'b c'] },
      { ids: [] },
      { public_ip: '300.1.1.1', public_base_url: 'not a uri', cascade_sources: ['srt://a:1', 5, { any: 1 }] },
      { flow_group: { id: 'g', name: 'G', flows: ['a', 'a'], flow_ids: ['b'] } },
      { flow_group: { id: 'g', name: 'G' } },
      { tunnel: { id: 'x', name: '', protocol: 'sctp', mode: 'relay', direction: 'ingress', local_addr: '1.2.3.4:5', relay_addrs: ['a', 'b', 'c'] } },
      { flow_id: 'f', output: { type: 'srt', mode: 'listener', id: 'o', name: 'O' } },
      { flow_id: 'f', output: { type: 'srt', mode: 'caller', id: 'o', name: 'O', remote_addr: 'h:1', latency_ms: 70000 } }
    ];
    const keywords = (errors: { keyword: string; instancePath: string }[] | null | undefined) =>
      [...new Set((errors ?? []).map((e) => `${e.instancePath} ${e.keyword}`))].sort();
    const check = (label: unknown, schema: Record<string, unknown>, data: unknown) => {
      const expected = ajv.compile(schema);
      const ok = expected(data);
      const { errors, validationError } = validator.validate(schema, data);
      expect(validationError).toBeUndefined();
      expect({ label, data, valid: errors === undefined }).toEqual({ label, data, valid: ok });
      // (cfworker does not list why each item failed `contains`, only that none matched.)
      const reference = (expected.errors ?? []).filter((e) => !e.schemaPath.includes('/contains/'));
      if (!ok) expect({ label, data, errors: keywords(errors) }).toEqual({ label, data, errors: keywords(reference) });
      // Same wording as Ajv, so messages read as they did.
      if (!ok) {
        // (Ajv's wording of oneOf and if failures and its choice of duplicate pair vary with the schema.)
        const byMessage = (list: { keyword: string; instancePath: string; message?: string }[]) =>
          [
            ...new Set(
              list
                .filter((e) => !['oneOf', 'if'].includes(e.keyword))
                .map((e) => `${e.instancePath} ${e.keyword} ${e.message?.replace(/ \(items ## .*\)$/, '')}`)
            )
          ].sort();
        expect({ label, data, messages: byMessage(errors ?? []) }).toEqual({ label, data, messages: byMessage(reference) });
      }
    };
    let invalid = 0;
    for (const [name, schema] of schemas) {
      for (const data of samples) {
        check(name, schema, data);
        if (!ajv.validate(schema, data)) invalid++;
      }
    }
    expect(invalid).toBeGreaterThan(100);

    // Keywords the driver schemas use rarely or not at all.
    const extra: [Record<string, unknown>, unknown[]][] = [
      [{ anyOf: [{ type: 'string' }, { type: 'integer', minimum: 3 }] }, ['a', 3, 2, 1.5, null]],
      [{ oneOf: [{ type: 'integer' }, { type: 'number', maximum: 2 }] }, [1, 5, 1.5, 'x']],
      [
        { type: 'object', if: { properties: { a: { const: 1 } }, required: ['a'] }, then: { required: ['b'] }, else: { required: ['c'] } },
        [{ a: 1 }, { a: 1, b: 2 }, { c: 1 }, {}]
      ],
      [
        { definitions: { id: { type: 'string', pattern: '^x' } }, type: 'array', items: { $ref: '#/definitions/id' }, uniqueItems: true },
        [['x1', 'x2'], ['x1', 'x1'], ['y']]
      ],
      [
        { type: 'object', dependencies: { a: ['b'], c: { required: ['d'] } }, propertyNames: { maxLength: 3 } },
        [{ a: 1 }, { a: 1, b: 1 }, { c: 1 }, { toolong: 1 }]
      ],
      [{ type: ['string', 'null'], not: { const: 'no' }, format: 'email' }, ['a@b.co', 'no', null, 'x', 3]],
      [{ type: 'number', multipleOf: 0.1, exclusiveMaximum: 1 }, [0.3, 0.35, 1, 0.9]],
      [{ type: 'array', items: [{ type: 'string' }], additionalItems: false, contains: { const: 'k' }, minItems: 1 }, [['k'], ['k', 'x'], ['z'], []]],
      [
        {
          type: 'object',
          properties: { a: false },
          patternProperties: { '^n_': { type: 'number' } },
          additionalProperties: { type: 'string' },
          maxProperties: 2
        },
        [{ a: 1 }, { n_1: 'x', b: 2 }, { b: 'x', c: 'y', d: 'z' }]
      ]
    ];
    for (const [schema, values] of extra) for (const data of values) check(schema, schema, data);
  }, 60_000);

  test('the command form validator gives rjsf field errors for the draft-07 keywords the drivers use', async () => {
    const validator = new SchemaValidator();
    const schemas = await commandSchemas();
    const schema = (name: string) => schemas.get(name)!;
    /** rjsf's error objects for `data` (the form places each at its `property`, and lists `stack`). */
    const formErrors = (s: object, data: unknown) => toFormErrors(validator.validate(s, data).errors ?? []);
    /** What the form shows: each error's field, keyword and list text. */
    const shown = (name: string, data: unknown) => formErrors(schema(name), data).map((e) => ({ property: e.property, name: e.name, stack: e.stack }));

    // required and string length/pattern (start_flow's flow_id), shown at the field.
    expect(formErrors(schema('edge.start_flow'), {})).toEqual([
      {
        name: 'required',
        // (a property of the form data itself: no leading dot, as with rjsf's Ajv validator)
        property: 'flow_id',
        message: "must have required property 'flow_id'",
        params: { missingProperty: 'flow_id' },
        stack: "must have required property 'flow_id'",
        schemaPath: '#/required',
        title: ''
      }
    ]);
    expect(shown('edge.start_flow', { flow_id: 'x'.repeat(65) })).toEqual([
      { property: '.flow_id', name: 'maxLength', stack: '.flow_id must NOT have more than 64 characters' }
    ]);
    expect(shown('edge.start_flow', { flow_id: 'a\u0007b' })).toEqual([
      { property: '.flow_id', name: 'pattern', stack: '.flow_id must match pattern "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"' }
    ]);
    expect(shown('edge.start_flow', { flow_id: 'flow-1', extra: 1 })).toEqual([
      { property: '', name: 'additionalProperties', stack: 'must NOT have additional properties' }
    ]);
    expect(validator.validate(schema('edge.start_flow'), { flow_id: 'flow-1' })).toEqual({});
    // A cleared field (rjsf keeps it as undefined) counts as missing.
    expect(shown('edge.start_flow', { flow_id: undefined })).toEqual([
      { property: 'flow_id', name: 'required', stack: "must have required property 'flow_id'" }
    ]);

    // enum, integer minimum/maximum and type.
    expect(shown('edge.set_ptp_mode', { mode: 'sometimes', domain: 200, priority1: -1, scan_timeout: 1.5 })).toEqual([
      { property: '.mode', name: 'enum', stack: '.mode must be equal to one of the allowed values' },
      { property: '.domain', name: 'maximum', stack: '.domain must be <= 127' },
      { property: '.priority1', name: 'minimum', stack: '.priority1 must be >= 0' },
      { property: '.scan_timeout', name: 'type', stack: '.scan_timeout must be integer' }
    ]);

    // Arrays: minItems, uniqueItems, and each item's own constraints.
    expect(shown('appear_x.delete_coder_services', { ids: [] })).toEqual([
      { property: '.ids', name: 'minItems', stack: '.ids must NOT have fewer than 1 items' }
    ]);
    expect(shown('appear_x.delete_coder_services', { ids: ['a', 'b c', 'a'] })).toEqual([
      { property: '.ids.1', name: 'pattern', stack: '.ids.1 must match pattern "^[A-Za-z0-9._:-]+$"' },
      { property: '.ids', name: 'uniqueItems', stack: '.ids must NOT have duplicate items (items ## 0 and 2 are identical)' }
    ]);

    // Nested objects: errors carry the nested field's path; formats (uuid, ipv4, uri) are checked.
    const tunnel = {
      id: 'not-a-uuid',
      name: '',
      protocol: 'tcp',
      mode: 'direct',
      direction: 'ingress',
      local_addr: 'h:1',
      relay_addrs: ['a', 'b', 'c'],
      source: '1.2.3'
    };
    expect(shown('edge.create_tunnel', { tunnel })).toEqual(
      expect.arrayContaining([
        { property: '.tunnel.id', name: 'format', stack: '.tunnel.id must match format "uuid"' },
        { property: '.tunnel.name', name: 'minLength', stack: '.tunnel.name must NOT have fewer than 1 characters' },
        { property: '.tunnel.relay_addrs', name: 'maxItems', stack: '.tunnel.relay_addrs must NOT have more than 2 items' },
        { property: '.tunnel.source', name: 'format', stack: '.tunnel.source must match format "ipv4"' }
      ])
    );
    // A valid relay tunnel passes: the schema's when/then adds its condition, not a closed object.
    const relayTunnel = {
      id: '7d7c4a56-2a7e-4c43-9a55-4f8f0bde3f11',
      name: 'to studio',
      protocol: 'tcp',
      mode: 'relay',
      direction: 'egress',
      local_addr: '0.0.0.0:9000',
      relay_addr: 'relay.example:4433'
    };
    expect(shown('edge.create_tunnel', { tunnel: relayTunnel })).toEqual([]);
    const { relay_addr: _none, ...noRelay } = relayTunnel;
    expect(shown('edge.create_tunnel', { tunnel: noRelay })).toEqual(
      expect.arrayContaining([expect.objectContaining({ property: '.tunnel.relay_addr', name: 'required' })])
    );
    expect(shown('relay.configure_distribution', { public_base_url: 'no uri', cascade_sources: ['srt://up:9000', 5] })).toEqual(
      expect.arrayContaining([
        { property: '.public_base_url', name: 'format', stack: '.public_base_url must match format "uri"' },
        // anyOf: the item matched neither a URI string nor an object.
        { property: '.cascade_sources.1', name: 'anyOf', stack: '.cascade_sources.1 must match a schema in anyOf' }
      ])
    );

    // oneOf (a flow group names its members by flows or flow_ids, not both).
    expect(shown('edge.add_flow_group', { flow_group: { id: 'g', name: 'G', flows: ['a'], flow_ids: ['a'] } })).toEqual(
      expect.arrayContaining([{ property: '.flow_group', name: 'oneOf', stack: '.flow_group must match exactly one schema in oneOf' }])
    );
    expect(validator.validate(schema('edge.add_flow_group'), { flow_group: { id: 'g', name: 'G', flows: ['a'] } })).toEqual({});

    // if/then (as joi's `when` becomes): a listener needs its local address.
    const conditional = {
      type: 'object',
      properties: {
        output: {
          type: 'object',
          properties: { mode: { enum: ['caller', 'listener'] }, local_addr: { type: 'string' } },
          if: { properties: { mode: { const: 'listener' } }, required: ['mode'] },
          then: { required: ['local_addr'] }
        }
      }
    };
    expect(formErrors(conditional, { output: { mode: 'listener' } }).map((e) => [e.property, e.name, e.stack])).toEqual([
      ['.output', 'if', '.output must match "then" schema'],
      ['.output.local_addr', 'required', "must have required property 'local_addr'"]
    ]);
    expect(validator.validate(conditional, { output: { mode: 'caller' } })).toEqual({});

    // Titles name the field, as with rjsf's Ajv validator.
    const titled = { type: 'object', properties: { n: { type: 'integer', title: 'Count' }, id: { type: 'string', title: 'Identifier' } }, required: ['id'] };
    expect(formErrors(titled, { n: 'x' }).map((e) => [e.property, e.stack])).toEqual([
      ['id', "must have required property 'Identifier'"],
      ['.n', "'Count' must be integer"]
    ]);

    // isValid, which rjsf uses to pick oneOf/anyOf options and if/then branches, resolves
    // references against the root schema; a broken schema is reported (the rjsf adapter catches isValid's throw).
    const root = {
      definitions: { port: { type: 'integer', minimum: 1, maximum: 65535 } },
      type: 'object',
      properties: { port: { $ref: '#/definitions/port' } }
    };
    expect(validator.isValid({ $ref: '#/definitions/port' }, 8080, root)).toBe(true);
    expect(validator.isValid({ $ref: '#/definitions/port' }, 0, root)).toBe(false);
    expect(validator.isValid({ type: 'object', properties: { port: { $ref: '#/definitions/port' } } }, { port: 70000 }, root)).toBe(false);
    expect(validator.isValid(root, { port: 22 }, root)).toBe(true);
    expect(() => validator.isValid({ $ref: '#/definitions/missing' }, 1, root)).toThrow(/Unresolved \$ref/);
    const broken = validator.validate({ type: 'object', properties: { a: { $ref: '#/nowhere' } } }, { a: 'x' });
    expect(broken.errors).toBeUndefined();
    expect(broken.validationError?.message).toMatch(/Unresolved \$ref/);
  }, 60_000);
});
