/**
 * When a smaps_rollup needs reading again. Reading it walks the page tables (~14 ms of kernel
 * time for an 800 MB Python process); /proc/PID/stat costs ~10 us. The figures of a tree can
 * change only if some process in it faulted, started, exited, or mapped/unmapped memory: a
 * parent's write makes a child's page private without a fault in the child, so the rule is
 * per tree, not per process. What no counter in the tree shows (a process outside it that
 * shared a library or a file exits, reclaim, swap-out) is covered within STALE_MS: a process
 * the outside watch has a baseline for is vouched for by it (outside-watch.ts, ~2 ms for a whole
 * tree); the others' rollups are re-read round-robin, a few a tick.
 */
import type { Read } from '../proc/read';
import type { ProcStat, SmapsRollup } from '../proc/parse';

/** No figure on screen or in a record is older than this, whatever happens outside the tree. */
export const STALE_MS = 5_000;
/** Past this many processes a tree is read in turns while it moves, each row within the refresh bound. */
export const BIG_TREE = 300;
export const BIG_TREE_REFRESH_MS = 2_000;

/** Whether stat says the same about a process's memory as before: what would change if its memory changed. */
export function samePrint(a: ProcStat | undefined, b: ProcStat): boolean {
  return (
    a !== undefined &&
    a.starttime === b.starttime &&
    a.minflt === b.minflt &&
    a.majflt === b.majflt &&
    a.rssPages === b.rssPages &&
    a.vsize === b.vsize
  );
}

/**
 * Every rollup, or the oldest few (round-robin) while the tree is quiet; verify: the processes
 * the outside watch is asked about (all it has baselines for, once any of them is due).
 */
export type ReadPlan = { all: true } | { all: false; pids: ReadonlySet<number>; verify: ReadonlySet<number> };

export class RollupCache {
  private prints = new Map<number, ProcStat>(); // the stat each rollup was read with
  private rollups = new Map<number, Read<SmapsRollup>>();
  private readAt = new Map<number, number>();
  fullReads = 0;
  reusedTicks = 0; // ticks that kept some figures: the tree was quiet
  partialReads = 0; // rollups re-read on those ticks, for the staleness bound
  vouchedReads = 0; // rollups the outside watch vouched for instead

  constructor(private readonly enabled = true) {}

  /** Whether every rollup must be read this tick: something in the tree may have moved. */
  mustRead(stats: readonly ProcStat[]): boolean {
    if (!this.enabled) return true;
    if (stats.length !== this.prints.size) return true;
    for (const s of stats) if (!samePrint(this.prints.get(s.pid), s)) return true;
    for (const s of stats) if (!this.rollups.has(s.pid)) return true;
    return false;
  }

  /**
   * gapMs: the time between ticks. A quiet tree re-reads its oldest n*gap/STALE_MS rollups (so
   * the reads spread evenly), and any that would be older than STALE_MS at the next tick.
   */
  plan(
    stats: readonly ProcStat[],
    now: number,
    gapMs: number,
    vouchable: (pid: number) => boolean = () => false,
  ): ReadPlan {
    const moved = this.mustRead(stats);
    if (moved && (stats.length <= BIG_TREE || !this.enabled)) return { all: true };
    // A big tree whose processes all fault every second would cost a core a tick: each row is
    // re-read at least every BIG_TREE_REFRESH_MS instead, new processes and the ones that moved
    // first. A quiet tree keeps the STALE_MS bound.
    const bound = moved ? BIG_TREE_REFRESH_MS : STALE_MS;
    // Each process's age and whether it moved, once: the sort compares them n log n times.
    const rank = stats.map((s) => {
      const print = this.prints.get(s.pid);
      const at = this.readAt.get(s.pid);
      return {
        pid: s.pid,
        changed: !samePrint(print, s),
        age: at !== undefined && print?.starttime === s.starttime ? now - at : Infinity,
      };
    });
    // Vouched for together (one read of kpagecount covers them all) when the oldest is due; only a quiet tree.
    const watched = moved ? [] : rank.filter((r) => vouchable(r.pid));
    const verify = new Set(watched.some((r) => r.age + gapMs > bound) ? watched.map((r) => r.pid) : []);
    const rest = watched.length ? rank.filter((r) => !vouchable(r.pid)) : rank;
    const share = Math.ceil((rest.length * Math.max(0, gapMs)) / bound);
    rest.sort((a, b) => Number(b.changed) - Number(a.changed) || b.age - a.age);
    // Due: older than the bound by the next tick. A moving big tree's 2 s is a refresh period
    // (every second tick at 1 Hz): a row read two ticks ago is due, one read a tick ago is not,
    // however the ticks jitter; counted strictly, a tick a few ms late made every row due at once.
    const slack = moved ? gapMs / 2 : 0;
    const pids = new Set<number>();
    for (const r of rest) if (pids.size < share || r.age + gapMs > bound + slack) pids.add(r.pid);
    return { all: false, pids, verify };
  }

  /** all: every process was read (the tree's figures start over); else only those in `rollups`. */
  store(
    stats: readonly ProcStat[],
    rollups: ReadonlyMap<number, Read<SmapsRollup>>,
    now: number,
    all = true,
    vouched: Iterable<number> = [],
  ): void {
    if (all) {
      this.prints = new Map(stats.map((s) => [s.pid, s]));
      this.rollups = new Map(rollups);
      this.readAt = new Map(stats.map((s) => [s.pid, now]));
      this.fullReads++;
      return;
    }
    this.reusedTicks++;
    const byPid = new Map(stats.map((s) => [s.pid, s]));
    // As read now: nothing in the process or outside it moved since its rollup was read.
    for (const pid of vouched) {
      if (!this.rollups.has(pid)) continue;
      this.readAt.set(pid, now);
      this.vouchedReads++;
    }
    for (const [pid, r] of rollups) {
      this.rollups.set(pid, r);
      this.readAt.set(pid, now);
      const st = byPid.get(pid);
      if (st) this.prints.set(pid, st);
      this.partialReads++;
    }
    // Processes gone from the tree are forgotten; the rest keep the print of their last read.
    for (const pid of [...this.prints.keys()]) {
      if (byPid.has(pid)) continue;
      this.prints.delete(pid);
      this.rollups.delete(pid);
      this.readAt.delete(pid);
    }
  }

  reuse(pid: number): Read<SmapsRollup> {
    return this.rollups.get(pid)!;
  }

  /** How old the oldest figure is: the staleness a snapshot carries. */
  oldestMs(now: number): number {
    let oldest = now;
    for (const t of this.readAt.values()) oldest = Math.min(oldest, t);
    return now - oldest;
  }
}
