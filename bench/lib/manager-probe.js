'use strict';
/**
 * Preloaded (`node -r`) into the manager child by the bench; touches nothing of the manager.
 * - When the bench process goes away (its IPC channel closes, even after a SIGKILL of the
 *   bench), the manager shuts down as on SIGTERM.
 * - It keeps an event-loop delay histogram (perf_hooks, 10 ms resolution: one libuv timer) and
 *   answers {cmd:'loop'} with its percentiles in ms, then resets it, so each bench phase gets
 *   its own reading. A delayed loop is what devices and API clients feel: late upgrades, late
 *   auth replies, late command round trips.
 * The channel is unref'd: it never keeps the manager alive by itself.
 */
const { monitorEventLoopDelay } = require('node:perf_hooks');

if (process.channel) {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  process.on('message', (msg) => {
    if (!msg || msg.cmd !== 'loop') return;
    const ms = (ns) => ns / 1e6;
    process.send({
      id: msg.id,
      loop: { p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max), mean: ms(histogram.mean) }
    });
    histogram.reset();
  });
  process.on('disconnect', () => {
    process.kill(process.pid, 'SIGTERM');
    setTimeout(() => process.exit(1), 15_000).unref();
  });
  process.channel.unref();
}
