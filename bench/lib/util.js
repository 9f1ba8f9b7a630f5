'use strict';
/** Small helpers: percentiles, a bounded-concurrency map, sleeps, a free port, formatting. */
const net = require('node:net');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Nearest-rank percentile of an unsorted array (p in 0..100); NaN for an empty array. */
function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

function summary(values) {
  return {
    n: values.length,
    p50: percentile(values, 50),
    p90: percentile(values, 90),
    p99: percentile(values, 99),
    // No Math.max(...values): a dashboard phase collects 100k+ staleness samples.
    max: values.length ? values.reduce((a, b) => (b > a ? b : a), -Infinity) : NaN,
    mean: values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN
  };
}

/** Runs fn over items with at most `limit` in flight; results in input order. */
async function mapLimit(items, limit, fn) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitFor(what, check, { timeoutMs = 30_000, everyMs = 250 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await sleep(everyMs);
  }
}

const fmt = (value, digits = 1) => (value === undefined || value === null || Number.isNaN(value) ? '–' : Number(value).toFixed(digits));
const mib = (bytes) => bytes / 1024 / 1024;
const kib = (bytes) => bytes / 1024;

function log(...args) {
  const t = new Date().toISOString().slice(11, 19);
  console.error(`[bench ${t}]`, ...args);
}

module.exports = { sleep, percentile, summary, mapLimit, freePort, waitFor, fmt, mib, kib, log };
