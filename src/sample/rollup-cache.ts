/**
 * When a smaps_rollup needs reading again. Reading it walks the page tables (~14 ms of kernel
 * time for an 800 MB Python process); /proc/PID/stat costs ~10 us. The figures of a tree can
 * change only if some process in it faulted, started, exited, or mapped/unmapped memory: a
 * parent's write makes a child's page private without a fault in the child, so the rule is
 * per tree, not per process. A full read every FULL_EVERY_MS covers what no counter shows
 * (reclaim, swap-out, a file page shared with processes outside the tree).
 */
import type { Read } from '../proc/read';
import type { ProcStat, SmapsRollup } from '../proc/parse';

export const FULL_EVERY_MS = 30_000;

/** What stat says about a process that would change if its memory changed. */
export function fingerprint(s: ProcStat): string {
  return `${s.starttime}:${s.minflt}:${s.majflt}:${s.rssPages}:${s.vsize}`;
}

export class RollupCache {
  private prints = new Map<number, string>();
  private rollups = new Map<number, Read<SmapsRollup>>();
  private lastFull = -Infinity;
  fullReads = 0;
  reusedTicks = 0;

  constructor(private readonly enabled = true) {}

  /** Whether every rollup must be read this tick, given every live process's stat. */
  mustRead(stats: readonly ProcStat[], now: number): boolean {
    if (!this.enabled || now - this.lastFull >= FULL_EVERY_MS) return true;
    if (stats.length !== this.prints.size) return true;
    for (const s of stats) if (this.prints.get(s.pid) !== fingerprint(s)) return true;
    for (const s of stats) if (!this.rollups.has(s.pid)) return true;
    return false;
  }

  store(stats: readonly ProcStat[], rollups: ReadonlyMap<number, Read<SmapsRollup>>, now: number): void {
    this.prints = new Map(stats.map((s) => [s.pid, fingerprint(s)]));
    this.rollups = new Map(rollups);
    this.lastFull = now;
    this.fullReads++;
  }

  reuse(pid: number): Read<SmapsRollup> {
    return this.rollups.get(pid)!;
  }
}
