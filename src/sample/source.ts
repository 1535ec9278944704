/** What the sampler reads besides /proc: the experiment, or an attached tree (and the copy map's wish). */
import type { PageKinds } from '../experiment/page-kinds';
import type { CollectionMessage, ExitMessage, GcAge, GcMessage } from '../experiment/protocol';
import type { Role } from './snapshot';

/** What the sampler needs from an experiment or from an attached tree. */
export interface SampleSource {
  readonly pid: number; // the root of the tree
  readonly rootRole?: Role; // 'parent' unless said otherwise
  readonly workers: ReadonlyMap<number, { index: number; freeze?: boolean }>;
  readonly split?: boolean;
  readonly exits: ReadonlyMap<number, ExitMessage>;
  readonly gc: ReadonlyMap<number, GcMessage>;
  /** How old a process's gc state is, where the source knows when it was written. */
  gcAge?(pid: number, now: number): GcAge | null;
  readonly lastCollection: ReadonlyMap<number, CollectionMessage>;
  /** Its pid inside its own PID namespace, where that is not cowtop's (a container). */
  innerPid?(pid: number): number | null;
  readonly freeze: boolean | null; // null: not known (an attached tree without the agent)
  readonly gcStrategy?: string; // the experiment's gc strategy (strategy.ts); unknown for an attached tree
  readonly workload: string;
  /** Counts re-forks (the experiment's): the parent's GROWTH starts again with each. */
  readonly generation?: number;
  /** Gives a newly seen child of the root its worker number (attached trees number their own). */
  assignWorker?(pid: number): number;
  /** The workers the source asked for (the experiment): the read that finds them all ends a fork phase. Unknown for an attached tree. */
  readonly expectedWorkers?: number;
  /** What lives on the root's heap pages (the experiment, CPython): names the copy map's copies. */
  readonly kinds?: PageKinds | null;
  /** The live processes of this tick, before any row is made: a number freed by an exit is free again. */
  retain?(live: ReadonlySet<number>): void;
  /** Reads what the live processes say of themselves (an attached tree's agents) for this tick's rows. */
  refresh?(live: ReadonlyArray<{ pid: number; starttime: number | null }>): Promise<void>;
}

/** Whether the copy map is wanted, and how often it may be read at most. */
export interface MapWish {
  wanted: boolean;
  minGapMs: number;
}
