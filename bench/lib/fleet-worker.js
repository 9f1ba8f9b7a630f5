'use strict';
/**
 * The simulated fleet, in its own process: N `@bilbycast/device-simulator` edges dialling one
 * URL. Every frame the devices write is counted here (WebSocket#send is wrapped), so the
 * message rate is the offered load, measured the same way for the manager and the baseline.
 *
 * IPC (parent → worker): {cmd:'start', url, tokens, ramp_ms, stats_interval_ms, health_interval_ms}
 * · {cmd:'status'} · {cmd:'raise', items:[{index, tag, severity}]} · {cmd:'deviceCounts', indices}
 * · {cmd:'stop'}. Every request carries `id`; the answer echoes it.
 */
const WebSocket = require('ws');
const { createFleet } = require('@bilbycast/device-simulator');

let sent = 0;
let sentBytes = 0;
const perSocket = new WeakMap();
const originalSend = WebSocket.prototype.send;
WebSocket.prototype.send = function countedSend(data, ...rest) {
  if (this.readyState === WebSocket.OPEN) {
    sent++;
    sentBytes += typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    perSocket.set(this, (perSocket.get(this) || 0) + 1);
  }
  return originalSend.call(this, data, ...rest);
};

/** @type {ReturnType<typeof createFleet> | undefined} */
let fleet;
let commandsAnswered = 0;
const disconnects = {};

function states() {
  const counts = {};
  for (const device of fleet ? fleet.devices : []) counts[device.state] = (counts[device.state] || 0) + 1;
  return counts;
}

const handlers = {
  start(msg) {
    fleet = createFleet({
      url: msg.url,
      ramp_ms: msg.ramp_ms,
      devices: msg.tokens.map((registration_token, i) => ({
        kind: 'edge',
        name: `bench-edge-${i + 1}`,
        registration_token,
        // Spread over 64 loopback addresses, as a real fleet comes from many: per-address sign-in limits apply as in the field.
        local_address: `127.0.0.${2 + (i % 64)}`,
        thumbnail_interval_ms: 0,
        stats_interval_ms: msg.stats_interval_ms,
        health_interval_ms: msg.health_interval_ms,
        // A device that loses the manager mid-run stays down: the bench must see it, not hide it.
        reconnect_delay_ms: msg.reconnect_delay_ms ?? 5000
      }))
    });
    for (const device of fleet.devices) {
      device.on('command', () => commandsAnswered++);
      // Why connection attempts end, numbers stripped so that they group (for diagnostics).
      device.on('disconnected', (reason) => {
        const key = String(reason)
          .replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '<id>')
          .replace(/\d+/g, 'N')
          .slice(0, 120);
        disconnects[key] = (disconnects[key] || 0) + 1;
      });
    }
    fleet.start();
    return { started: fleet.devices.length };
  },
  status() {
    return {
      sent,
      sent_bytes: sentBytes,
      states: states(),
      total: fleet ? fleet.devices.length : 0,
      commands_answered: commandsAnswered,
      disconnects,
      rss: process.memoryUsage().rss
    };
  },
  raise(msg) {
    const out = [];
    for (const item of msg.items) {
      const device = fleet.devices[item.index];
      const sent_at = Date.now();
      device.raiseEvent({ severity: item.severity || 'warning', category: 'bench', message: item.tag });
      out.push({ tag: item.tag, sent_at, online: device.state === 'online' });
    }
    return { raised: out };
  },
  deviceCounts(msg) {
    // `ws` is a TypeScript-private field of SimulatedDevice: fine to read from plain JS here.
    return { counts: msg.indices.map((i) => (fleet.devices[i].ws ? perSocket.get(fleet.devices[i].ws) || 0 : 0)) };
  },
  async stop() {
    if (fleet) await Promise.race([fleet.stop(), new Promise((r) => setTimeout(r, 5000))]);
    return { stopped: true };
  }
};

process.on('message', async (msg) => {
  const handler = handlers[msg.cmd];
  let reply;
  try {
    reply = handler ? await handler(msg) : { error: `unknown command ${msg.cmd}` };
  } catch (err) {
    reply = { error: String(err && err.stack ? err.stack : err) };
  }
  process.send({ id: msg.id, ...reply });
  if (msg.cmd === 'stop') setTimeout(() => process.exit(0), 50);
});
process.on('disconnect', () => process.exit(0));
