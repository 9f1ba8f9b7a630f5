/**
 * Timestamps as the devices write them: chrono `to_rfc3339()` with a nanosecond fraction and
 * a `+00:00` offset, e.g. `2026-08-21T04:39:21.482913512+00:00`.
 *
 * Wall-clock anchored once, then advanced by the monotonic high-resolution clock, so the
 * nanosecond digits are real and timestamps never go backwards within a process.
 */
const ANCHOR_NS = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

let cachedSecond = -1n;
let cachedPrefix = '';

export function rfc3339Nanos(): string {
  const ns = ANCHOR_NS + process.hrtime.bigint();
  const second = ns / 1_000_000_000n;
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedPrefix = new Date(Number(second) * 1000).toISOString().slice(0, 19);
  }
  return `${cachedPrefix}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}+00:00`;
}
