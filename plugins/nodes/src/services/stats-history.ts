import type { DeviceSummary } from '@bilbycast/driver-sdk';

/** The summary metrics kept per point, in column order. */
export const HISTORY_FIELDS = ['bitrate_bps', 'flows_active', 'flows_total', 'tunnels_active', 'tunnels_total', 'uptime_secs'] as const;
export type HistoryField = (typeof HISTORY_FIELDS)[number];

export type HistoryPoint = { at: string } & Partial<Record<HistoryField, number>>;

/**
 * A fixed-size ring of summary points for one node's charts, stored in one typed array so
 * that memory per node stays small and constant (a point is at most one per interval).
 */
export class StatsHistory {
  readonly #columns = HISTORY_FIELDS.length + 1;
  readonly #values: Float64Array;
  #next = 0;
  #size = 0;

  constructor(
    private readonly capacity: number,
    private readonly intervalMs: number
  ) {
    this.#values = new Float64Array(capacity * this.#columns).fill(Number.NaN);
  }

  /** Adds a point unless the last one is more recent than the interval. */
  add(atMs: number, summary: DeviceSummary): void {
    if (this.#size > 0) {
      const last = (this.#next - 1 + this.capacity) % this.capacity;
      if (atMs - this.#values[last * this.#columns] < this.intervalMs) return;
    }
    const base = this.#next * this.#columns;
    this.#values[base] = atMs;
    HISTORY_FIELDS.forEach((field, i) => {
      const value = summary[field];
      this.#values[base + 1 + i] = typeof value === 'number' && Number.isFinite(value) ? value : Number.NaN;
    });
    this.#next = (this.#next + 1) % this.capacity;
    this.#size = Math.min(this.#size + 1, this.capacity);
  }

  /** Points oldest first, optionally only those at or after `sinceMs`. */
  points(sinceMs = 0): HistoryPoint[] {
    const out: HistoryPoint[] = [];
    const start = (this.#next - this.#size + this.capacity) % this.capacity;
    for (let n = 0; n < this.#size; n++) {
      const base = ((start + n) % this.capacity) * this.#columns;
      const at = this.#values[base];
      if (at < sinceMs) continue;
      const point: HistoryPoint = { at: new Date(at).toISOString() };
      HISTORY_FIELDS.forEach((field, i) => {
        const value = this.#values[base + 1 + i];
        if (!Number.isNaN(value)) point[field] = value;
      });
      out.push(point);
    }
    return out;
  }
}
