/**
 * One frame of the dashboard as plain data: where each part goes and what it says. A pure
 * function of the model, the terminal size and the time, so that it can be tested on recorded
 * snapshots without a process or a terminal.
 */
import { formatDuration } from '../../format/units';
import type { Snapshot } from '../../sample/snapshot';
import { footerText, helpLines, type Controller } from '../keys';
import { CHARTS, type DashboardModel } from '../model';
import { esc, type Theme } from '../theme';
import { chartSeries, pointsFor, timelineText } from './charts';
import type { ChartFrame, Frame, Rect } from './types';
import { confirmFrame, detailLines } from './detail';
import { mapFrame } from './map';
import { headerText } from './header';
export { copiesAge, everyText, fitParts, groupMeans } from './header';
import { matchesFilter, rowKey } from '../rows';
import { COLUMNS } from '../columns';
import { tableLines, windowTop } from './table';

export const MIN_COLS = 40;
export const MIN_ROWS = 12;

export type { ChartFrame, ColumnSpan, Frame, Rect } from './types';

/** Wraps a line with blessed tags at width visible characters, on spaces where it can. */
export function wrapTagged(line: string, width: number): string[] {
  const visible = (t: string): number => t.replace(/\{[^}]*\}/g, '').length;
  if (visible(line) <= width) return [line];
  const out: string[] = [];
  let cur = '';
  for (const word of line.split(/(?<= )/)) {
    if (cur && visible(cur) + visible(word.trimEnd()) > width) {
      out.push(cur.trimEnd());
      cur = '      '; // continuation lines indent under the text
    }
    cur += word;
  }
  if (cur.trim()) out.push(cur.trimEnd());
  return out;
}

/** The help (or a detail) in a box of 90% of the screen: wrapped to its width, the scroll clamped to its lines. */
function helpFrame(
  lines: string[],
  cols: number,
  rows: number,
  scroll: number,
  title = 'help',
): NonNullable<Frame['help']> {
  const width = Math.floor(cols * 0.9);
  const height = Math.floor(rows * 0.9);
  const rect = { top: Math.floor((rows - height) / 2), left: Math.floor((cols - width) / 2), width, height };
  const wrapped = lines.flatMap((l) => wrapTagged(l, width - 2));
  const inner = Math.max(1, height - 2);
  const top = Math.max(0, Math.min(scroll, wrapped.length - inner));
  const end = Math.min(wrapped.length, top + inner);
  const where = wrapped.length > inner ? `lines ${top + 1}-${end} of ${wrapped.length}, arrows scroll, ` : '';
  return {
    rect,
    lines: wrapped.slice(top, end),
    label: ` ${title}: ${where}${title === 'help' ? 'any other key closes' : 'Esc closes'} `,
    scroll: top,
    kind: title === 'help' ? 'help' : 'detail',
  };
}

export function buildFrame(
  model: DashboardModel,
  cols: number,
  rows: number,
  theme: Theme,
  can: Controller['can'],
  wallNow: number,
): Frame {
  const now = model.shownTime(wallNow); // paused: the whole screen stays at that moment
  const empty: Rect = { top: 0, left: 0, width: 0, height: 0 };
  if (cols < MIN_COLS || rows < MIN_ROWS) {
    return {
      tooSmall: `terminal too small: ${cols}x${rows}, cowtop needs ${MIN_COLS}x${MIN_ROWS} (q quits)`,
      header: { rect: empty, text: '' },
      table: { rect: empty, text: '', scrollTop: 0, visibleRows: 0, columns: [], keys: [] },
      charts: [],
      timeline: null,
      log: { rect: empty, lines: [] },
      footer: { rect: empty, text: '' },
      help: null,
      caption: null,
    };
  }
  const s = model.shown;
  const view = model.view;
  let headText = headerText(model, s, cols, theme, now);
  const headHeight = headText.split('\n').length; // 3 with a cgroup limit to show
  const header = { rect: { top: 0, left: 0, width: cols, height: headHeight }, text: headText };
  const footer = {
    rect: { top: rows - 1, left: 0, width: cols, height: 1 },
    text:
      view.mode === 'filter'
        ? filterLine(view.table.filter, cols, theme)
        : view.mode === 'search'
          ? searchLine(model, cols, theme)
          : footerText(cols, can, cols >= 150),
  };

  // The tour's caption: two lines at most, the rest cut with an ellipsis.
  let caption: Frame['caption'] = null;
  if (model.caption) {
    const all = wrapTagged(model.caption, cols);
    const lines = all.slice(0, 2);
    if (all.length > 2) lines[1] = `${lines[1].slice(0, cols - 1)}…`;
    caption = {
      rect: { top: rows - 1 - lines.length, left: 0, width: cols, height: lines.length },
      text: lines.map((l) => theme.caption(esc(l))).join('\n'),
    };
  }
  const heap = model.ready?.heapBytes ?? null;
  const count = s?.processes.length ?? 1;
  const avail = rows - 1 - headHeight - (caption?.rect.height ?? 0); // between header and footer (and the caption)
  const tableHeight = Math.max(2, Math.min(1 + Math.max(1, count), Math.floor(avail * 0.45)));
  // Rows that do not fit scroll: the selection stays in view, the header says which are shown,
  // and the columns leave room for saying it (and the sort, when its column is cut).
  const visibleRows = tableHeight - 1;
  const room = markRoom(count, view.table.filter) + (view.table.tree ? 6 : 0);
  let t = s ? tableLines(s, view, cols - 1 - room, heap, theme, model.attached !== null) : null;
  // The sorted column did not fit: make room to say the sort beside the titles instead.
  if (s && t?.hiddenSort)
    t = tableLines(s, view, cols - 1 - room - t.hiddenSort.length - 2, heap, theme, model.attached !== null);
  const scrollTop = t
    ? windowTop(t.count, t.keys.indexOf(view.table.selected ?? ''), view.table.scrollTop, visibleRows)
    : 0;
  const marks: string[] = [];
  if (t && t.count > visibleRows) {
    // Which rows are shown, where there is room for it: it never pushes a column out. Beside
    // the titles, shorter if need be, else at the end of the header's second line.
    const [a, b] = [scrollTop + 1, Math.min(t.count, scrollTop + visibleRows)];
    const free = cols - room - t.header.replace(/\{[^}]*\}/g, '').length;
    const long = `rows ${a}-${b} of ${t.count}`;
    const short = `rows ${a}-${b}/${t.count}`;
    if (long.length + 1 <= free) marks.push(long);
    else if (short.length + 1 <= free) marks.push(short);
    else {
      // The header's second line gives way first where it must: Σ RSS before which rows these are.
      headText = headerText(model, s, cols, theme, now, short);
      header.text = headText;
    }
  }
  if (view.table.filter) marks.push(`/${view.table.filter}: ${t?.count ?? 0} of ${count}`);
  if (t?.hiddenSort) marks.push(t.hiddenSort);
  if (view.table.tree) marks.push('tree');
  const position = marks.length ? theme.dim(` ${esc(marks.join('  '))}`) : '';
  const body =
    t && t.count === 0
      ? [theme.dim(view.table.filter ? `no row matches /${esc(view.table.filter)} (Esc clears it)` : 'no process')]
      : (t?.render(scrollTop, scrollTop + visibleRows) ?? []);
  const tableText = t ? [t.header + position, ...body].join('\n') : theme.dim('waiting for the first sample...');
  let x = 0;
  const columns = (t?.columns ?? []).map((c, i) => {
    const span = { id: c.id, x, width: t!.widths[i] };
    x += t!.widths[i] + 1;
    return span;
  });
  const table = {
    rect: { top: headHeight, left: 0, width: cols, height: tableHeight },
    text: tableText,
    scrollTop,
    visibleRows,
    columns,
    keys: t?.keys.slice(scrollTop, scrollTop + visibleRows) ?? [],
  };

  let rest = avail - tableHeight;
  let top = headHeight + tableHeight;
  const charts: ChartFrame[] = [];
  let timeline: Frame['timeline'] = null;
  if (rest >= 10) {
    const logHeight = Math.max(3, Math.floor(rest * 0.3));
    const chartHeight = rest - logHeight - 1;
    const n = cols >= 150 ? 3 : cols >= 100 ? 2 : 1;
    const start = CHARTS.indexOf(view.chart);
    const ids = Array.from({ length: n }, (_, i) => CHARTS[(start + i) % CHARTS.length]);
    const chartWidth = Math.floor(cols / n);
    // A column is one interval: the widest chart shows as many samples as it has columns (more
    // where the interval was shorter before a ]).
    const points = model.shownHistory(pointsFor(cols - chartWidth * (n - 1)) * 4);
    ids.forEach((id, i) => {
      const width = i === n - 1 ? cols - chartWidth * i : chartWidth;
      const rect = { top, left: chartWidth * i, width, height: chartHeight };
      charts.push({ ...chartSeries(id, points, theme, rect, model.intervalMs), rect });
    });
    top += chartHeight;
    timeline = { rect: { top, left: 0, width: cols, height: 1 }, text: timelineText(points, charts, cols, theme) };
    top += 1;
    rest = logHeight;
  }
  const logLines = model
    .shownEvents(Math.max(1, rest))
    .map((e) => `${theme.dim(formatDuration(e.t).padStart(6))} ${theme.eventKind(e.kind, esc(e.text))}`);
  const log = { rect: { top, left: 0, width: cols, height: rest }, lines: logLines };
  return {
    tooSmall: null,
    header,
    table,
    charts,
    timeline,
    log,
    footer,
    caption,
    help:
      view.mode === 'map'
        ? mapFrame(model, s, cols, rows - (caption?.rect.height ?? 0), theme, wallNow)
        : overlay(model, s, cols, rows, theme, can),
  };
}

/** Room the table keeps at the right of its title line for the marks after it. */
function markRoom(count: number, filter: string): number {
  return filter ? Math.min(40, `  /${filter}: ${count} of ${count}`.length) : 0;
}

/** F3's line, where the footer was: what it looks for, and whether any row has it. */
function searchLine(model: DashboardModel, cols: number, theme: Theme): string {
  const text = model.view.table.search;
  const s = model.shown;
  const found = !text || !s ? true : s.processes.some((p) => matchesFilter(p, text));
  const hint = `  ${found ? '' : 'no row has it  '}F3 next  Enter/Esc done`;
  return `{bold}search {/bold}${esc(text.slice(-(cols - 10 - hint.length)))}{inverse} {/inverse}${found ? theme.dim(hint) : theme.warn(hint)}`;
}

/** The filter being typed, where the footer was (htop's search bar). */
function filterLine(filter: string, cols: number, theme: Theme): string {
  const hint = '  Enter keeps it  Esc clears it';
  return `{bold}filter /{/bold}${esc(filter.slice(-(cols - 10 - hint.length)))}{inverse} {/inverse}${theme.dim(hint)}`;
}

/** F6: every column, the picked one in inverse, the sorted one marked. */
function sortMenuFrame(model: DashboardModel, cols: number, rows: number, theme: Theme): NonNullable<Frame['help']> {
  const v = model.view;
  const width = Math.min(cols - 2, 60);
  const items = COLUMNS.map((c, i) => {
    const mark = c.id === v.sort.column ? (v.sort.desc ? ' ▼' : ' ▲') : '';
    const text = `${c.title}${mark}`.padEnd(14) + theme.dim(c.help.slice(0, Math.max(0, width - 22)));
    return i === v.sortPick ? `{inverse} > ${text}{/inverse}` : `   ${text}`;
  });
  const all = [...items, '', theme.dim('↑/↓ pick   Enter sorts   Esc leaves it')];
  const height = Math.min(rows - 2, all.length + 2);
  const inner = height - 2;
  const first = Math.max(0, Math.min(v.sortPick - Math.floor(inner / 2), all.length - inner));
  const rect = { top: Math.floor((rows - height) / 2), left: Math.floor((cols - width) / 2), width, height };
  return { rect, lines: all.slice(first, first + inner), label: ' sort by ', scroll: 0, kind: 'confirm' };
}

function overlay(
  model: DashboardModel,
  s: Snapshot | null,
  cols: number,
  rows: number,
  theme: Theme,
  can: Controller['can'],
): Frame['help'] {
  const v = model.view;
  const scroll = v.helpAtEnd ? Number.MAX_SAFE_INTEGER : v.helpScroll;
  if (v.mode === 'help') return helpFrame(helpLines(can), cols, rows, scroll);
  if (v.mode === 'detail' && v.detail) {
    const p = s?.processes.find((x) => rowKey(x) === v.detail) ?? null;
    return helpFrame(detailLines(p, v.detail, model, theme), cols, rows, scroll, p ? `pid ${p.pid}` : 'gone');
  }
  if (v.mode === 'confirm' && v.confirm) return confirmFrame(v.confirm, cols, rows, theme);
  if (v.mode === 'sort') return sortMenuFrame(model, cols, rows, theme);
  return null;
}
