/**
 * The charts as data: their series, honest axis labels, a legend that lives in the title line
 * (never over the plot), and the events line drawn on the charts' own time axis. The geometry
 * repeats blessed-contrib's line chart arithmetic (lib/widget/charts/line.js) so that a mark sits
 * in the column of the sample it belongs to.
 */
import { formatDuration } from '../../format/units';
import type { ChartId, HistoryPoint } from '../model';
import type { Theme } from '../theme';
import type { ChartFrame, Series } from './types';

export type { ChartFrame, Series } from './types';

/** The y axis has this many labels: 0, step, 2 step, 3 step under a top of 4 steps. */
export const Y_LABELS = 4;

const CHART_TITLES: Record<ChartId, string> = {
  uss: 'USS MiB',
  footprint: 'Σ MiB',
  faults: 'minor faults/s',
};

/** More worker lines than this and the chart draws max / median / min instead (colours would repeat). */
export const MAX_LINES = 6;

/**
 * A top for the y axis that is Y_LABELS nice steps (1, 2 or 5 times a power of ten), so that every
 * label blessed-contrib prints (integers from a step of 1 up, two decimals below) is exact.
 */
export function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const step = (v * 1.05) / Y_LABELS; // headroom: a line at the very top hides under the border
  const p = 10 ** Math.floor(Math.log10(step));
  for (const m of [1, 2, 5, 10]) if (m * p >= step) return Math.max(0.04, Number((m * p * Y_LABELS).toPrecision(6)));
  return 10 * p * Y_LABELS;
}

/** blessed-contrib's y label for a value: two decimals when the step is under 1, else none. */
export function yLabel(value: number, maxY: number): string {
  return value.toFixed(maxY / Y_LABELS < 1 && value !== 0 ? 2 : 0);
}

/** Where sample i of n is drawn, as a column from the chart's left border (contrib's getXPixel). */
export function chartGeometry(width: number, maxY: number, n: number): (i: number) => number {
  const canvasWidth = width * 2 - 12;
  const xPadding = Math.max(5, yLabel(maxY, maxY).length * 2);
  return (i) => 1 + Math.floor((((canvasWidth - xPadding) / n) * i + xPadding + 2) / 2);
}

/**
 * x labels: m:ss at every Nth sample, N chosen as contrib would for that label length; where two
 * shown labels would read the same (samples under a second apart), tenths are added.
 */
export function xLabels(points: readonly HistoryPoint[], width: number, maxY: number): { x: string[]; nth: number } {
  const n = points.length;
  const canvasWidth = width * 2 - 12;
  const xPadding = Math.max(5, yLabel(maxY, maxY).length * 2);
  const plan = (fmt: (t: number) => string): { x: string[]; nth: number; distinct: boolean } => {
    const len = Math.max(1, ...points.map((p) => fmt(p.t).length));
    const fit = (canvasWidth - xPadding) / 2 / (len + 2);
    const nth = Math.max(1, Math.ceil(n / Math.max(1, fit)));
    const x = points.map((p, i) => (i % nth === 0 ? fmt(p.t) : ''));
    const shown = x.filter((l) => l);
    return { x, nth, distinct: new Set(shown).size === shown.length };
  };
  const whole = plan(formatDuration);
  if (whole.distinct) return whole;
  return plan((t) => `${formatDuration(t)}.${Math.floor((t % 1000) / 100)}`);
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

export function chartSeries(
  id: ChartId,
  points: readonly HistoryPoint[],
  theme: Theme,
  width: number,
): Omit<ChartFrame, 'rect'> {
  const mib = (b: number): number => b / 1048576;
  const colour = (i: number): string => theme.series[i % theme.series.length];
  let series: Array<Omit<Series, 'x'>>;
  const title = CHART_TITLES[id];
  let legendItems: Array<{ name: string; value: string; colour: string }>;
  const fmt = (v: number): string => (id === 'faults' ? String(Math.round(v)) : v.toFixed(1));
  let unknown: Array<{ name: string; value: string; colour: string }> = [];
  if (id === 'footprint') {
    // A sum that was unknown at some sample (a process cowtop may not read) draws no line:
    // a line at zero, or through the readable part only, would be a figure nobody measured.
    const lines = [
      { title: 'PSS (real)', get: (p: HistoryPoint) => p.pss, colour: colour(0) },
      { title: 'RSS (top)', get: (p: HistoryPoint) => p.rss, colour: colour(1) },
    ];
    const known = lines.filter((l) => points.every((p) => l.get(p) !== null));
    unknown = lines.filter((l) => !known.includes(l)).map((l) => ({ name: l.title, value: '?', colour: l.colour }));
    series = known.map((l) => ({ title: l.title, y: points.map((p) => mib(l.get(p)!)), style: { line: l.colour } }));
  } else {
    const pick = (p: HistoryPoint): Map<number, number> => (id === 'uss' ? p.uss : p.faults);
    const value = (v: number): number => (id === 'uss' ? mib(v) : v);
    // A sample with more workers than lines decides it without listing every slot of every sample.
    const many = points.some((p) => pick(p).size > MAX_LINES);
    const slots = many ? [] : [...new Set(points.flatMap((p) => [...pick(p).keys()]))].sort((a, b) => a - b);
    const frozenSlots = points.length ? points[points.length - 1].frozenSlots : new Set<number>();
    if (!many && slots.length <= MAX_LINES) {
      series = slots.map((slot, i) => ({
        title: `${frozenSlots.has(slot) ? 'f' : 'w'}${slot + 1}`,
        // A worker slot that did not exist yet (or any more) draws at zero.
        y: points.map((p) => value(pick(p).get(slot) ?? 0)),
        style: { line: colour(i) },
      }));
    } else {
      // Too many to tell apart: the spread of the workers at each sample (value() is linear).
      const at = points.map((p) => spreadOf(pick(p)));
      series = [
        { title: 'max', y: at.map((v) => value(v.max)), style: { line: colour(4) } },
        { title: 'median', y: at.map((v) => value(v.median)), style: { line: colour(0) } },
        { title: 'min', y: at.map((v) => value(v.min)), style: { line: colour(1) } },
      ];
    }
  }
  // The legend names the lines of now: a worker gone (-, a re-fork) keeps its past line but has no
  // newest value, so it is not listed with one (it said "w5 0.0" after -).
  // Only where a line is a worker's (not the footprint's, nor max/median/min over 2,000 workers).
  const perSlot = id !== 'footprint' && series.some((s) => /^[wf]\d+$/.test(s.title));
  const live =
    points.length && perSlot
      ? new Set((id === 'uss' ? points[points.length - 1].uss : points[points.length - 1].faults).keys())
      : null;
  const inLegend = (s: Omit<Series, 'x'>): boolean =>
    !live || !/^[wf]\d+$/.test(s.title) || live.has(Number(s.title.slice(1)) - 1);
  legendItems = [
    ...series
      .filter(inLegend)
      .map((s) => ({ name: s.title, value: s.y.length ? fmt(s.y[s.y.length - 1]) : '-', colour: s.style.line })),
    ...unknown,
  ];
  if (id !== 'footprint' && series.length && series[0].title === 'max' && points.length) {
    // Which worker is the max now: the one to look at in the table.
    const last = [...(id === 'uss' ? points[points.length - 1].uss : points[points.length - 1].faults).entries()].sort(
      (a, b) => b[1] - a[1],
    )[0];
    if (last) legendItems[0].name = `max w${last[0] + 1}`;
  }
  const maxY = niceMax(Math.max(0, ...series.flatMap((s) => s.y)));
  const { x, nth } = xLabels(points, width, maxY);
  return {
    id,
    label: chartLegend(title, legendItems, width - 4, theme),
    maxY,
    series: series.map((s) => ({ ...s, x })),
    showNthLabel: nth,
  };
}

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
 * The events line under the charts: for each chart, each sample's mark in the column where that
 * chart draws the sample, so a g sits under the jump it caused. Where two samples share a column
 * the stronger mark wins (an OOM kill above all, then an unexpected exit).
 */
export function timelineText(
  points: readonly HistoryPoint[],
  charts: ReadonlyArray<Pick<ChartFrame, 'rect' | 'maxY'>>,
  width: number,
  theme: Theme,
): string {
  const cells = new Array<string>(width).fill(' ');
  const label = 'ev';
  for (const c of charts) {
    const col = chartGeometry(c.rect.width, c.maxY, Math.max(1, points.length));
    const first = c.rect.left + col(0);
    for (let i = c.rect.left + 1; i < c.rect.left + c.rect.width - 1 && i < width; i++) if (i >= first) cells[i] = '·';
    points.forEach((p, i) => {
      if (!p.marker) return;
      const x = c.rect.left + col(i);
      if (x >= 0 && x < width && RANK.indexOf(p.marker) > RANK.indexOf(cells[x] === '·' ? '' : cells[x]))
        cells[x] = p.marker;
    });
  }
  if (charts.length && charts[0].rect.left + chartGeometry(charts[0].rect.width, charts[0].maxY, 1)(0) > label.length) {
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
