#!/usr/bin/env node
'use strict';
/**
 * Device-ingest load benchmark: N simulated edges (1 stats/s, 1 health/15 s each) against
 * (1) a bare `ws` server that only JSON-parses the traffic — the baseline — and (2) the
 * standard manager build (`bilbycast-manager serve`, SQLite), each in its own process, with
 * the same fleet for the same window. Reports CPU per 1000 messages/s and the ratio to the
 * baseline, RSS per connected node, command round trips under load and dashboard push
 * latency. See bench/README.md.
 *
 *   npm run build && npm run bench                       # N = 2000
 *   node bench/device-ingest.js --steps 500,1000,2000,3000,4000
 *   node bench/device-ingest.js --nodes 2000 --profile    # CPU profile of the manager's window
 */
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { parseArgs } = require('node:util');
const { performance } = require('node:perf_hooks');
const WebSocket = require('ws');
const { ManagerApi } = require('./lib/api');
const { spawn, forkWorker, stopChild, tempDir, removeTempDir, keepTempDir } = require('./lib/children');
const { startWindow, machineDescription } = require('./lib/proc');
const { startProfile, summarizeProfile } = require('./lib/profile');
const { sleep, summary, mapLimit, freePort, waitFor, fmt, kib, mib, log } = require('./lib/util');

const ROOT = path.resolve(__dirname, '..');
const MANAGER_BIN = path.join(ROOT, 'core/manager/bin/bilbycast-manager.js');
const FLEET_WORKER = path.join(__dirname, 'lib/fleet-worker.js');
const BASELINE_SERVER = path.join(__dirname, 'lib/baseline-server.js');
const MANAGER_PROBE = path.join(__dirname, 'lib/manager-probe.js');
const ADMIN = { username: 'bench-admin', password: 'Bench-Passw0rd-for-load!' };

const TARGETS = { ingest_ratio: 2, rss_kb_per_node: 100, command_p99_ms: 50 };

const USAGE = `usage: node bench/device-ingest.js [options]
  --nodes N              simulated edges (default 2000)
  --steps A,B,C          run several N in turn (ascending) and report the largest reached / meeting the targets
  --duration S           measurement window in seconds (default 30)
  --warmup S             seconds between "all online" and the window (default 10)
  --ramp-ms MS           spread the device connects over MS (default max(5000, 5 × N))
  --commands C           commands sent one after another, then C more with --concurrency in flight (default 200)
  --concurrency K        in-flight commands in the concurrent batch (default 10)
  --events E             device events raised during the dashboard phase (default 100, 5 per second)
  --dashboard-secs S     length of the dashboard phase (default 20)
  --stats-interval-ms MS device stats cadence (default 1000)
  --health-interval-ms MS device health cadence (default 15000; a large value isolates the cost of health handling)
  --manager-node-arg=A   extra node flag for the manager process only (repeatable), e.g. --manager-node-arg=--max-semi-space-size=64
  --manager-log-level L  the manager's BILBYCAST_LOG_LEVEL (default warn); the log is printed on failure, kept with --keep
  --no-baseline          skip the bare ws baseline
  --profile              CPU-profile the baseline's window and the manager's ingest window, command and dashboard phases
                         (saved as .cpuprofile and summarised; results not appended: the profiler costs CPU)
  --profile-dir DIR      where .cpuprofile files go (default bench/profiles)
  --results FILE         markdown file the results are appended to (default bench/RESULTS.md)
  --no-write             do not append to the results file
  --keep                 keep the manager's temp data dir and logs`;

function options() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        nodes: { type: 'string', default: '2000' },
        steps: { type: 'string' },
        duration: { type: 'string', default: '30' },
        warmup: { type: 'string', default: '10' },
        'ramp-ms': { type: 'string' },
        commands: { type: 'string', default: '200' },
        concurrency: { type: 'string', default: '10' },
        events: { type: 'string', default: '100' },
        'dashboard-secs': { type: 'string', default: '20' },
        'stats-interval-ms': { type: 'string', default: '1000' },
        'health-interval-ms': { type: 'string', default: '15000' },
        'no-baseline': { type: 'boolean', default: false },
        'manager-node-arg': { type: 'string', multiple: true, default: [] },
        'manager-log-level': { type: 'string', default: 'warn' },
        profile: { type: 'boolean', default: false },
        'profile-dir': { type: 'string', default: path.join(__dirname, 'profiles') },
        results: { type: 'string', default: path.join(__dirname, 'RESULTS.md') },
        'no-write': { type: 'boolean', default: false },
        keep: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false }
      }
    }));
  } catch (err) {
    console.error(`${err.message}\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const int = (name, min = 1) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < min) {
      console.error(`--${name} must be an integer ≥ ${min}\n${USAGE}`);
      process.exit(2);
    }
    return n;
  };
  const steps = values.steps ? values.steps.split(',').map((s) => Number(s.trim())) : [int('nodes')];
  if (steps.some((n) => !Number.isInteger(n) || n < 1)) {
    console.error(`--steps must be a comma-separated list of positive integers\n${USAGE}`);
    process.exit(2);
  }
  return {
    steps: steps.sort((a, b) => a - b),
    duration: int('duration'),
    warmup: int('warmup', 0),
    rampMs: values['ramp-ms'] === undefined ? undefined : int('ramp-ms', 0),
    commands: int('commands', 0),
    concurrency: int('concurrency'),
    events: int('events', 0),
    dashboardSecs: int('dashboard-secs'),
    statsIntervalMs: int('stats-interval-ms', 10),
    healthIntervalMs: int('health-interval-ms', 10),
    baseline: !values['no-baseline'],
    managerNodeArgs: values['manager-node-arg'],
    managerLogLevel: values['manager-log-level'],
    profile: values.profile,
    profileDir: values['profile-dir'],
    results: values.results,
    write: !values['no-write'] && !values.profile,
    keep: values.keep
  };
}

// ---- the fleet ----------------------------------------------------------------------------

async function startFleet(url, tokens, opts) {
  const fleet = forkWorker(FLEET_WORKER);
  const rampMs = opts.rampMs ?? Math.max(5000, 5 * tokens.length);
  const t0 = Date.now();
  await fleet.request('start', { url, tokens, ramp_ms: rampMs, stats_interval_ms: opts.statsIntervalMs, health_interval_ms: opts.healthIntervalMs });
  const n = tokens.length;
  let last = 0;
  let status;
  try {
    await waitFor(
      `${n} devices online`,
      async () => {
        status = await fleet.request('status');
        const online = status.states.online || 0;
        if (Date.now() - last > 5000) {
          last = Date.now();
          log(`  fleet: ${online}/${n} online`, JSON.stringify(status.states));
        }
        return online === n;
      },
      { timeoutMs: rampMs + 60_000, everyMs: 500 }
    );
  } catch (err) {
    err.message += `; why connection attempts ended: ${JSON.stringify(status && status.disconnects)}`;
    await fleet.request('stop', {}, 20_000).catch(() => {});
    await stopChild(fleet.child, 'SIGTERM', 5000);
    throw err;
  }
  if (Object.keys(status.disconnects).length) log(`  connection attempts that failed on the way: ${JSON.stringify(status.disconnects)}`);
  return { fleet, online_secs: (Date.now() - t0) / 1000 };
}

/** The window: CPU and RSS of the server and of the fleet, and the frames the fleet sent. */
async function measure(serverPid, fleet, seconds) {
  const s0 = await fleet.request('status');
  const server = startWindow(serverPid);
  const fleetWindow = startWindow(fleet.pid);
  await sleep(seconds * 1000);
  const w = server.stop();
  const f = fleetWindow.stop();
  const s1 = await fleet.request('status');
  const sent = s1.sent - s0.sent;
  const offline = s1.total - (s1.states.online || 0);
  return {
    ...w,
    sent,
    msg_rate: sent / w.seconds,
    bytes_per_msg: (s1.sent_bytes - s0.sent_bytes) / sent,
    us_per_msg: (w.cpu_seconds / sent) * 1e6,
    cores_per_1k: w.cores / (sent / w.seconds / 1000),
    fleet_cores: f.cores,
    // Everything else on the machine meanwhile (this bench process, other users' jobs): a
    // loaded machine stretches latencies and can inflate CPU time through cache contention.
    other_cores: Math.max(0, w.machine_busy_cores - w.cores - f.cores),
    fleet_rss: f.rss_last,
    offline_at_end: offline
  };
}

/** RSS (mean of samples) and CPU of a process sitting idle for `seconds`. */
async function idle(pid, seconds = 5) {
  const window = startWindow(pid, 500);
  await sleep(seconds * 1000);
  const w = window.stop();
  return { rss: w.rss_mean, cores: w.cores };
}

// ---- the baseline ---------------------------------------------------------------------------

async function runBaseline(n, opts) {
  log(`baseline: bare ws server, ${n} devices`);
  const server = forkWorker(BASELINE_SERVER, { env: opts.profile ? { BENCH_INSPECT: '1' } : {} });
  let inspectorUrl;
  const port = await new Promise((resolve, reject) => {
    server.onMessage((msg) => {
      if (msg.type !== 'listening') return;
      inspectorUrl = msg.inspector_url;
      resolve(msg.port);
    });
    server.child.once('exit', () => reject(new Error('baseline server exited')));
  });
  let fleet;
  try {
    await sleep(2000);
    const { rss: rss_idle, cores: idle_cores } = await idle(server.pid, 3);
    // Same token format and length as the manager's registration tokens (UUIDv4).
    const tokens = Array.from({ length: n }, () => crypto.randomUUID());
    const started = await startFleet(`ws://127.0.0.1:${port}/ws/node`, tokens, opts);
    fleet = started.fleet;
    log(`  all online in ${fmt(started.online_secs)} s; warm-up ${opts.warmup} s`);
    await sleep(opts.warmup * 1000);
    const c0 = await server.request('count');
    const profiler = opts.profile ? await startProfile(inspectorUrl) : undefined;
    const window = await measure(server.pid, fleet, opts.duration);
    const profile = profiler ? await profiler.stop() : undefined;
    const c1 = await server.request('count');
    const result = {
      ...window,
      rss_idle,
      idle_cores,
      received_rate: (c1.received - c0.received) / window.seconds,
      rss_kb_per_node: kib(window.rss_mean - rss_idle) / n,
      online_secs: started.online_secs
    };
    log(`  ${fmt(result.msg_rate, 0)} msg/s, ${fmt(result.cores * 100)}% of a core, ${fmt(result.us_per_msg, 2)} µs/msg, RSS ${fmt(mib(result.rss_mean))} MiB`);
    if (profile) result.profile = await saveProfile(profile, n, opts, `the baseline's ${opts.duration} s window`, 'baseline', 'baseline');
    return result;
  } finally {
    if (fleet) {
      await fleet.request('stop', {}, 20_000).catch(() => {});
      await stopChild(fleet.child, 'SIGTERM', 5000);
    }
    await server.request('stop', {}, 5000).catch(() => {});
    await stopChild(server.child, 'SIGTERM', 5000);
  }
}

// ---- the manager ----------------------------------------------------------------------------

async function startManager(dataDir, port, { profile, managerNodeArgs = [], managerLogLevel = 'warn' }) {
  const logFile = path.join(dataDir, 'manager.log');
  const out = fs.openSync(logFile, 'a');
  const child = spawn(process.execPath, ['-r', MANAGER_PROBE, ...managerNodeArgs, ...(profile ? ['--inspect=127.0.0.1:0'] : []), MANAGER_BIN, 'serve'], {
    cwd: ROOT,
    env: {
      ...process.env,
      BILBYCAST_DATA_DIR: dataDir,
      BILBYCAST_HOST: '127.0.0.1',
      BILBYCAST_PORT: String(port),
      BILBYCAST_ADMIN_USERNAME: ADMIN.username,
      BILBYCAST_ADMIN_PASSWORD: ADMIN.password,
      BILBYCAST_LOG_LEVEL: managerLogLevel,
      BILBYCAST_LOG_FORMAT: 'json',
      NODE_ENV: 'production'
    },
    stdio: ['ignore', out, 'pipe', 'ipc']
  });
  fs.closeSync(out);
  let inspectorUrl;
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    const text = chunk.toString();
    fs.appendFileSync(logFile, text);
    stderr += text;
    const m = stderr.match(/Debugger listening on (ws:\/\/\S+)/);
    if (m) inspectorUrl = m[1];
  });
  let exited = false;
  child.once('exit', () => (exited = true));
  const api = new ManagerApi(`http://127.0.0.1:${port}`);
  try {
    await waitFor('the manager to answer /health', async () => {
      if (exited) throw new Error('the manager exited');
      return api.health();
    });
  } catch (err) {
    throw new Error(`${err.message}\n--- manager log ---\n${tail(logFile)}`, { cause: err });
  }
  if (profile) await waitFor('the inspector URL', () => inspectorUrl, { timeoutMs: 5000 });
  // Event-loop delay since the last call, from lib/manager-probe.js inside the manager.
  let nextId = 1;
  const loop = () =>
    new Promise((resolve) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        child.off('message', onMessage);
        resolve(undefined);
      }, 10_000);
      const onMessage = (msg) => {
        if (!msg || msg.id !== id) return;
        clearTimeout(timer);
        child.off('message', onMessage);
        resolve(msg.loop);
      };
      child.on('message', onMessage);
      child.send({ id, cmd: 'loop' });
    });
  return { child, pid: child.pid, api, logFile, loop, inspectorUrl: () => inspectorUrl };
}

function tail(file, lines = 30) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function createNodes(api, n) {
  const t0 = Date.now();
  let done = 0;
  const nodes = await mapLimit(
    Array.from({ length: n }, (_, i) => i),
    8,
    async (i) => {
      const node = await api.createNode(`bench-edge-${i + 1}`);
      if (++done % 1000 === 0) log(`  created ${done}/${n} nodes`);
      return node;
    }
  );
  log(`  ${n} nodes created in ${fmt((Date.now() - t0) / 1000)} s`);
  return nodes;
}

/** Sampled check that the manager keeps up: frames it counted vs frames the devices sent. */
async function sampleCounters(api, fleet, nodes, indices) {
  const [managerCounts, fleetCounts] = await Promise.all([
    Promise.all(indices.map((i) => api.nodeMessages(nodes[i].id))),
    fleet.request('deviceCounts', { indices })
  ]);
  return { manager: managerCounts.reduce((a, b) => a + b, 0), fleet: fleetCounts.counts.reduce((a, b) => a + b, 0) };
}

async function commandPhase(api, nodes, opts) {
  const order = shuffle(nodes.map((_, i) => i));
  const running = new Map(); // node index → is flow-1 running (as far as we know)
  const errors = [];
  const one = async (index) => {
    const node = nodes[index];
    const isRunning = running.get(index) ?? true;
    const type = isRunning ? 'stop_flow' : 'start_flow';
    const t0 = performance.now();
    const res = await api.call('POST', `/api/v1/nodes/${node.id}/command`, { action: { type, flow_id: 'flow-1' } });
    const rtt = performance.now() - t0;
    if (res.status === 200 && res.json && res.json.success) running.set(index, !isRunning);
    else errors.push(`${type} → HTTP ${res.status} ${res.text.slice(0, 120)}`);
    return rtt;
  };
  const pick = (k) => order[k % order.length];
  const sequential = [];
  for (let k = 0; k < opts.commands; k++) sequential.push(await one(pick(k)));
  const concurrent = await mapLimit(
    Array.from({ length: opts.commands }, (_, k) => pick(opts.commands + k)),
    opts.concurrency,
    one
  );
  return { sequential: summary(sequential), concurrent: summary(concurrent), errors };
}

async function dashboardPhase(port, cookie, fleet, managerPid, nodes, opts) {
  const arrivals = new Map();
  const staleness = [];
  let ticks = 0;
  let tickBytes = 0;
  let snapshotAt;
  let snapshotNodes = 0;
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/dashboard`, { headers: { cookie }, perMessageDeflate: false, maxPayload: 256 * 1024 * 1024 });
  const t0 = Date.now();
  ws.on('message', (data) => {
    const now = Date.now();
    const msg = JSON.parse(data.toString());
    if (msg.type === 'snapshot') {
      snapshotAt = now;
      snapshotNodes = msg.nodes.length;
    } else if (msg.type === 'node_stats') {
      ticks++;
      tickBytes += data.length;
      for (const entry of msg.nodes) staleness.push(now - Date.parse(entry.at));
    } else if (msg.type === 'event' && typeof msg.event.message === 'string' && msg.event.message.startsWith('bench-evt-')) {
      arrivals.set(msg.event.message, now);
    }
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`dashboard upgrade refused: HTTP ${res.statusCode}`)));
  });
  await waitFor('the dashboard snapshot', () => snapshotAt, { timeoutMs: 30_000, everyMs: 50 });
  const snapshot_ms = snapshotAt - t0;
  // Skip the first ticks (stats that piled up before the connect), then measure.
  await sleep(2500);
  staleness.length = 0;
  ticks = 0;
  tickBytes = 0;
  const window = startWindow(managerPid);
  const sent = new Map();
  const everyMs = opts.events > 0 ? Math.min(200, Math.floor((opts.dashboardSecs * 1000) / opts.events)) : 0;
  const phaseEnd = Date.now() + opts.dashboardSecs * 1000;
  for (let k = 0; k < opts.events; k++) {
    const tag = `bench-evt-${k}-${crypto.randomBytes(3).toString('hex')}`;
    const index = crypto.randomInt(nodes.length);
    const { raised } = await fleet.request('raise', { items: [{ index, tag, severity: 'warning' }] });
    sent.set(tag, raised[0].sent_at);
    await sleep(everyMs);
  }
  if (Date.now() < phaseEnd) await sleep(phaseEnd - Date.now());
  const w = window.stop();
  await sleep(2000); // stragglers
  ws.close();
  const latencies = [];
  let missing = 0;
  for (const [tag, at] of sent) {
    const arrived = arrivals.get(tag);
    if (arrived === undefined) missing++;
    else latencies.push(arrived - at);
  }
  return {
    snapshot_ms,
    snapshot_nodes: snapshotNodes,
    event_latency: summary(latencies),
    events_missing: missing,
    stats_staleness: summary(staleness),
    ticks_per_sec: ticks / w.seconds,
    tick_kb: ticks ? kib(tickBytes / ticks) : NaN,
    entries_per_sec: staleness.length / w.seconds,
    cores: w.cores,
    machine_busy_cores: w.machine_busy_cores
  };
}

async function runManager(n, opts) {
  log(`manager: bilbycast-manager serve (SQLite), ${n} devices`);
  const dataDir = tempDir('bilbycast-bench-');
  const port = await freePort();
  let manager;
  let fleet;
  let ok = false;
  try {
    // 1. Register N nodes, then restart: the idle RSS is that of a fresh manager with N nodes in its database.
    manager = await startManager(dataDir, port, { ...opts, profile: false });
    await manager.api.login(ADMIN.username, ADMIN.password);
    await manager.api.createToken('bench');
    const nodes = await createNodes(manager.api, n);
    await stopChild(manager.child);
    const token = manager.api.token;
    manager = await startManager(dataDir, port, opts);
    manager.api.token = token;
    const cookie = await manager.api.login(ADMIN.username, ADMIN.password);
    await sleep(3000);
    const { rss: rss_idle, cores: idle_cores } = await idle(manager.pid, 5);
    log(`  idle manager with ${n} nodes registered: RSS ${fmt(mib(rss_idle))} MiB`);

    // 2. Connect the fleet (each device registers with its token), warm up.
    await manager.loop();
    const started = await startFleet(
      `ws://127.0.0.1:${port}/ws/node`,
      nodes.map((x) => x.registration_token),
      opts
    );
    fleet = started.fleet;
    const onlineInManager = await waitFor(`${n} nodes online in the manager`, async () => {
      const count = await manager.api.countOnline();
      return count === n ? count : false;
    });
    const rampLoop = await manager.loop();
    log(
      `  all online in ${fmt(started.online_secs)} s (manager agrees: ${onlineInManager}); manager event-loop delay meanwhile p99 ${fmt(rampLoop?.p99)} ms, max ${fmt(rampLoop?.max)} ms; warm-up ${opts.warmup} s`
    );
    await sleep(opts.warmup * 1000);

    // 3. The ingest window: nothing but device traffic.
    const sample = shuffle(nodes.map((_, i) => i)).slice(0, Math.min(50, n));
    const before = await sampleCounters(manager.api, fleet, nodes, sample);
    const profiler = opts.profile ? await startProfile(manager.inspectorUrl()) : undefined;
    await manager.loop();
    const window = await measure(manager.pid, fleet, opts.duration);
    const ingestLoop = await manager.loop();
    const profile = profiler ? await profiler.stop() : undefined;
    const after = await sampleCounters(manager.api, fleet, nodes, sample);
    const kept_up = (after.manager - before.manager) / (after.fleet - before.fleet);
    log(
      `  ${fmt(window.msg_rate, 0)} msg/s, ${fmt(window.cores * 100)}% of a core, ${fmt(window.us_per_msg, 2)} µs/msg, RSS ${fmt(mib(window.rss_mean))} MiB, manager counted ${fmt(kept_up * 100)}% of the sampled frames, event-loop delay p99 ${fmt(ingestLoop?.p99)} ms max ${fmt(ingestLoop?.max)} ms`
    );

    // 4. Commands under load.
    const commandProfiler = opts.profile ? await startProfile(manager.inspectorUrl()) : undefined;
    const c0 = startWindow(manager.pid);
    const commands = await commandPhase(manager.api, nodes, opts);
    const c1 = c0.stop();
    const commandProfile = commandProfiler ? await commandProfiler.stop() : undefined;
    const commandCores = c1.cores;
    const commandLoop = await manager.loop();
    // Manager CPU per command, net of the ingest load running meanwhile.
    const commandCpuMs = ((c1.cpu_seconds - window.cores * c1.seconds) / (2 * opts.commands)) * 1000;
    log(
      `  commands: sequential p50 ${fmt(commands.sequential.p50)} ms p99 ${fmt(commands.sequential.p99)} ms; ${opts.concurrency} in flight p50 ${fmt(commands.concurrent.p50)} ms p99 ${fmt(commands.concurrent.p99)} ms; ${commands.errors.length} errors; ~${fmt(commandCpuMs, 2)} ms manager CPU per command`
    );
    if (commands.errors.length) log(`  first errors: ${commands.errors.slice(0, 3).join(' | ')}`);

    // 5. One dashboard: snapshot, coalesced stats, event pushes.
    const dashboardProfiler = opts.profile ? await startProfile(manager.inspectorUrl()) : undefined;
    const dashboard = await dashboardPhase(port, cookie, fleet, manager.pid, nodes, opts);
    const dashboardProfile = dashboardProfiler ? await dashboardProfiler.stop() : undefined;
    const dashboardLoop = await manager.loop();
    log(
      `  dashboard: snapshot ${fmt(dashboard.snapshot_ms, 0)} ms; event push p50 ${fmt(dashboard.event_latency.p50)} ms p99 ${fmt(dashboard.event_latency.p99)} ms (${dashboard.events_missing} missing); stats staleness p50 ${fmt(dashboard.stats_staleness.p50, 0)} ms p99 ${fmt(dashboard.stats_staleness.p99, 0)} ms`
    );

    const final = await fleet.request('status');
    const result = {
      ...window,
      rss_idle,
      idle_cores,
      rss_kb_per_node: kib(window.rss_mean - rss_idle) / n,
      online_secs: started.online_secs,
      kept_up,
      commands,
      command_cores: commandCores,
      command_cpu_ms: commandCpuMs,
      loop: { ramp: rampLoop, ingest: ingestLoop, commands: commandLoop, dashboard: dashboardLoop },
      command_machine_busy_cores: c1.machine_busy_cores,
      dashboard,
      offline_at_end: final.total - (final.states.online || 0)
    };
    if (profile) result.profile = await saveProfile(profile, n, opts, `the ${opts.duration} s ingest window`, 'ingest');
    if (commandProfile) result.command_profile = await saveProfile(commandProfile, n, opts, `the command phase (${2 * opts.commands} commands)`, 'commands');
    if (dashboardProfile)
      result.dashboard_profile = await saveProfile(dashboardProfile, n, opts, 'the dashboard phase (connect, snapshot, events)', 'dashboard');
    ok = true;
    return result;
  } finally {
    if (fleet) {
      await fleet.request('stop', {}, 20_000).catch(() => {});
      await stopChild(fleet.child, 'SIGTERM', 5000);
    }
    if (manager) await stopChild(manager.child);
    if (!ok && manager) console.error(`--- manager log (${manager.logFile}) ---\n${tail(manager.logFile)}`);
    if (opts.keep) {
      keepTempDir(dataDir);
      log(`  kept ${dataDir}`);
    } else removeTempDir(dataDir);
  }
}

async function saveProfile(profile, n, opts, what, tag, who = 'manager') {
  fs.mkdirSync(opts.profileDir, { recursive: true });
  const file = path.join(opts.profileDir, `${who}-n${n}-${tag}-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`);
  fs.writeFileSync(file, JSON.stringify(profile));
  const s = summarizeProfile(profile, 30);
  console.log(`\nCPU profile of the ${who} over ${what} (${path.relative(ROOT, file)}):`);
  console.log(`busy ${fmt(s.busy_ms, 0)} ms of ${fmt(s.total_ms, 0)} ms sampled\n\nby package (self time, % of busy):`);
  for (const r of s.packages) console.log(`  ${fmt(r.busy_pct).padStart(5)}%  ${r.name}`);
  console.log('\ntop functions (self time, % of busy):');
  for (const r of s.self) console.log(`  ${fmt(r.busy_pct).padStart(5)}%  ${r.name}`);
  console.log('\ntop functions (inclusive time, % of busy):');
  for (const r of s.inclusive) console.log(`  ${fmt(r.busy_pct).padStart(5)}%  ${r.name}`);
  return { file, summary: s };
}

/** Which code ran: the commit, whether the packages' sources differ from it, and dist/ freshness. */
function codeVersion() {
  const git = (...args) => {
    try {
      return require('node:child_process')
        .execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
        .trim();
    } catch {
      return '';
    }
  };
  const commit = git('rev-parse', '--short', 'HEAD') || 'unknown';
  const dirty = git('status', '--porcelain', '--', 'core', 'plugins', 'drivers', 'examples/device-simulator').split('\n').filter(Boolean).length;
  const newest = (dir) => {
    let t = 0;
    const walk = (d) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const f = path.join(d, e.name);
        if (e.isDirectory()) walk(f);
        else t = Math.max(t, fs.statSync(f).mtimeMs);
      }
    };
    if (fs.existsSync(dir)) walk(dir);
    return t;
  };
  const stale = [];
  for (const group of ['core', 'plugins', 'drivers']) {
    for (const pkg of fs.readdirSync(path.join(ROOT, group))) {
      const dir = path.join(ROOT, group, pkg);
      if (newest(path.join(dir, 'src')) > newest(path.join(dir, 'dist'))) stale.push(`${group}/${pkg}`);
    }
  }
  return { commit, dirty_files: dirty, stale_dist: stale };
}

function shuffle(array) {
  for (let i = array.length - 1; i > 0; i--) {
    const j = crypto.randomInt(i + 1);
    [array[i], array[j]] = [array[j], array[i]];
  }
  return array;
}

// ---- report -------------------------------------------------------------------------------

function verdict(step) {
  const m = step.manager;
  const ratio = step.baseline ? m.cores_per_1k / step.baseline.cores_per_1k : NaN;
  const checks = {
    ingest_ratio: { value: ratio, target: TARGETS.ingest_ratio, ok: ratio <= TARGETS.ingest_ratio },
    rss_kb_per_node: { value: m.rss_kb_per_node, target: TARGETS.rss_kb_per_node, ok: m.rss_kb_per_node <= TARGETS.rss_kb_per_node },
    command_p99_ms: { value: m.commands.sequential.p99, target: TARGETS.command_p99_ms, ok: m.commands.sequential.p99 <= TARGETS.command_p99_ms }
  };
  const reached = m.offline_at_end === 0 && m.kept_up >= 0.95;
  return { ratio, checks, reached, all_ok: reached && Object.values(checks).every((c) => c.ok) };
}

const yes = (ok) => (ok ? 'met' : '**missed**');
const loopText = (l) => (l ? `${fmt(l.p99, 0)} / ${fmt(l.max, 0)}` : '–');

function markdown(steps, opts, machine, failed) {
  const lines = [];
  const date = new Date().toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
  lines.push(`## ${date} — N = ${steps.map((s) => s.n).join(', ')}`);
  lines.push('');
  const { code } = machine;
  lines.push(
    `Code: commit \`${code.commit}\`${code.dirty_files ? ` with ${code.dirty_files} uncommitted changes in core/, plugins/, drivers/ or the simulator` : ''}` +
      `${code.stale_dist.length ? ` — **dist/ older than src/ in ${code.stale_dist.join(', ')}** (not rebuilt)` : ''}.`
  );
  lines.push('');
  lines.push(
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.ram_gib} GiB RAM, ${machine.platform}, Linux ${machine.kernel}, Node ${machine.node}. ` +
      `Manager: \`bilbycast-manager serve\`, SQLite, log level warn, one process. Fleet: edges from @bilbycast/device-simulator (2 flows, stats every ${opts.statsIntervalMs / 1000} s, health every ${opts.healthIntervalMs / 1000} s, no thumbnails), in one other process. ` +
      `${opts.managerNodeArgs.length ? `Manager node flags: \`${opts.managerNodeArgs.join(' ')}\`. ` : ''}Window ${opts.duration} s after ${opts.warmup} s warm-up; ${opts.commands} sequential + ${opts.commands} commands ${opts.concurrency} in flight; ${opts.events} events over ${opts.dashboardSecs} s to one dashboard.`
  );
  lines.push('');
  lines.push(
    '| N | msg/s | baseline µs CPU/msg | manager µs CPU/msg | ratio (target ≤ 2) | manager cores | fleet cores | RSS idle → loaded (MiB) | RSS/node KB (target ≤ 100) | baseline RSS/node KB | cmd p50 / p99 ms (target p99 ≤ 50) | cmd p50 / p99 ms, ' +
      opts.concurrency +
      ' in flight | event push p50 / p99 ms | stats staleness p50 / p99 ms | manager counted |'
  );
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const s of steps) {
    const m = s.manager;
    const b = s.baseline;
    const v = s.verdict;
    lines.push(
      `| ${s.n} | ${fmt(m.msg_rate, 0)} | ${b ? fmt(b.us_per_msg, 2) : '–'} | ${fmt(m.us_per_msg, 2)} | ${fmt(v.ratio, 2)} ${v.checks.ingest_ratio.ok ? '' : '✗'} | ${fmt(m.cores, 3)} | ${fmt(m.fleet_cores, 3)} | ${fmt(mib(m.rss_idle))} → ${fmt(mib(m.rss_mean))} | ${fmt(m.rss_kb_per_node)} ${v.checks.rss_kb_per_node.ok ? '' : '✗'} | ${b ? fmt(b.rss_kb_per_node) : '–'} | ` +
        `${fmt(m.commands.sequential.p50)} / ${fmt(m.commands.sequential.p99)} ${v.checks.command_p99_ms.ok ? '' : '✗'} | ${fmt(m.commands.concurrent.p50)} / ${fmt(m.commands.concurrent.p99)} | ` +
        `${fmt(m.dashboard.event_latency.p50)} / ${fmt(m.dashboard.event_latency.p99)} | ${fmt(m.dashboard.stats_staleness.p50, 0)} / ${fmt(m.dashboard.stats_staleness.p99, 0)} | ${fmt(m.kept_up * 100)}% |`
    );
  }
  lines.push('');
  const reached = steps.filter((s) => s.verdict.reached).map((s) => s.n);
  const meeting = steps.filter((s) => s.verdict.all_ok).map((s) => s.n);
  lines.push(
    `Largest N reached (all online, manager kept up): **${reached.length ? Math.max(...reached) : 'none'}**; largest N meeting all three targets: **${meeting.length ? Math.max(...meeting) : 'none'}**.`
  );
  if (failed) lines.push(`- N = ${failed.n}: **not reached** (${failed.during} phase): ${failed.error}`);
  for (const s of steps) {
    const v = s.verdict;
    // The fleet should write N × (1000/stats + 1000/health) frames per second; much less means it was starved of CPU.
    const expected = s.n * (1000 / opts.statsIntervalMs + 1000 / opts.healthIntervalMs);
    const delivered = s.manager.msg_rate / expected;
    lines.push(
      `- N = ${s.n}: ${delivered < 0.97 ? `**offered load short: the fleet delivered ${fmt(delivered * 100, 0)} % of the nominal ${fmt(expected, 0)} msg/s (CPU-starved machine)**; ` : ''}ingest cost ${fmt(v.ratio, 2)}× baseline — ${yes(v.checks.ingest_ratio.ok)}; ${fmt(s.manager.rss_kb_per_node)} KB RSS per node — ${yes(v.checks.rss_kb_per_node.ok)}; ` +
        `command p99 ${fmt(s.manager.commands.sequential.p99)} ms — ${yes(v.checks.command_p99_ms.ok)}` +
        `${s.manager.commands.errors.length ? ` (${s.manager.commands.errors.length} command errors)` : ''}. ` +
        `Baseline: ${s.baseline ? `${fmt(s.baseline.cores * 100, 1)}% of a core for ${fmt(s.baseline.msg_rate, 0)} msg/s` : 'not run'}; manager ${fmt(s.manager.cores * 100, 1)}% (${fmt(s.manager.cores_per_1k * 100, 2)}% of a core per 1000 msg/s); ` +
        `with one dashboard attached ${fmt(s.manager.dashboard.cores * 100, 1)}%; ~${fmt(s.manager.command_cpu_ms, 2)} ms manager CPU per command; ` +
        `other load on the machine during the windows: ${s.baseline ? fmt(s.baseline.other_cores, 2) : '–'} / ${fmt(s.manager.other_cores, 2)} cores (baseline / manager), whole machine busy ${fmt(s.manager.command_machine_busy_cores, 2)} / ${fmt(s.manager.dashboard.machine_busy_cores, 2)} of ${machine.cores} cores in the command / dashboard phases; ` +
        `manager event-loop delay p99 / max (ms): connect ramp ${loopText(s.manager.loop.ramp)}, ingest ${loopText(s.manager.loop.ingest)}, commands ${loopText(s.manager.loop.commands)}, dashboard ${loopText(s.manager.loop.dashboard)}; dashboard snapshot of ${s.manager.dashboard.snapshot_nodes} nodes in ${fmt(s.manager.dashboard.snapshot_ms, 0)} ms, node_stats ${fmt(s.manager.dashboard.tick_kb, 0)} KB per tick.`
    );
  }
  lines.push('');
  return lines.join('\n');
}

function appendResults(file, text) {
  const header =
    '# Device-ingest benchmark results\n\nWritten by `npm run bench` (`bench/device-ingest.js`); newest last. See bench/README.md for what each column means.\n\n';
  if (!fs.existsSync(file)) fs.writeFileSync(file, header);
  fs.appendFileSync(file, `${text}\n`);
}

// ---- main ---------------------------------------------------------------------------------

async function main() {
  const opts = options();
  if (!fs.existsSync(path.join(ROOT, 'core/manager/dist/index.js')) || !fs.existsSync(path.join(ROOT, 'examples/device-simulator/dist/index.js'))) {
    console.error('bench: run `npm run build` first (the bench uses the compiled packages in dist/)');
    process.exit(2);
  }
  const machine = machineDescription();
  const code = codeVersion();
  log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.ram_gib} GiB, Node ${machine.node}`);
  log(`code: commit ${code.commit}${code.dirty_files ? ` + ${code.dirty_files} uncommitted changes in the packages` : ''}`);
  if (code.stale_dist.length)
    log(`WARNING: src/ is newer than dist/ in ${code.stale_dist.join(', ')}: run \`npm run build\` first, or the bench measures old code`);
  const steps = [];
  let failed;
  for (const n of opts.steps) {
    const step = { n };
    try {
      if (opts.baseline) step.baseline = await runBaseline(n, opts);
      step.manager = await runManager(n, opts);
    } catch (err) {
      log(`N = ${n} failed: ${err.message}`);
      failed = { n, during: step.baseline || !opts.baseline ? 'manager' : 'baseline', error: err.message.split('\n')[0] };
      break;
    }
    step.verdict = verdict(step);
    steps.push(step);
    if (!step.verdict.reached) {
      log(`N = ${n} not reached (devices offline or the manager fell behind): not going higher`);
      break;
    }
  }
  if (steps.length === 0) {
    console.error('bench: no step completed');
    process.exit(1);
  }
  const text = markdown(steps, opts, { ...machine, code }, failed);
  console.log(`\n${text}`);
  fs.mkdirSync(path.join(__dirname, 'out'), { recursive: true });
  const json = path.join(__dirname, 'out', `device-ingest-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(
    json,
    JSON.stringify(
      {
        machine,
        code,
        opts,
        failed,
        steps: steps.map(({ manager, baseline, ...rest }) => ({
          ...rest,
          baseline: baseline && { ...baseline, profile: baseline.profile?.file },
          manager: manager && {
            ...manager,
            profile: manager.profile?.file,
            command_profile: manager.command_profile?.file,
            dashboard_profile: manager.dashboard_profile?.file
          }
        }))
      },
      null,
      2
    )
  );
  log(`raw numbers: ${path.relative(ROOT, json)}`);
  if (opts.write) {
    appendResults(opts.results, text);
    log(`appended to ${path.relative(ROOT, opts.results)}`);
  } else if (opts.profile) {
    log('profiled run: results not written (the profiler adds CPU)');
  }
}

// A missed target is a result, not a failure: the exit status is 0 unless the bench itself failed.
main().then(
  () => process.exit(0),
  (err) => {
    console.error(err && err.stack ? err.stack : err);
    process.exit(1);
  }
);
