/** The process table: columns, what fits the width, sorting, and each row's text. */
import { formatCount, formatSeconds } from '../../format/units';
import type { ProcessSample, Snapshot } from '../../sample/snapshot';
import type { ColumnId, Units, ViewState } from '../model';
import { esc, type Theme } from '../theme';

export interface CellContext {
  units: Units;
  heapBytes: number | null;
  elapsedMs: number;
}

export interface Column {
  id: ColumnId;
  title: string;
  width: number;
  left?: boolean;
  priority: number; // lower survives a narrow terminal
  optional?: boolean; // shown only when some row has a value (TRACED: only with --tracemalloc)
  sortKey?: string; // the key that sorts by this column
  help: string;
  value(p: ProcessSample, c: CellContext): number | null;
  text(p: ProcessSample, c: CellContext): string;
}

const perSecond = (n: number | null, c: CellContext): number | null => (n === null ? null : (n * 1000) / c.elapsedMs);

export function sizeText(bytes: number | null, c: CellContext): string {
  if (bytes === null) return '-';
  if (c.units === 'heap') return c.heapBytes ? `${((bytes / c.heapBytes) * 100).toFixed(1)}%` : '-';
  if (c.units === 'KiB') return formatCount(bytes / 1024);
  return (bytes / 1048576).toFixed(1);
}

const size = (id: ColumnId, title: string, priority: number, sortKey: string, help: string, get: (p: ProcessSample) => number | null): Column => ({
  id, title, width: 9, priority, sortKey, help, value: get, text: (p, c) => sizeText(get(p), c),
});

export const COLUMNS: Column[] = [
  { id: 'role', title: 'ROLE', width: 9, left: true, priority: 0, help: 'parent, or worker number', value: (p) => (p.role === 'parent' || p.role === 'master' ? -1 : (p.index ?? 999)), text: (p) => (p.role === 'worker' && p.index !== null ? `${p.frozen === true ? 'frozen' : p.frozen === false ? 'no-frz' : 'worker'} ${p.index + 1}` : p.role) },
  { id: 'pid', title: 'PID', width: 7, priority: 0, sortKey: '1', help: 'process id', value: (p) => p.pid, text: (p) => String(p.pid) },
  size('uss', 'USS', 0, '4', 'unique set size: memory only this process holds', (p) => p.uss),
  { ...size('traced', 'TRACED', 1, '', 'tracemalloc current (--tracemalloc): what Python allocated in the worker; USS above it is copied pages', (p) => p.gc?.traced?.[0] ?? null), sortKey: undefined, optional: true },
  size('growth', 'GROWTH', 1, '6', 'USS growth since the first sample after fork: pages no longer shared', (p) => p.ussGrowth),
  size('pss', 'PSS', 1, '3', 'proportional set size: shared pages divided among their sharers', (p) => p.pss),
  size('rss', 'RSS', 2, '2', 'resident set size: what top shows', (p) => p.rss),
  size('shared', 'SHARED', 4, '5', 'RSS minus USS: pages shared with other processes', (p) => p.shared),
  { id: 'minflt', title: 'MINFLT/s', width: 9, priority: 2, sortKey: '7', help: 'minor page faults per second: each copy-on-write break is one', value: (p, c) => perSecond(p.minfltDelta, c), text: (p, c) => formatCount(perSecond(p.minfltDelta, c)) },
  { id: 'majflt', title: 'MAJFLT/s', width: 9, priority: 6, sortKey: '8', help: 'major page faults per second (read from disk)', value: (p, c) => perSecond(p.majfltDelta, c), text: (p, c) => formatCount(perSecond(p.majfltDelta, c)) },
  { id: 'gc', title: 'GC 0/1/2', width: 13, priority: 3, help: 'gc.get_count(): objects in each generation since its last collection', value: (p) => p.gc?.counts?.[0] ?? null, text: (p) => (p.gc?.counts ? p.gc.counts.join('/') : '-') },
  { id: 'gen0', title: 'GEN0/THR', width: 11, priority: 4, help: 'gen-0 count against its threshold: how close the next collection is (off: gc disabled)', value: (p) => gen0Share(p), text: (p) => gen0Text(p) },
  { id: 'colls', title: 'COLLS 0/1/2', width: 13, priority: 5, sortKey: '9', help: "collections per generation (gc.get_stats): a worker's own since fork, the parent's since it started; PyPy: minor / major steps / major (gc.hooks)", value: (p) => ownCollections(p)?.[2] ?? p.gc?.pypy?.major ?? null, text: (p) => (ownCollections(p) ? ownCollections(p)!.join('/') : p.gc?.pypy ? `${p.gc.pypy.minor}/${p.gc.pypy.majorSteps}/${p.gc.pypy.major}` : '-') },
  { id: 'last', title: 'LAST GC', width: 11, priority: 4, help: 'the last collection: generation and how long it took', value: (p) => p.lastCollection?.duration ?? null, text: (p) => (p.lastCollection ? `g${p.lastCollection.generation ?? '?'} ${formatSeconds(p.lastCollection.duration)}` : '-') },
  { id: 'cpu', title: 'CPU%', width: 6, priority: 3, sortKey: '0', help: 'CPU use over the last interval, % of one core', value: (p) => p.cpu, text: (p) => (p.cpu === null ? '-' : p.cpu.toFixed(1)) },
];

/** A worker's collections since fork (not its parent's history), else what gc.get_stats says. */
function ownCollections(p: ProcessSample): number[] | null {
  return p.gc?.sinceFork ?? p.gc?.stats?.map((s) => s.collections) ?? null;
}

function gen0Share(p: ProcessSample): number | null {
  const c = p.gc?.counts?.[0];
  const t = p.gc?.threshold?.[0];
  if (c === undefined || t === undefined || !p.gc?.enabled) return null;
  return t > 0 ? c / t : null;
}

function gen0Text(p: ProcessSample): string {
  const c = p.gc?.counts?.[0];
  if (c === undefined || !p.gc) return '-';
  if (!p.gc.enabled) return `${c} off`;
  const t = p.gc.threshold?.[0];
  return t === undefined ? String(c) : `${c}/${t}`;
}

/** Columns that fit the width, in their screen order, dropping the least important first. */
export function fitColumns(width: number, rows: readonly ProcessSample[] = [], c?: CellContext): Column[] {
  const chosen = new Set<Column>();
  let used = 0;
  const present = (col: Column): boolean => !col.optional || (c !== undefined && rows.some((p) => col.value(p, c) !== null));
  for (const col of [...COLUMNS].filter(present).sort((a, b) => a.priority - b.priority)) {
    const need = col.width + (chosen.size ? 1 : 0);
    if (used + need > width) continue;
    chosen.add(col);
    used += need;
  }
  return COLUMNS.filter((c) => chosen.has(c));
}

/** The parent first, live workers in the chosen order, exited workers last. */
export function sortRows(rows: readonly ProcessSample[], view: ViewState, c: CellContext): ProcessSample[] {
  const col = COLUMNS.find((x) => x.id === view.sort.column) ?? COLUMNS[0];
  const dir = view.sort.desc ? -1 : 1;
  const group = (p: ProcessSample): number => (p.role === 'parent' || p.role === 'master' ? 0 : p.alive ? 1 : 2);
  return [...rows].sort((a, b) => {
    const g = group(a) - group(b);
    if (g) return g;
    const va = col.value(a, c);
    const vb = col.value(b, c);
    if (va === vb) return a.pid - b.pid;
    if (va === null) return 1;
    if (vb === null) return -1;
    return (va < vb ? -1 : 1) * dir;
  });
}

const pad = (s: string, w: number, left?: boolean): string => {
  const t = s.length > w ? s.slice(0, w) : s;
  return left ? t.padEnd(w) : t.padStart(w);
};

function unitSuffix(units: Units): string {
  return units === 'heap' ? '%heap' : units;
}

export function tableHeader(cols: Column[], view: ViewState, theme: Theme): string {
  return cols
    .map((col) => {
      const mark = view.sort.column === col.id ? (view.sort.desc ? '▼' : '▲') : '';
      const title = col.title + mark;
      const cell = pad(title, col.width, col.left);
      return view.sort.column === col.id ? theme.sortMark(cell) : theme.bold(cell);
    })
    .join(' ');
}

/** What identifies a process's row across samples, sorts and re-forks: pid and start time. */
export const rowKey = (p: ProcessSample): string => `${p.pid}:${p.starttime ?? ''}`;

/** The rows' keys in screen order: what the selection moves along. */
export function rowOrder(s: Snapshot, view: ViewState, heapBytes: number | null): string[] {
  return sortRows(s.processes, view, { units: view.units, heapBytes, elapsedMs: s.elapsedMs }).map(rowKey);
}

export function tableRow(p: ProcessSample, cols: Column[], c: CellContext, theme: Theme): string {
  if (!p.alive) {
    const head = cols.slice(0, 2).map((col) => pad(col.text(p, c), col.width, col.left)).join(' ');
    const e = p.exit;
    const how = e ? (e.signalName ?? (e.signal !== undefined ? `signal ${e.signal}` : e.code !== undefined ? `code ${e.code}` : '')) : '';
    const text = `exited${how ? `: ${how}` : ''}${e && !e.requested ? ' (unexpected)' : ''}`;
    return (e && !e.requested ? theme.warn : theme.dim)(`${esc(head)} ${esc(text)}`);
  }
  const line = cols.map((col) => pad(col.text(p, c), col.width, col.left)).join(' ');
  const note = p.error ? ` ${p.error}` : '';
  return esc(line) + (note ? theme.warn(esc(note)) : '');
}

export function tableLines(s: Snapshot, view: ViewState, width: number, heapBytes: number | null, theme: Theme): { header: string; rows: string[]; keys: string[]; columns: Column[] } {
  const c: CellContext = { units: view.units, heapBytes, elapsedMs: s.elapsedMs };
  const cols = fitColumns(width, s.processes, c);
  const sorted = sortRows(s.processes, view, c);
  return {
    header: tableHeader(cols, view, theme),
    rows: sorted.map((p) => {
      const row = tableRow(p, cols, c, theme);
      // The selected row, highlighted across the whole width (htop's bar).
      if (rowKey(p) !== view.table.selected) return row;
      const visible = row.replace(/\{[^}]*\}/g, '').length;
      return theme.selected(row + ' '.repeat(Math.max(0, width - visible)));
    }),
    keys: sorted.map(rowKey),
    columns: cols,
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

export { unitSuffix };
