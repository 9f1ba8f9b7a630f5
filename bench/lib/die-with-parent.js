'use strict';
/**
 * Preloaded (`node -r`) into the manager child: when the bench process goes away (its IPC
 * channel closes, even after a SIGKILL of the bench) the manager shuts down like on SIGTERM.
 * It does nothing else; the channel is unref'd so it never keeps the manager alive by itself.
 */
if (process.channel) {
  process.channel.unref();
  process.on('disconnect', () => {
    process.kill(process.pid, 'SIGTERM');
    setTimeout(() => process.exit(1), 15_000).unref();
  });
}
