/**
 * The table's rows: what identifies a row across samples, the filter, the sort, the tree view's
 * nesting, and the order the selection moves along (kept per snapshot).
 */
import type { ProcessSample, Snapshot } from '../sample/snapshot';
import { type CellContext, COLUMNS } from './columns';
import type { ViewState } from './model';

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

/** Each worker's copied bytes from the snapshot's copy map, when it has an exact one. */
const copiedCache = new WeakMap<Snapshot, ReadonlyMap<number, number> | undefined>();
export function copiedByPid(s: Snapshot): ReadonlyMap<number, number> | undefined {
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
export function orderedOf(
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

/** What every cell of a snapshot's table is read with, as the view stands. */
export function cellContext(s: Snapshot, view: ViewState, heapBytes: number | null, attached = false): CellContext {
  return {
    units: view.units,
    heapBytes,
    elapsedMs: s.elapsedMs,
    attached,
    tree: view.table.tree,
    copied: copiedByPid(s),
    sorted: view.sort.column,
  };
}

/** The rows' keys in screen order: what the selection moves along. */
export function rowOrder(s: Snapshot, view: ViewState, heapBytes: number | null, attached = false): readonly string[] {
  return orderedOf(s, view, cellContext(s, view, heapBytes, attached)).keys;
}
