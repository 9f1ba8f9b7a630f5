#!/usr/bin/env node
'use strict';
/**
 * UI benchmark (issue test 7): the dashboard with N simulated nodes (default 500) in Debian's
 * Chromium — time from navigation to the first full view (every node card rendered online),
 * and responsiveness while stats stream (long tasks, search-to-render latency).
 *
 *   npm run build && npm run build:ui && node bench/dashboard-render.js [--nodes 500] [--runs 5]
 *
 * Appends a section to bench/RESULTS.md. Needs the built packages (dist/) and ui/dist/web.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { chromium } = require('playwright-core');
const { loadConfig } = require('../core/server/dist');
const { createDefaultManager, defaultManifest } = require('../core/manager/dist');
const { createFleet } = require('../examples/device-simulator/dist');

const { values: args } = parseArgs({
  options: { nodes: { type: 'string', default: '500' }, runs: { type: 'string', default: '5' }, 'no-record': { type: 'boolean', default: false } }
});
const NODES = Number(args.nodes);
const RUNS = Number(args.runs);
const PASSWORD = 'Bench-Passw0rd!';

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bilbycast-ui-bench-'));
  const manager = await createDefaultManager(
    loadConfig({
      env: {},
      plugins: defaultManifest.plugins,
      overrides: { data_dir: dataDir, host: '127.0.0.1', port: 0, admin_username: 'admin', admin_password: PASSWORD, log_level: 'warn' }
    })
  );
  let fleet;
  let browser;
  try {
    await manager.start();
    const base = `http://127.0.0.1:${manager.server.listener.address().port}`;
    const login = await manager.server.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'admin', password: PASSWORD } });
    const headers = {
      cookie: []
        .concat(login.headers['set-cookie'])
        .map((c) => c.split(';')[0])
        .join('; '),
      'x-csrf-token': login.result.csrf_token
    };
    const tokens = [];
    for (let i = 0; i < NODES; i++) {
      const res = await manager.server.inject({ method: 'POST', url: '/api/v1/nodes', payload: { name: `edge ${String(i + 1).padStart(4, '0')}` }, headers });
      tokens.push(res.result.registration_token);
    }
    fleet = createFleet({
      url: `ws://127.0.0.1:${manager.server.listener.address().port}/ws/node`,
      ramp_ms: 3000,
      devices: tokens.map((registration_token) => ({ kind: 'edge', registration_token, flows: 2, thumbnail_interval_ms: 0 }))
    });
    fleet.start();
    await fleet.waitAllOnline(120_000);

    browser = await chromium.launch({
      executablePath: process.env.BILBYCAST_CHROMIUM ?? '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-dev-shm-usage']
    });
    const context = await browser.newContext({ baseURL: base, viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    await page.goto('/login');
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((url) => url.pathname === '/');

    // First full view: navigation start → every card rendered and online.
    const firstView = [];
    for (let run = 0; run < RUNS; run++) {
      await page.goto('/', { waitUntil: 'commit' });
      await page.waitForFunction((n) => document.querySelectorAll('[data-testid="node-card"][data-status="online"]').length === n, NODES, {
        polling: 'raf',
        timeout: 60_000
      });
      firstView.push(await page.evaluate(() => performance.now()));
    }

    // Responsiveness while stats stream: long tasks over 10 s, and search → filtered grid.
    await page.evaluate(() => {
      window.__longTasks = [];
      new PerformanceObserver((list) => window.__longTasks.push(...list.getEntries().map((e) => e.duration))).observe({ type: 'longtask', buffered: false });
    });
    const searchLatency = [];
    const started = Date.now();
    let i = 0;
    while (Date.now() - started < 10_000) {
      const needle = `edge 0${String(10 + (i++ % 40)).padStart(2, '0')}`;
      const t0 = Date.now();
      await page.getByLabel('Search').fill(needle);
      await page.waitForFunction(
        (n) =>
          [...document.querySelectorAll('[data-testid="node-card"] .node-name')].every((e) => e.textContent.includes(n)) &&
          document.querySelectorAll('[data-testid="node-card"]').length > 0,
        needle,
        { polling: 'raf' }
      );
      searchLatency.push(Date.now() - t0);
      await page.getByLabel('Search').fill('');
      await page.waitForFunction((n) => document.querySelectorAll('[data-testid="node-card"]').length === n, NODES, { polling: 'raf' });
    }
    const longTasks = await page.evaluate(() => window.__longTasks);
    const result = {
      nodes: NODES,
      firstViewMs: { median: percentile(firstView, 50), max: Math.max(...firstView) },
      searchMs: { p50: percentile(searchLatency, 50), p95: percentile(searchLatency, 95), samples: searchLatency.length },
      longTasks: { count: longTasks.length, totalMs: Math.round(longTasks.reduce((a, b) => a + b, 0)), maxMs: Math.round(Math.max(0, ...longTasks)) }
    };
    console.log(JSON.stringify(result, null, 2));
    if (!args['no-record']) record(result, firstView);
  } finally {
    await browser?.close();
    await fleet?.stop();
    await manager.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

function record(result, firstView) {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const ok = result.firstViewMs.median < 2000 ? 'met' : '**missed**';
  const section = `
## ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC — dashboard with ${result.nodes} nodes (UI test 7)

Machine: ${cpu}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, Debian Chromium (headless), manager and ${result.nodes} simulated edges (stats every 1 s) in the same process as the browser driver. Written by \`node bench/dashboard-render.js\`.

| measure | value | target |
|---|---|---|
| first full view (navigation → all ${result.nodes} cards online), median of ${firstView.length} | ${Math.round(result.firstViewMs.median)} ms (max ${Math.round(result.firstViewMs.max)} ms) | < 2000 ms — ${ok} |
| search → filtered grid while stats stream, p50 / p95 (${result.searchMs.samples} searches) | ${result.searchMs.p50} / ${result.searchMs.p95} ms | responsive |
| long tasks (> 50 ms) in 10 s of streaming and searching | ${result.longTasks.count}, ${result.longTasks.totalMs} ms in all, longest ${result.longTasks.maxMs} ms | — |
`;
  fs.appendFileSync(path.join(__dirname, 'RESULTS.md'), section);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
