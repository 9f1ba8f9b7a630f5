'use strict';
/**
 * CPU profiling of the manager child over exactly the measurement window, through the V8
 * inspector it opens with `--inspect=127.0.0.1:0` (Profiler.start / Profiler.stop over the
 * inspector WebSocket), and a summary of the profile by function and by package.
 */
const path = require('node:path');
const WebSocket = require('ws');

async function connectInspector(wsUrl) {
  const ws = new WebSocket(wsUrl, { perMessageDeflate: false, maxPayload: 1024 * 1024 * 1024 });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  let nextId = 1;
  const pending = new Map();
  ws.on('message', (data) => {
    const msg = JSON.parse(data.toString());
    if (msg.id && pending.has(msg.id)) {
      const { resolve, reject } = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) reject(new Error(msg.error.message));
      else resolve(msg.result);
    }
  });
  return {
    call(method, params = {}) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        ws.send(JSON.stringify({ id, method, params }));
      });
    },
    close() {
      ws.close();
    }
  };
}

async function startProfile(wsUrl, samplingIntervalUs = 500) {
  const inspector = await connectInspector(wsUrl);
  await inspector.call('Profiler.enable');
  await inspector.call('Profiler.setSamplingInterval', { interval: samplingIntervalUs });
  await inspector.call('Profiler.start');
  return {
    async stop() {
      const { profile } = await inspector.call('Profiler.stop');
      await inspector.call('Profiler.disable');
      inspector.close();
      return profile;
    }
  };
}

/** Where a frame's code lives: a package name, a workspace package, node internals or V8. */
function packageOf(url, functionName) {
  if (!url) return functionName.startsWith('(') ? functionName : '(native/V8)';
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const file = url.replace(/^file:\/\//, '');
  const nm = file.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = file.slice(nm + 14).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const ws = file.match(/\/(core|plugins|drivers|examples)\/([^/]+)\//);
  if (ws) return `@bilbycast/${ws[2]} (workspace)`;
  return path.basename(file);
}

/**
 * Self time per function and per package, and inclusive (total) time per function, as
 * percentages of all samples (idle excluded from the denominator of "busy %").
 */
function summarizeProfile(profile, top = 25) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children || []) parent.set(c, n.id);
  const dt = new Map();
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) dt.set(samples[i], (dt.get(samples[i]) || 0) + (timeDeltas[i] || 0));
  const total = [...dt.values()].reduce((a, b) => a + b, 0);
  const label = (n) => {
    const f = n.callFrame;
    const file = f.url ? f.url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules|core|plugins|drivers|examples)\//, '$1/') : '';
    return `${f.functionName || '(anonymous)'} ${file ? `${file}:${f.lineNumber + 1}` : ''}`.trim();
  };
  const self = new Map();
  const pkg = new Map();
  const inclusive = new Map();
  let idle = 0;
  for (const [id, us] of dt) {
    const n = byId.get(id);
    const name = n.callFrame.functionName;
    if (name === '(idle)') {
      idle += us;
      continue;
    }
    self.set(label(n), (self.get(label(n)) || 0) + us);
    const p = packageOf(n.callFrame.url, name);
    pkg.set(p, (pkg.get(p) || 0) + us);
    // Inclusive: every distinct frame on the stack gets the sample once.
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const l = label(byId.get(cur));
      if (seen.has(l)) continue;
      seen.add(l);
      inclusive.set(l, (inclusive.get(l) || 0) + us);
    }
  }
  const busy = total - idle;
  const rank = (m) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000, busy_pct: (100 * us) / busy }));
  return {
    total_ms: total / 1000,
    busy_ms: busy / 1000,
    self: rank(self),
    packages: rank(pkg),
    inclusive: rank(inclusive).filter((r) => !r.name.startsWith('(root)'))
  };
}

module.exports = { startProfile, summarizeProfile };
