'use strict';
/**
 * Process and machine readings from /proc (Linux only): CPU time and RSS of another process,
 * and a one-line description of the machine for RESULTS.md.
 */
const fs = require('node:fs');
const os = require('node:os');
const { execFileSync } = require('node:child_process');

/** Clock ticks per second for /proc/<pid>/stat (USER_HZ; 100 on every Linux we run on). */
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** User + system CPU seconds used so far by the process (its threads included, children not). */
function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces: split after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / CLK_TCK;
}

/** Resident set size in bytes (VmRSS) and its high-water mark (VmHWM). */
function memory(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name) => {
    const m = status.match(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) * 1024 : NaN;
  };
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** Total CPU seconds of the whole machine (all cores, all modes but idle/iowait) from /proc/stat. */
function machineBusySeconds() {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = v;
  return { busy: (user + nice + system + irq + softirq + (steal || 0)) / CLK_TCK, idle: (idle + iowait) / CLK_TCK, steal: (steal || 0) / CLK_TCK };
}

/**
 * CPU and memory of a process over a window: call start(), later stop(). RSS is sampled every
 * `sampleMs` in between (mean and max reported) since a Node heap breathes with GC.
 */
function startWindow(pid, sampleMs = 1000) {
  const t0 = process.hrtime.bigint();
  const cpu0 = cpuSeconds(pid);
  const m0 = machineBusySeconds();
  const rss = [memory(pid).rss];
  const timer = setInterval(() => {
    try {
      rss.push(memory(pid).rss);
    } catch {
      /* process gone: reported by stop() */
    }
  }, sampleMs);
  return {
    stop() {
      clearInterval(timer);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const cpu = cpuSeconds(pid) - cpu0;
      const m1 = machineBusySeconds();
      rss.push(memory(pid).rss);
      return {
        seconds,
        cpu_seconds: cpu,
        cores: cpu / seconds,
        rss_mean: rss.reduce((a, b) => a + b, 0) / rss.length,
        rss_max: rss.reduce((a, b) => (b > a ? b : a), 0),
        rss_last: rss[rss.length - 1],
        machine_busy_cores: (m1.busy - m0.busy) / seconds,
        machine_steal_cores: (m1.steal - m0.steal) / seconds
      };
    }
  };
}

function machineDescription() {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown CPU';
  try {
    const info = fs.readFileSync('/proc/cpuinfo', 'utf8');
    const m = info.match(/^model name\s*:\s*(.+)$/m);
    if (m) cpuModel = m[1].trim();
  } catch {
    /* keep os.cpus() */
  }
  let kernel = os.release();
  return {
    cpu: cpuModel,
    cores: os.cpus().length,
    ram_gib: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    kernel,
    platform: `${os.platform()} ${os.arch()}`
  };
}

module.exports = { cpuSeconds, memory, startWindow, machineDescription, machineBusySeconds, CLK_TCK };
