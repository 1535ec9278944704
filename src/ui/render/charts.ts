/**
 * The charts as data: their lines over time (plot.ts places them: a column is a span of time,
 * a missing sample is a gap), honest axis labels, a legend that lives in the title line (never
 * over the plot), and the events line drawn in the charts' own columns.
 */
import type { ChartId, HistoryPoint } from '../model';
import type { Theme } from '../theme';
import { columnOf, polylines, type TimeAxis, xTicks, yScale } from './plot';
import type { ChartFrame, Rect } from './types';

export type { ChartFrame } from './types';

const CHART_TITLES: Record<ChartId, string> = {
  uss: 'USS MiB',
  footprint: 'Σ MiB',
  faults: 'minor faults/s',
};

/** More worker lines than this and the chart draws max / median / min instead (colours would repeat). */
export const MAX_LINES = 6;

/** The inner box of a chart: its plot rows (the last inner row holds the time labels). */
export function plotRows(rect: Pick<Rect, 'height'>): number {
  return Math.max(1, rect.height - 3);
}

/** How many points a chart of this width may draw: one per column, and one before them. */
export function pointsFor(width: number): number {
  return Math.max(2, width - 2);
}

/** The median of a sorted list. */
const median = (v: number[]): number =>
  v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;

/**
 * A sample's spread of the workers, computed once per sample: a history point's maps never change,
 * and sorting 2,000 workers' values for each of a chart's points at every frame was most of a
 * big tree's frame.
 */
const spreads = new WeakMap<ReadonlyMap<number, number>, { min: number; median: number; max: number }>();
function spreadOf(m: ReadonlyMap<number, number>): { min: number; median: number; max: number } {
  let s = spreads.get(m);
  if (!s) {
    const v = [...m.values()].sort((a, b) => a - b);
    s = v.length ? { min: v[0], median: median(v), max: v[v.length - 1] } : { min: 0, median: 0, max: 0 };
    spreads.set(m, s);
  }
  return s;
}

type Line = { title: string; colour: string; values: Array<number | null> };

export function chartSeries(
  id: ChartId,
  all: readonly HistoryPoint[],
  theme: Theme,
  rect: Pick<Rect, 'width' | 'height'>,
  stepMs: number,
): Omit<ChartFrame, 'rect'> {
  const mib = (b: number): number => b / 1048576;
  const colour = (i: number): string => theme.series[i % theme.series.length];
  const title = CHART_TITLES[id];
  const fmt = (v: number | null): string => (v === null ? '?' : id === 'faults' ? String(Math.round(v)) : v.toFixed(1));
  const rows = plotRows(rect);
  const innerWidth = Math.max(4, rect.width - 2);
  // The window: as many columns as the plot has, at the interval in force; a point before it
  // draws the line that enters from the left.
  const now = all.length ? all[all.length - 1].t : 0;
  const firstInside = all.findIndex((p) => (now - p.t) / stepMs <= innerWidth);
  const points = firstInside < 0 ? [] : all.slice(Math.max(0, firstInside - 1));
  let lines: Line[];
  if (id === 'footprint') {
    // A sum unknown at a sample (a process cowtop may not read) is a gap there, never a guess.
    lines = [
      { title: 'PSS (real)', colour: colour(0), values: points.map((p) => (p.pss === null ? null : mib(p.pss))) },
      { title: 'RSS (top)', colour: colour(1), values: points.map((p) => (p.rss === null ? null : mib(p.rss))) },
    ];
  } else {
    const pick = (p: HistoryPoint): Map<number, number> => (id === 'uss' ? p.uss : p.faults);
    const value = (v: number): number => (id === 'uss' ? mib(v) : v);
    // A sample with more workers than lines decides it without listing every slot of every sample.
    const many = points.some((p) => pick(p).size > MAX_LINES);
    const slots = many ? [] : [...new Set(points.flatMap((p) => [...pick(p).keys()]))].sort((a, b) => a - b);
    const frozenSlots = points.length ? points[points.length - 1].frozenSlots : new Set<number>();
    if (!many && slots.length <= MAX_LINES) {
      lines = slots.map((slot, i) => ({
        title: `${frozenSlots.has(slot) ? 'f' : 'w'}${slot + 1}`,
        colour: colour(i),
        // A worker slot that did not exist yet (or any more) is a gap: nothing was measured.
        values: points.map((p) => {
          const v = pick(p).get(slot);
          return v === undefined ? null : value(v);
        }),
      }));
    } else {
      // Too many to tell apart: the spread of the workers at each sample (value() is linear).
      const at = points.map((p) => (pick(p).size ? spreadOf(pick(p)) : null));
      lines = [
        { title: 'max', colour: colour(4), values: at.map((v) => (v ? value(v.max) : null)) },
        { title: 'median', colour: colour(0), values: at.map((v) => (v ? value(v.median) : null)) },
        { title: 'min', colour: colour(1), values: at.map((v) => (v ? value(v.min) : null)) },
      ];
    }
  }
  // The legend names the lines of now: a worker gone (-, a re-fork) keeps its past line but has
  // no newest value, so it is not listed (it said "w5 0.0" after -).
  const newest = (l: Line): number | null => (l.values.length ? l.values[l.values.length - 1] : null);
  const perSlot = (l: Line): boolean => /^[wf]\d+$/.test(l.title);
  const legendItems = lines
    .filter((l) => !perSlot(l) || newest(l) !== null)
    .map((l) => ({ name: l.title, value: fmt(newest(l)), colour: l.colour }));
  if (id !== 'footprint' && lines.length && lines[0].title === 'max' && points.length) {
    // Which worker is the max now: the one to look at in the table.
    const last = [...pick2(id, points[points.length - 1]).entries()].sort((a, b) => b[1] - a[1])[0];
    if (last && legendItems[0]) legendItems[0].name = `max w${last[0] + 1}`;
  }
  const inWindow = (i: number): boolean => (now - points[i].t) / stepMs <= innerWidth;
  const vmax = Math.max(0, ...lines.flatMap((l) => l.values.filter((v, i): v is number => v !== null && inWindow(i))));
  const scale = yScale(vmax, rows);
  const left = scale.width + 1;
  const axis: TimeAxis = { now, stepMs, cols: Math.max(1, innerWidth - left) };
  const every = points.map((p) => p.every ?? stepMs);
  return {
    id,
    label: chartLegend(title, legendItems, rect.width - 4, theme),
    plot: {
      left,
      cols: axis.cols,
      rows,
      yLabels: scale.labels,
      xLabels: xTicks(axis),
      lines: lines.map((l) => ({
        title: l.title,
        colour: l.colour,
        runs: polylines(
          points.map((p, i) => ({ t: p.t, v: l.values[i], every: every[i] })),
          axis,
          scale,
          rows,
        ),
      })),
    },
    axis,
  };
}

const pick2 = (id: ChartId, p: HistoryPoint): Map<number, number> => (id === 'uss' ? p.uss : p.faults);

/**
 * The title line: the chart's name and unit, then each line's name and newest value in its colour
 * (gtop's live legend), names only if values do not fit, the name alone if nothing fits.
 */
export function chartLegend(
  title: string,
  items: ReadonlyArray<{ name: string; value: string; colour: string }>,
  room: number,
  theme: Theme,
): string {
  const paint = (text: string, colour: string): string => (theme.color ? `{${colour}-fg}${text}{/${colour}-fg}` : text);
  for (const withValue of [true, false]) {
    const parts = items.map((it) => (withValue ? `${it.name} ${it.value}` : it.name));
    const length = title.length + parts.reduce((a, p) => a + 2 + p.length, 0) + 2;
    if (length <= room) return ` ${title}  ${items.map((it, i) => paint(parts[i], it.colour)).join('  ')} `;
  }
  return ` ${title.slice(0, Math.max(1, room - 2))} `;
}

const MARKS = 'gFfswxO';
const RANK = ['', 'f', 'F', 's', 'w', 'g', 'x', 'O'];

/**
 * The events line under the charts: each sample's mark in the column where the charts draw it,
 * so a g sits under the jump it caused. Where two samples share a column the stronger mark wins
 * (an OOM kill above all, then an unexpected exit).
 */
export function timelineText(
  points: readonly HistoryPoint[],
  charts: ReadonlyArray<Pick<ChartFrame, 'rect' | 'plot' | 'axis'>>,
  width: number,
  theme: Theme,
): string {
  const cells = new Array<string>(width).fill(' ');
  const label = 'ev';
  for (const c of charts) {
    const first = c.rect.left + 1 + c.plot.left;
    for (let i = first; i < first + c.plot.cols && i < width; i++) cells[i] = '·';
    for (const p of points) {
      if (!p.marker) continue;
      const col = Math.round(columnOf(p.t, c.axis));
      if (col < 0 || col >= c.plot.cols) continue;
      const x = first + col;
      if (x < width && RANK.indexOf(p.marker) > RANK.indexOf(cells[x] === '·' ? '' : cells[x])) cells[x] = p.marker;
    }
  }
  if (charts.length && charts[0].rect.left + 1 + charts[0].plot.left > label.length) {
    cells[0] = label[0];
    cells[1] = label[1];
  }
  const text = cells.join('');
  return (
    theme.dim(text.slice(0, 2)) +
    text
      .slice(2)
      .replace(new RegExp(`[${MARKS}·]`, 'g'), (m) =>
        m === '·' ? theme.dim(m) : m === 'x' || m === 'O' ? theme.warn(m) : theme.good(m),
      )
  );
}
