/** One sampling tick's view of the experiment's processes. Immutable once made. */
import type { CollectionMessage, ExitMessage, GcAge, GcMessage } from '../experiment/protocol';
import type { SmapsRollup } from '../proc/parse';
import type { CgroupMemory } from '../proc/cgroup';
import type { CopyMap } from './copy-map';

/** parent: the experiment's; master: the root of an attached tree; grandchild: below a worker. */
export type Role = 'parent' | 'master' | 'worker' | 'grandchild';

export interface ProcessSample {
  readonly pid: number;
  readonly role: Role;
  readonly index: number | null; // worker number, stable across samples
  readonly frozen: boolean | null; // split view: forked after gc.freeze() (null outside split)
  readonly alive: boolean;
  readonly exit: ExitMessage | null; // set for a worker that exited since the last fork
  readonly state: string | null; // R, S, D, Z... from stat
  readonly rss: number | null; // bytes
  readonly pss: number | null;
  readonly uss: number | null;
  readonly shared: number | null; // rss - uss: pages this process shares with others
  readonly swap: number | null;
  readonly ussGrowth: number | null; // uss - uss at its first sample after fork
  readonly minflt: number | null; // counters since the process started
  readonly majflt: number | null;
  readonly minfltDelta: number | null; // since the previous snapshot
  readonly majfltDelta: number | null;
  readonly cpuTicks: number | null; // utime + stime from stat, clock ticks: the next CPU% is taken against it
  readonly cpu: number | null; // percent of one core over the last interval
  readonly gc: GcMessage | null;
  readonly gcAge?: GcAge | null; // how old gc is, where known: stale past 3 of its writer's intervals
  readonly lastCollection: CollectionMessage | null;
  readonly innerPid?: number | null; // its pid in its own PID namespace (a container), where not cowtop's
  readonly error: string | null; // why some figures are missing (e.g. permission)
  readonly starttime: number | null; // clock ticks after boot; tells a reused pid apart
  readonly ppid?: number | null; // from stat: the tree view nests by it
  readonly command?: string | null; // /proc/PID/cmdline joined with spaces (sanitized), else stat's comm
  readonly rollup?: SmapsRollup | null; // every smaps_rollup field read: the detail pane shows them
}

/**
 * Sums over the live processes. A sum is null (unknown) when any live process's figure is: a
 * total of the readable ones only would claim a footprint smaller than the tree's.
 */
export interface Totals {
  readonly uss: number | null;
  readonly pss: number | null;
  readonly rss: number | null;
  readonly shared: number | null; // rss - uss summed: what top counts more than once
}

export interface Snapshot {
  readonly seq: number;
  readonly t: number; // ms since cowtop started (clock.ts): the clock of every record
  readonly at: number; // the wall clock of the sample, epoch ms
  readonly elapsedMs: number; // real time since the previous snapshot
  readonly freeze: boolean | null; // null: an attached tree whose root has no gc agent (unknown)
  readonly strategy: string | null; // the workers' gc strategy (default, disable, threshold:N..., freeze); null when attached
  readonly split: boolean; // half the workers frozen, half not
  readonly workload: string;
  readonly procAvailable: boolean;
  readonly processes: readonly ProcessSample[];
  readonly totals: Totals;
  /** Processes whose USS/PSS could not be read, and why (another user's, without root). */
  readonly denied: number;
  /** How long this tick took to read /proc: the sampler's own lag. */
  readonly tickMs: number;
  /** The copy map, while it is wanted (map pane, detail pane, --map); it may be a few ticks old (its own `at`). */
  readonly copies?: CopyMap | null;
  /** The memory cgroups the tree is in, most of its processes first (absent without /proc). */
  readonly cgroups?: readonly CgroupSample[];
  /** OOM kills in those cgroups since the last snapshot. */
  readonly ooms?: readonly OomKill[];
  /** Why there is no copy map although one was wanted. */
  readonly copiesNote?: string | null;
}

export function totalsOf(processes: readonly ProcessSample[]): Totals {
  const sum = (get: (p: ProcessSample) => number | null): number | null => {
    let total = 0;
    for (const p of processes) {
      if (!p.alive) continue;
      const v = get(p);
      if (v === null) return null;
      total += v;
    }
    return total;
  };
  return { uss: sum((p) => p.uss), pss: sum((p) => p.pss), rss: sum((p) => p.rss), shared: sum((p) => p.shared) };
}

export interface CgroupSample extends CgroupMemory {
  /** Live processes of the tree in it. */
  readonly treeProcesses: number;
  /** Processes in it that are not the tree's (null: cgroup.procs unreadable): Σ PSS is then no stand-in for its usage. */
  readonly outside: number | null;
}

/** The kernel's OOM killer killed in a cgroup of the tree since the last tick. */
export interface OomKill {
  readonly cgroup: string;
  readonly kills: number;
  readonly usage: number | null;
  readonly limit: number | null;
  /** The tree's processes in that cgroup that were alive a tick ago and are gone now. */
  readonly gone: ReadonlyArray<{ pid: number; role: ProcessSample['role']; index: number | null }>;
}
