/**
 * htop's F3 and F6: a search that jumps to the next matching row without hiding the others
 * (F4 filters), and a menu of the columns to sort by. View-state changes on the model, reached
 * by the unit tests as the key dispatch reaches them.
 */
import type { ProcessSample } from '../sample/snapshot';
import { COLUMNS } from './columns';
import type { DashboardModel } from './model';
import { matchesFilter } from './rows';

/** The rows in screen order and what each shows: what a search looks through. */
export interface RowsNow {
  keys: readonly string[];
  sample(key: string): ProcessSample | undefined;
}

export function startSearch(m: DashboardModel): void {
  m.view.mode = 'search';
  m.view.table.search = '';
}

/** The next row from the selected one (itself included unless `after`) whose pid, role or command holds the text. */
export function findRow(m: DashboardModel, rows: RowsNow, after: boolean): string | null {
  const text = m.view.table.search;
  if (!text || !rows.keys.length) return null;
  const at = Math.max(0, rows.keys.indexOf(m.view.table.selected ?? ''));
  for (let i = 0; i < rows.keys.length; i++) {
    const k = rows.keys[(at + i + (after ? 1 : 0)) % rows.keys.length];
    const p = rows.sample(k);
    if (p && matchesFilter(p, text)) return k;
  }
  return null;
}

/** A key on the search line: typing jumps at once, F3 to the next match, Enter or Esc ends it (the row stays). */
export function searchKey(m: DashboardModel, rows: RowsNow, full: string, ch?: string): void {
  const t = m.view.table;
  if (full === 'enter' || full === 'escape') {
    m.view.mode = 'normal';
    return;
  }
  const next = full === 'f3';
  if (full === 'backspace') t.search = t.search.slice(0, -1);
  else if (!next && ch && ch.length === 1 && ch >= ' ' && ch !== '\x7f' && t.search.length < 64) t.search += ch;
  else if (!next) return;
  const hit = findRow(m, rows, next);
  if (hit) t.selected = hit;
}

/** Whether the search text matches any row (the line says so when it does not). */
export function searchFound(m: DashboardModel, rows: RowsNow): boolean {
  return findRow(m, rows, false) !== null;
}

/** F6: every column, the sorted one picked. */
export function startSortMenu(m: DashboardModel): void {
  m.view.mode = 'sort';
  m.view.sortPick = Math.max(
    0,
    COLUMNS.findIndex((c) => c.id === m.view.sort.column),
  );
}

/** Arrows pick, Enter sorts by the pick (biggest first for sizes, as its key would), Esc leaves it. */
export function sortMenuKey(m: DashboardModel, full: string): void {
  const n = COLUMNS.length;
  if (full === 'up' || full === 'down') m.view.sortPick = (m.view.sortPick + (full === 'up' ? n - 1 : 1)) % n;
  else if (full === 'home') m.view.sortPick = 0;
  else if (full === 'end') m.view.sortPick = n - 1;
  else if (full === 'enter') {
    const col = COLUMNS[m.view.sortPick].id;
    if (m.view.sort.column !== col) m.sortBy(col);
    m.view.mode = 'normal';
  } else if (full === 'escape' || full === 'q') m.view.mode = 'normal';
}
