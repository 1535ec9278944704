/** The process table drawn: its title line, each row's text, and the window of rows on screen. */
import { exitNote, exitReason } from '../../experiment/exit-reason';
import type { Snapshot } from '../../sample/snapshot';
import { type CellContext, type Column, COLUMNS, columnTitle, columnWidths, fitColumns, GC_COLUMNS } from '../columns';
import type { ViewState } from '../model';
import { cellContext, orderedOf, rowKey, type ShownRow } from '../rows';
import { esc, type Theme } from '../theme';

/** Cuts text to w visible characters, with … where it was cut (left columns) or plain (numbers). */
const pad = (s: string, w: number, left?: boolean): string => {
  const t = s.length > w ? (left && w > 1 ? `${s.slice(0, w - 1)}…` : s.slice(0, w)) : s;
  return left ? t.padEnd(w) : t.padStart(w);
};

const arrow = (view: ViewState): string => (view.sort.desc ? '▼' : '▲');

export function tableHeader(cols: Column[], widths: number[], view: ViewState, theme: Theme): string {
  return cols
    .map((col, i) => {
      const sorted = view.sort.column === col.id;
      const cell = pad(columnTitle(col, view.units) + (sorted ? arrow(view) : ''), widths[i], col.left);
      return sorted ? theme.sortMark(cell) : theme.bold(cell);
    })
    .join(' ');
}

/** Where the sort is said when its column did not fit this width (htop keeps it in the header). */
export function hiddenSortMark(cols: readonly Column[], view: ViewState): string | null {
  if (cols.some((c) => c.id === view.sort.column)) return null;
  const col = COLUMNS.find((c) => c.id === view.sort.column);
  return col ? `sort ${columnTitle(col, view.units)}${arrow(view)}` : null;
}

/**
 * Growth since fork, warm by how much of the shared heap it copied: yellow, orange, red. Under
 * NO_COLOR the theme leaves the number plain.
 */
export function growthHeat(growth: number | null, reference: number | null): 0 | 1 | 2 | 3 {
  if (growth === null || growth < 1048576) return 0; // under 1 MiB: noise, not copying
  const share = growth / (reference && reference > 0 ? reference : 256 * 1048576);
  return share < 0.1 ? 1 : share < 0.4 ? 2 : 3;
}

export function tableRow(row: ShownRow, cols: Column[], widths: number[], c: CellContext, theme: Theme): string {
  const p = row.p;
  const cell = (col: Column, i: number): string => {
    const raw = col.id === 'command' ? row.prefix + col.text(p, c) : col.text(p, c);
    return esc(pad(raw, widths[i], col.left));
  };
  if (!p.alive) {
    const e = p.exit;
    const how = e ? (exitReason(e) ?? '') : '';
    const text = `exited${how ? `: ${how}` : ''}${e ? exitNote(e) : ''}`;
    const head = cols.slice(0, 2).map(cell).join(' ');
    return (e && !e.requested ? theme.warn : theme.dim)(`${head} ${esc(text)}`);
  }
  const line = cols
    .map((col, i) => {
      const text = cell(col, i);
      if (col.id === 'growth') return theme.heat(growthHeat(p.ussGrowth, c.heapBytes), text);
      if (p.gcAge?.stale && GC_COLUMNS.has(col.id)) return theme.dim(text);
      if (col.id === 'role' && p.frozen !== null) return p.frozen ? theme.frozenGroup(text) : theme.unfrozenGroup(text);
      return text;
    })
    .join(' ');
  const note = p.error ? ` ${p.error}` : '';
  return line + (note ? theme.warn(esc(note)) : '');
}

export interface TableLines {
  header: string;
  /** How many rows there are; render() draws those of a window only (2,000 rows, 40 on screen). */
  count: number;
  render(from: number, to: number): string[];
  keys: readonly string[];
  columns: Column[];
  widths: number[];
  hiddenSort: string | null;
}

export function tableLines(
  s: Snapshot,
  view: ViewState,
  width: number,
  heapBytes: number | null,
  theme: Theme,
  attached = false,
): TableLines {
  const c = cellContext(s, view, heapBytes, attached);
  const cols = fitColumns(width, s.processes, c);
  const widths = columnWidths(cols, width, view.units, c);
  const { shown, keys } = orderedOf(s, view, c);
  return {
    header: tableHeader(cols, widths, view, theme),
    count: shown.length,
    render: (from, to) =>
      shown.slice(from, to).map((r) => {
        const row = tableRow(r, cols, widths, c, theme);
        // The selected row, highlighted across the whole width (htop's bar).
        if (rowKey(r.p) !== view.table.selected) return row;
        const visible = row.replace(/\{[^}]*\}/g, '').length;
        return theme.selected(row + ' '.repeat(Math.max(0, width - visible)));
      }),
    keys,
    columns: cols,
    widths,
    hiddenSort: hiddenSortMark(cols, view),
  };
}

/** The first row to show so that the selected one is in view, as htop's Panel_draw clamps it. */
export function windowTop(count: number, selected: number, scrollTop: number, height: number): number {
  let top = scrollTop;
  if (selected >= 0) {
    if (selected < top) top = selected;
    if (selected >= top + height) top = selected - height + 1;
  }
  return Math.max(0, Math.min(top, Math.max(0, count - height)));
}
