/**
 * A chart's geometry, as btop draws one: a column is a span of time (the sampling interval), so
 * a sample sits in the column of its time and a stretch without samples is a gap; the y axis has
 * evenly spaced labels on whole rows, and its top holds every drawn value. Pure: it says where
 * each dot and label goes (in braille pixels, 2 x 4 per cell), and screen.ts draws them.
 */
import { formatDuration } from '../../format/units';

export const PX_X = 2;
export const PX_Y = 4;

export interface YScale {
  top: number; // the value of the top label
  step: number;
  /** Rows the scale uses, from the bottom (a row or two at the top may stay blank). */
  rows: number;
  labels: Array<{ row: number; text: string }>; // row from the top of the plot
  width: number; // characters of the widest label
}

const NICE = [1, 2, 2.5, 5, 10];

/** The smallest nice step (1, 2, 2.5 or 5 times a power of ten) at least v. */
export function niceStep(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of NICE) if (m * p >= v * (1 - 1e-12)) return Number((m * p).toPrecision(6));
  return 10 * p;
}

function decimals(step: number): number {
  for (let d = 0; d < 6; d++) if (Math.abs(Math.round(step * 10 ** d) - step * 10 ** d) < 1e-6) return d;
  return 6;
}

/**
 * n steps of k rows each fill used - 1 rows (the bottom one is 0), k of 2 or more where a row or
 * two left blank at the top allow it, so labels stand evenly on every other row or sparser.
 * Of those, the one whose top is nearest the largest value: the lines use the height.
 */
function layouts(rows: number): Array<{ used: number; n: number }> {
  if (rows <= 2) return [{ used: rows, n: Math.max(1, rows - 1) }];
  const out: Array<{ used: number; n: number }> = [];
  for (const used of [rows, rows - 1, rows - 2])
    for (const n of [5, 4, 3, 2]) if (used > 2 && (used - 1) % n === 0 && (used - 1) / n >= 2) out.push({ used, n });
  return out.length ? out : [{ used: rows, n: rows - 1 }];
}

/** The y scale for values up to vmax on a plot of this many rows. */
export function yScale(vmax: number, rows: number): YScale {
  let best: { used: number; n: number; step: number } | null = null;
  for (const { used, n } of layouts(Math.max(1, rows))) {
    const step = niceStep(vmax > 0 ? vmax / n : 1 / n);
    const top = n * step;
    const bestTop = best ? best.n * best.step : Infinity;
    // The lowest top; of equal tops, more labels, then more rows.
    if (
      top < bestTop - 1e-9 ||
      (Math.abs(top - bestTop) < 1e-9 && (n > best!.n || (n === best!.n && used > best!.used)))
    )
      best = { used, n, step };
  }
  const { used, n, step } = best!;
  const d = decimals(step);
  const k = (used - 1) / n;
  const labels = Array.from({ length: n + 1 }, (_, i) => ({
    row: rows - 1 - Math.round(i * k),
    text: (i * step).toFixed(i === 0 ? 0 : d),
  }));
  return { top: n * step, step, rows: used, labels, width: Math.max(...labels.map((l) => l.text.length)) };
}

/** The pixel row of a value: 0 on the bottom row's lowest dot, the top label's row's lowest dot for top. */
export function pixelY(v: number, scale: YScale, rows: number): number {
  const bottom = rows * PX_Y - 1;
  const span = (scale.rows - 1) * PX_Y;
  const y = bottom - Math.round((Math.min(Math.max(v, 0), scale.top) / scale.top) * span);
  return Math.max(0, Math.min(bottom, y));
}

export interface TimeAxis {
  now: number; // ms, the newest sample's time: the rightmost column
  stepMs: number; // one column
  cols: number;
}

/** Where a time falls, in columns from the plot's left (fractional; negative: before the window). */
export function columnOf(t: number, axis: TimeAxis): number {
  return axis.cols - 1 - (axis.now - t) / axis.stepMs;
}

const TICKS_S = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400];

/** x labels at times that are multiples of one nice duration, evenly spaced, none overlapping. */
export function xTicks(axis: TimeAxis): Array<{ col: number; text: string }> {
  const fmt = (t: number, tenths: boolean): string =>
    tenths ? `${formatDuration(t)}.${Math.floor((Math.round(t) % 1000) / 100)}` : formatDuration(t);
  const sample = fmt(axis.now, false);
  for (const s of TICKS_S) {
    const every = s * 1000;
    const tenths = every < 1000;
    const width = (tenths ? sample.length + 2 : sample.length) + 2;
    if (every / axis.stepMs < width) continue;
    const start = axis.now - (axis.cols - 1) * axis.stepMs;
    const out: Array<{ col: number; text: string }> = [];
    for (let t = Math.ceil(Math.max(0, start) / every) * every; t <= axis.now; t += every) {
      const col = Math.round(columnOf(t, axis));
      const text = fmt(t, tenths);
      if (col >= 0 && col + text.length <= axis.cols) out.push({ col, text });
    }
    return out;
  }
  return [];
}

/** One line's points, in pixels of the plot (x from its left edge), broken where samples are missing. */
export function polylines(
  points: ReadonlyArray<{ t: number; v: number | null; every: number }>,
  axis: TimeAxis,
  scale: YScale,
  rows: number,
): Array<Array<[number, number]>> {
  const out: Array<Array<[number, number]>> = [];
  let run: Array<[number, number]> = [];
  let prev: { t: number; every: number } | null = null;
  const xMax = axis.cols * PX_X - 1;
  for (const p of points) {
    // A gap: no sample where the intervals in force promised one, or nothing known (a read failed).
    const gap = p.v === null || (prev !== null && p.t - prev.t > 2.5 * Math.max(p.every, prev.every));
    if (gap && run.length) {
      out.push(run);
      run = [];
    }
    if (p.v !== null) {
      const x = Math.round(columnOf(p.t, axis) * PX_X + (PX_X - 1) / 2);
      if (x <= xMax) run.push([x, pixelY(p.v, scale, rows)]);
    }
    prev = p.v === null ? null : p;
  }
  if (run.length) out.push(run);
  return out.map((r) => clipLeft(r)).filter((r) => r.length);
}

/** The part of a polyline at x >= 0: a segment that crosses the left edge starts on it. */
function clipLeft(run: Array<[number, number]>): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < run.length; i++) {
    const [x, y] = run[i];
    if (x >= 0) {
      if (i > 0 && run[i - 1][0] < 0) {
        const [x0, y0] = run[i - 1];
        out.push([0, Math.round(y0 + ((y - y0) * (0 - x0)) / (x - x0))]);
      }
      out.push([x, y]);
    }
  }
  return out;
}

/** The dots of a polyline, Bresenham between its points. */
export function dotsOf(run: ReadonlyArray<[number, number]>): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  if (run.length === 1) return [run[0]];
  for (let i = 1; i < run.length; i++) {
    let [x0, y0] = run[i - 1];
    const [x1, y1] = run[i];
    const dx = Math.abs(x1 - x0);
    const dy = -Math.abs(y1 - y0);
    const sx = x0 < x1 ? 1 : -1;
    const sy = y0 < y1 ? 1 : -1;
    let err = dx + dy;
    for (;;) {
      out.push([x0, y0]);
      if (x0 === x1 && y0 === y1) break;
      const e2 = 2 * err;
      if (e2 >= dy) {
        err += dy;
        x0 += sx;
      }
      if (e2 <= dx) {
        err += dx;
        y0 += sy;
      }
    }
  }
  return out;
}

// Braille: dot (x, y) of a cell, x 0-1, y 0-3, is this bit of U+2800.
const BRAILLE = [
  [0x01, 0x08],
  [0x02, 0x10],
  [0x04, 0x20],
  [0x40, 0x80],
];

/**
 * The plot as text: cols x rows cells, each a braille character (or, in ASCII, '*' where a line
 * passes and '.' for a second line over it), with the colour of the last line drawn into it.
 */
export function rasterize(
  lines: ReadonlyArray<{ colour: string; runs: Array<Array<[number, number]>> }>,
  cols: number,
  rows: number,
  ascii: boolean,
): Array<Array<{ ch: string; colour: string | null }>> {
  const bits = Array.from({ length: rows }, () => new Array<number>(cols).fill(0));
  const colour = Array.from({ length: rows }, () => new Array<string | null>(cols).fill(null));
  for (const line of lines)
    for (const run of line.runs)
      for (const [x, y] of dotsOf(run)) {
        const cx = Math.floor(x / PX_X);
        const cy = Math.floor(y / PX_Y);
        if (cx < 0 || cx >= cols || cy < 0 || cy >= rows) continue;
        bits[cy][cx] |= BRAILLE[y % PX_Y][x % PX_X];
        colour[cy][cx] = line.colour;
      }
  return bits.map((row, r) =>
    row.map((b, c) => ({ ch: b === 0 ? ' ' : ascii ? '*' : String.fromCharCode(0x2800 + b), colour: colour[r][c] })),
  );
}
