/** What the dashboard and --batch drive: the experiment cowtop runs, or a tree it attached to. */
import type { EventEmitter } from 'node:events';
import type { Experiment } from '../experiment/experiment';
import type { Placement } from '../proc/placement';
import type { SignalName } from '../proc/signal';

export interface AttachInfo {
  pid: number;
  command: string;
  agents: number; // processes whose gc agent answered at the last sample
  implementation: string | null;
  run?: { freeze: boolean; keep: boolean }; // cowtop run started the tree
  where?: Placement | null; // the root's namespaces and container, once read
}

/**
 * Events: 'snapshot' (Snapshot), 'report' (Report), 'log' (LogLine), 'spawn',
 * 'died' (text: the root is gone), 'memory' (text: workers stopped), 'notice' (text).
 */
export interface Monitor extends EventEmitter {
  readonly kind: 'experiment' | 'attach';
  readonly experiment: Experiment | null;
  readonly attached: AttachInfo | null;
  start(): Promise<unknown>;
  /** The code --batch exits with when the root is gone (an experiment that died: 1). */
  readonly diedExitCode?: number;
  restart(): Promise<unknown>;
  /** The sampling interval in force, ms; [ and ] change it while running. */
  readonly intervalMs: number;
  setInterval(ms: number): void;
  /** The copy map is read while wanted (map or detail pane, --map), at most every minGapMs. */
  wantMap(on: boolean, minGapMs?: number): void;
  /** k: a signal to a process of the tree, if it is still the one shown (pid and start time). */
  signal(pid: number, starttime: number | null, signal: SignalName): Promise<{ ok: boolean; text: string }>;
}
