import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { api } from '../../api/client';
import { formatBitrate } from '../../components/format';
import type { LiveStats } from '../../live/LiveFeedProvider';
import type { HistoryResponse } from './types';

/** The chart keeps this much history (the manager keeps 30 minutes too). */
const WINDOW_SECS = 30 * 60;
const MAX_POINTS = 3600;
const HEIGHT = 220;

// uPlot draws on a canvas: colours must be real values, not CSS variables.
const COLORS = { line: '#3b82f6', fill: 'rgba(59, 130, 246, 0.15)', axis: '#94a3b8', grid: '#1e293b', tick: '#334155' };

interface Series {
  xs: number[];
  ys: number[];
}

/** Adds a point in time order (dropping duplicates and out-of-order samples) and trims the window. */
function append(series: Series, t: number, v: number): void {
  const last = series.xs[series.xs.length - 1];
  if (last !== undefined && t <= last) return;
  series.xs.push(t);
  series.ys.push(v);
  const cutoff = t - WINDOW_SECS;
  let drop = 0;
  while (drop < series.xs.length && series.xs[drop] < cutoff) drop++;
  drop = Math.max(drop, series.xs.length - MAX_POINTS);
  if (drop > 0) {
    series.xs.splice(0, drop);
    series.ys.splice(0, drop);
  }
}

/**
 * The node's bitrate over the last 30 minutes: seeded from the manager's history, then one
 * point per live stats summary.
 */
export function BitrateChart({ nodeId, live }: { nodeId: string; live: LiveStats | undefined }) {
  const container = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const series = useRef<Series>({ xs: [], ys: [] });
  const [count, setCount] = useState(0);
  const [latest, setLatest] = useState<number | undefined>(undefined);

  const redraw = () => {
    plot.current?.setData([series.current.xs, series.current.ys]);
    setCount(series.current.xs.length);
    setLatest(series.current.ys[series.current.ys.length - 1]);
  };

  // The chart itself, sized to its container.
  useEffect(() => {
    const el = container.current;
    if (!el) return;
    const axis = { stroke: COLORS.axis, grid: { stroke: COLORS.grid, width: 1 }, ticks: { stroke: COLORS.tick, width: 1 } };
    const chart = new uPlot(
      {
        width: Math.max(el.clientWidth, 300),
        height: HEIGHT,
        series: [
          {},
          {
            label: 'Bitrate',
            stroke: COLORS.line,
            width: 2,
            fill: COLORS.fill,
            points: { show: false },
            value: (_u, v) => (v === null || v === undefined ? '—' : formatBitrate(v))
          }
        ],
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max((max ?? 0) * 1.15, 1000)] } },
        axes: [axis, { ...axis, size: 80, values: (_u, values) => values.map((v) => formatBitrate(v)) }],
        legend: { show: true },
        cursor: { drag: { x: false, y: false } }
      },
      [series.current.xs, series.current.ys],
      el
    );
    plot.current = chart;
    const observer = new ResizeObserver(() => {
      const width = Math.max(el.clientWidth, 300);
      if (width !== chart.width) chart.setSize({ width, height: HEIGHT });
    });
    observer.observe(el);
    return () => {
      observer.disconnect();
      chart.destroy();
      plot.current = null;
    };
  }, []);

  // Seed from the manager's history; live points already received are kept.
  useEffect(() => {
    let cancelled = false;
    api.get<HistoryResponse>(`/api/v1/nodes/${nodeId}/stats/history`).then(
      (history) => {
        if (cancelled) return;
        const seeded: Series = { xs: [], ys: [] };
        for (const p of history.points) {
          if (typeof p.bitrate_bps === 'number') append(seeded, Date.parse(p.at) / 1000, p.bitrate_bps);
        }
        const liveFrom = seeded.xs[seeded.xs.length - 1] ?? -Infinity;
        series.current.xs.forEach((t, i) => {
          if (t > liveFrom) append(seeded, t, series.current.ys[i]);
        });
        series.current = seeded;
        redraw();
      },
      () => undefined
    );
    return () => {
      cancelled = true;
    };
  }, [nodeId]);

  // One point per live summary.
  const liveAt = live?.at;
  const liveBitrate = live?.summary?.bitrate_bps;
  useEffect(() => {
    if (liveAt === undefined || typeof liveBitrate !== 'number') return;
    append(series.current, Date.parse(liveAt) / 1000, liveBitrate);
    redraw();
  }, [liveAt, liveBitrate]);

  return (
    <section className="panel" aria-labelledby="chart-heading">
      <h2 id="chart-heading">Bitrate</h2>
      <div
        ref={container}
        className="nd-chart"
        role="img"
        aria-label={`Bitrate over the last 30 minutes${latest !== undefined ? `, now ${formatBitrate(latest)}` : ''}`}
        data-testid="bitrate-chart"
        data-points={count}
      />
      {count === 0 && <p className="muted">No bitrate samples yet.</p>}
    </section>
  );
}
