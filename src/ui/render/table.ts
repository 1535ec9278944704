/** The process table: columns, what fits the width, sorting, and each row's text. */
import { formatCount, formatSeconds } from '../../format/units';
import type { ProcessSample, Snapshot } from '../../sample/snapshot';
import type { ColumnId, Units, ViewState } from '../model';
import { esc, type Theme } from '../theme';

export interface CellContext {
  units: Units;
  heapBytes: number | null;
  elapsedMs: number;
  attached?: boolean; // watching a tree cowtop did not start: its COMMAND column matters most
  tree?: boolean; // the tree view draws its branches in COMMAND, so COMMAND must show
  copied?: ReadonlyMap<number, number>; // pid -> bytes copied from the parent since fork (the copy map, when read)
}

export interface Column {
  id: ColumnId;
  title: string;
  width: number;
  left?: boolean;
  priority: number; // lower survives a narrow terminal
  optional?: boolean; // shown only when some row has a value (TRACED: only with --tracemalloc)
  sortKey?: string; // the key that sorts by this column
  size?: boolean; // a size: its title carries the unit (USS MiB)
  fill?: boolean; // takes the width left over (COMMAND), at least `width`
  help: string;
  value(p: ProcessSample, c: CellContext): number | string | null;
  text(p: ProcessSample, c: CellContext): string;
}

const perSecond = (n: number | null, c: CellContext): number | null => (n === null ? null : (n * 1000) / c.elapsedMs);

export function sizeText(bytes: number | null, c: CellContext): string {
  if (bytes === null) return '-';
  if (c.units === 'heap') return c.heapBytes ? `${((bytes / c.heapBytes) * 100).toFixed(1)}%` : '-';
  if (c.units === 'KiB') return formatCount(bytes / 1024);
  return (bytes / 1048576).toFixed(1);
}

const size = (
  id: ColumnId,
  title: string,
  priority: number,
  sortKey: string,
  help: string,
  get: (p: ProcessSample) => number | null,
): Column => ({
  id,
  title,
  width: 9,
  priority,
  sortKey,
  help,
  size: true,
  value: get,
  text: (p, c) => sizeText(get(p), c),
});

/** A column's title with its unit: units are always on screen, whatever the header has room for. */
export function columnTitle(col: Column, units: Units): string {
  return col.size ? `${col.title} ${unitSuffix(units)}` : col.title;
}

/** Room for the title, its unit and the sort mark. */
export function columnWidth(col: Column, units: Units, c?: CellContext): number {
  // A command line says little in 12 columns: where COMMAND matters (attach, tree) it asks for more.
  if (col.fill && (c?.attached || c?.tree)) return 32;
  return Math.max(col.width, columnTitle(col, units).length + 1);
}

export const COLUMNS: Column[] = [
  {
    id: 'role',
    title: 'ROLE',
    width: 9,
    left: true,
    priority: 0,
    help: 'parent, or worker number',
    value: (p) => (p.role === 'parent' || p.role === 'master' ? -1 : (p.index ?? 999)),
    text: (p) =>
      p.role === 'worker' && p.index !== null
        ? `${p.frozen === true ? 'frozen' : p.frozen === false ? 'no-frz' : 'worker'} ${p.index + 1}`
        : p.role,
  },
  {
    id: 'pid',
    title: 'PID',
    width: 7,
    priority: 0,
    sortKey: '1',
    help: 'process id',
    value: (p) => p.pid,
    text: (p) => String(p.pid),
  },
  size('uss', 'USS', 0, '4', 'unique set size: memory only this process holds', (p) => p.uss),
  {
    ...size(
      'copied',
      'COPIED',
      1,
      '',
      'bytes copied from the parent since fork, page by page (pagemap; the copy map, while it is read: m, Enter, attach)',
      () => null,
    ),
    value: (p, c) => c.copied?.get(p.pid) ?? null,
    text: (p, c) => sizeText(c.copied?.get(p.pid) ?? null, c),
    sortKey: undefined,
    optional: true,
  },
  {
    ...size(
      'traced',
      'TRACED',
      1,
      '',
      'tracemalloc current (--tracemalloc): what Python allocated in the worker; USS above it is copied pages',
      (p) => p.gc?.traced?.[0] ?? null,
    ),
    sortKey: undefined,
    optional: true,
  },
  size(
    'growth',
    'GROWTH',
    1,
    '6',
    'USS growth since the first sample after fork: pages no longer shared',
    (p) => p.ussGrowth,
  ),
  size('pss', 'PSS', 1, '3', 'proportional set size: shared pages divided among their sharers', (p) => p.pss),
  size('rss', 'RSS', 2, '2', 'resident set size: what top shows', (p) => p.rss),
  size('shared', 'SHARED', 4, '5', 'RSS minus USS: pages shared with other processes', (p) => p.shared),
  {
    id: 'minflt',
    title: 'MINFLT/s',
    width: 9,
    priority: 2,
    sortKey: '7',
    help: 'minor page faults per second: each copy-on-write break is one',
    value: (p, c) => perSecond(p.minfltDelta, c),
    text: (p, c) => formatCount(perSecond(p.minfltDelta, c)),
  },
  {
    id: 'majflt',
    title: 'MAJFLT/s',
    width: 9,
    priority: 6,
    sortKey: '8',
    help: 'major page faults per second (read from disk)',
    value: (p, c) => perSecond(p.majfltDelta, c),
    text: (p, c) => formatCount(perSecond(p.majfltDelta, c)),
  },
  {
    id: 'gc',
    title: 'GC 0/1/2',
    width: 13,
    priority: 3,
    help: 'gc.get_count(): objects in each generation since its last collection',
    value: (p) => p.gc?.counts?.[0] ?? null,
    text: (p) => (p.gc?.counts ? p.gc.counts.join('/') : '-'),
  },
  {
    id: 'gen0',
    title: 'GEN0/THR',
    width: 11,
    priority: 4,
    help: 'gen-0 count against its threshold: how close the next collection is (off: gc disabled)',
    value: (p) => gen0Share(p),
    text: (p) => gen0Text(p),
  },
  {
    id: 'colls',
    title: 'COLLS 0/1/2',
    width: 13,
    priority: 5,
    sortKey: '9',
    help: "collections per generation (gc.get_stats): a worker's own since fork, the parent's since it started; PyPy: minor / major steps / major (gc.hooks)",
    value: (p) => ownCollections(p)?.[2] ?? p.gc?.pypy?.major ?? null,
    text: (p) =>
      ownCollections(p)
        ? ownCollections(p)!.join('/')
        : p.gc?.pypy
          ? `${p.gc.pypy.minor}/${p.gc.pypy.majorSteps}/${p.gc.pypy.major}`
          : '-',
  },
  {
    id: 'last',
    title: 'LAST GC',
    width: 11,
    priority: 4,
    help: 'the last collection: generation and how long it took',
    value: (p) => p.lastCollection?.duration ?? null,
    text: (p) =>
      p.lastCollection ? `g${p.lastCollection.generation ?? '?'} ${formatSeconds(p.lastCollection.duration)}` : '-',
  },
  {
    id: 'cpu',
    title: 'CPU%',
    width: 6,
    priority: 3,
    sortKey: '0',
    help: 'CPU use over the last interval, % of one core',
    value: (p) => p.cpu,
    text: (p) => (p.cpu === null ? '-' : p.cpu.toFixed(1)),
  },
  {
    id: 'command',
    title: 'COMMAND',
    width: 12,
    left: true,
    fill: true,
    priority: 7,
    help: 'the command line (/proc/PID/cmdline), cut with … where it does not fit; t nests it as a tree',
    value: (p) => p.command ?? null,
    text: (p) => p.command ?? '-',
  },
];

/** attach: what runs matters more than gc columns that may have no agent to fill them. */
const priorityOf = (col: Column, c?: CellContext): number =>
  col.id === 'command' && (c?.attached || c?.tree) ? 1 : col.priority;

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

/** The columns drawn from the process's own gc report: dimmed when it is stale. */
const GC_COLUMNS: ReadonlySet<ColumnId> = new Set(['gc', 'gen0', 'colls', 'last', 'traced']);

function gen0Text(p: ProcessSample): string {
  // Stale: how old the figures are matters more than how close the next collection was then.
  if (p.gcAge?.stale && p.gc) return `${Math.round(p.gcAge.ms / 1000)}s old`;
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
  const units = c?.units ?? 'MiB';
  const filled = c ? filledColumns(rows, c) : null;
  const present = (col: Column): boolean => !col.optional || filled?.has(col.id) === true;
  for (const col of [...COLUMNS].filter(present).sort((a, b) => priorityOf(a, c) - priorityOf(b, c))) {
    const need = columnWidth(col, units, c) + (chosen.size ? 1 : 0);
    if (used + need > width) continue;
    chosen.add(col);
    used += need;
  }
  return COLUMNS.filter((c) => chosen.has(c));
}

/**
 * The optional columns some row has a value for. Per snapshot (its rows array) and copy map, not
 * per frame: at 2,000 rows the scans were a tenth of a frame.
 */
const filledCache = new WeakMap<
  readonly ProcessSample[],
  { copied: CellContext['copied']; ids: ReadonlySet<ColumnId> }
>();
function filledColumns(rows: readonly ProcessSample[], c: CellContext): ReadonlySet<ColumnId> {
  const hit = filledCache.get(rows);
  if (hit && hit.copied === c.copied) return hit.ids;
  const ids = new Set(
    COLUMNS.filter((col) => col.optional && rows.some((p) => col.value(p, c) !== null)).map((col) => col.id),
  );
  filledCache.set(rows, { copied: c.copied, ids });
  return ids;
}

/** Each column's width on screen: the fill column (COMMAND) takes what the others leave. */
export function columnWidths(cols: readonly Column[], width: number, units: Units, c?: CellContext): number[] {
  const fixed = cols.reduce((a, col) => a + (col.fill ? 0 : columnWidth(col, units)), 0) + Math.max(0, cols.length - 1);
  return cols.map((col) => (col.fill ? Math.max(columnWidth(col, units, c), width - fixed) : columnWidth(col, units)));
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

/** How a row is named for the filter and the confirm box: "worker 3", "parent", "master". */
export function roleText(p: ProcessSample): string {
  return COLUMNS[0].text(p, { units: 'MiB', heapBytes: null, elapsedMs: 1 });
}

/** Whether a row matches the filter: its pid, its role, or its command holds the text. */
export function matchesFilter(p: ProcessSample, filter: string): boolean {
  if (!filter) return true;
  const f = filter.toLowerCase();
  return (
    String(p.pid).includes(f) ||
    roleText(p).toLowerCase().includes(f) ||
    p.role.includes(f) ||
    (p.command ?? '').toLowerCase().includes(f)
  );
}

export interface ShownRow {
  p: ProcessSample;
  prefix: string; // the tree's branch drawing before the command ('' outside the tree view)
}

/**
 * The rows in screen order: filtered, then sorted, or in the tree view nested under their parents
 * (depth first, siblings in the chosen order) with htop's branch lines.
 */
export function orderRows(rows: readonly ProcessSample[], view: ViewState, c: CellContext): ShownRow[] {
  const shown = rows.filter((p) => matchesFilter(p, view.table.filter));
  const sorted = sortRows(shown, view, c);
  if (!view.table.tree) return sorted.map((p) => ({ p, prefix: '' }));
  const pids = new Set(sorted.map((p) => p.pid));
  const kids = new Map<number, ProcessSample[]>();
  const roots: ProcessSample[] = [];
  for (const p of sorted) {
    const parent = p.ppid ?? null;
    if (parent !== null && parent !== p.pid && pids.has(parent)) {
      if (!kids.has(parent)) kids.set(parent, []);
      kids.get(parent)!.push(p);
    } else {
      roots.push(p);
    }
  }
  const out: ShownRow[] = [];
  const seen = new Set<ProcessSample>();
  const walk = (p: ProcessSample, lead: string, branch: string): void => {
    if (seen.has(p)) return; // a pid reused inside the tree cannot make a loop
    seen.add(p);
    out.push({ p, prefix: lead + branch });
    const children = kids.get(p.pid) ?? [];
    const below = lead + (branch === '' ? '' : branch === '├─ ' ? '│  ' : '   ');
    for (const [i, k] of children.entries()) walk(k, below, i === children.length - 1 ? '└─ ' : '├─ ');
  };
  for (const r of roots) walk(r, '', '');
  return out;
}

/** Cuts text to w visible characters, with … where it was cut (left columns) or plain (numbers). */
const pad = (s: string, w: number, left?: boolean): string => {
  const t = s.length > w ? (left && w > 1 ? `${s.slice(0, w - 1)}…` : s.slice(0, w)) : s;
  return left ? t.padEnd(w) : t.padStart(w);
};

function unitSuffix(units: Units): string {
  return units === 'heap' ? '%heap' : units;
}

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

/** Each worker's copied bytes from the snapshot's copy map, when it has an exact one. */
const copiedCache = new WeakMap<Snapshot, ReadonlyMap<number, number> | undefined>();
export function copiedOf(s: Snapshot): ReadonlyMap<number, number> | undefined {
  if (!s.copies?.privileged) return undefined;
  if (!copiedCache.has(s)) copiedCache.set(s, new Map(s.copies.workers.map((w) => [w.pid, w.total.copied])));
  return copiedCache.get(s);
}

/**
 * The rows in screen order and their keys, for a snapshot and what orders it (sort, filter,
 * tree, units, heap). Kept per snapshot: a key that only moves the selection or pauses draws a
 * frame without sorting 2,000 rows again.
 */
const orderCache = new WeakMap<Snapshot, { by: string; shown: readonly ShownRow[]; keys: readonly string[] }>();
function orderedOf(
  s: Snapshot,
  view: ViewState,
  c: CellContext,
): { shown: readonly ShownRow[]; keys: readonly string[] } {
  const by = JSON.stringify([
    view.sort.column,
    view.sort.desc,
    view.table.filter,
    view.table.tree,
    c.units,
    c.heapBytes,
    c.attached ?? false,
  ]);
  const hit = orderCache.get(s);
  if (hit && hit.by === by) return hit;
  const shown = orderRows(s.processes, view, c);
  const made = { by, shown, keys: shown.map((r) => rowKey(r.p)) };
  orderCache.set(s, made);
  return made;
}

/** What identifies a process's row across samples, sorts and re-forks: pid and start time. */
export const rowKey = (p: ProcessSample): string => `${p.pid}:${p.starttime ?? ''}`;

/** The rows' keys in screen order: what the selection moves along. */
export function rowOrder(s: Snapshot, view: ViewState, heapBytes: number | null, attached = false): readonly string[] {
  return orderedOf(s, view, {
    units: view.units,
    heapBytes,
    elapsedMs: s.elapsedMs,
    attached,
    tree: view.table.tree,
    copied: copiedOf(s),
  }).keys;
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
    const how = e
      ? (e.signalName ?? (e.signal !== undefined ? `signal ${e.signal}` : e.code !== undefined ? `code ${e.code}` : ''))
      : '';
    const text = `exited${how ? `: ${how}` : ''}${e && !e.requested ? ' (unexpected)' : ''}`;
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
  const c: CellContext = {
    units: view.units,
    heapBytes,
    elapsedMs: s.elapsedMs,
    attached,
    tree: view.table.tree,
    copied: copiedOf(s),
  };
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

export { unitSuffix };
