/**
 * The process table's columns, declared once (htop's Process_fields[]): title, width, priority,
 * sort key, help, and how each cell is read from a sample. The key table, the setup and the
 * renderer all read this; what fits a width is decided here too.
 */
import { formatCount, formatSeconds } from '../format/units';
import type { ProcessSample } from '../sample/snapshot';
import type { ColumnId, Units } from './model';

export interface CellContext {
  units: Units;
  heapBytes: number | null;
  elapsedMs: number;
  attached?: boolean; // watching a tree cowtop did not start: its COMMAND column matters most
  tree?: boolean; // the tree view draws its branches in COMMAND, so COMMAND must show
  copied?: ReadonlyMap<number, number>; // pid -> bytes copied from the parent since fork (the copy map, when read)
  sorted?: ColumnId | null; // the column the table is sorted by: it keeps its place whatever the width
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

/**
 * What stays on a narrow terminal first: the sorted column (it takes the place of the least
 * important one, so a sort never hides what it sorts by); in the tree view COMMAND, which draws
 * the branches, before the figures; attached, COMMAND beside the first figures (what runs
 * matters more than gc columns that may have no agent to fill them).
 */
const priorityOf = (col: Column, c?: CellContext): number => {
  if (c?.sorted && col.id === c.sorted) return -1;
  if (col.id === 'command' && c?.tree) return 0.5;
  if (col.id === 'command' && c?.attached) return 1;
  return col.priority;
};

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
export const GC_COLUMNS: ReadonlySet<ColumnId> = new Set(['gc', 'gen0', 'colls', 'last', 'traced']);

function gen0Text(p: ProcessSample): string {
  // Stale: how old the figures are matters more than how close the next collection was then.
  if (p.gcAge?.stale && p.gc) return `${Math.round(p.gcAge.ms / 1000)}s old`;
  const c = p.gc?.counts?.[0];
  if (c === undefined || !p.gc) return '-';
  if (!p.gc.enabled) return `${c} off`;
  const t = p.gc.threshold?.[0];
  return t === undefined ? String(c) : `${c}/${t}`;
}

export function unitSuffix(units: Units): string {
  return units === 'heap' ? '%heap' : units;
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
