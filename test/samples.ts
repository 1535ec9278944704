/** A process sample for pure tests: every field set, what a test cares about given. */
import { type ProcessSample, type Snapshot, totalsOf } from '../src/sample/snapshot';

export const processSample = (over: Partial<ProcessSample>): ProcessSample => ({
  pid: 1,
  role: 'worker',
  index: 0,
  frozen: null,
  alive: true,
  exit: null,
  state: 'S',
  rss: 10,
  pss: 5,
  uss: 2,
  shared: 8,
  swap: 0,
  ussGrowth: 0,
  minflt: 0,
  majflt: 0,
  minfltDelta: 0,
  majfltDelta: 0,
  cpuTicks: 0,
  cpu: 0,
  gc: null,
  lastCollection: null,
  error: null,
  starttime: 1,
  ...over,
});

/** A snapshot of those processes for pure tests: totals from them, the rest as given. */
export const snapshotOf = (processes: ProcessSample[], over: Partial<Snapshot> = {}): Snapshot => ({
  seq: 1,
  t: 1,
  at: 1,
  elapsedMs: 1000,
  freeze: false,
  strategy: 'default',
  split: false,
  workload: 'idle',
  procAvailable: true,
  processes,
  totals: totalsOf(processes),
  denied: 0,
  tickMs: 1,
  ...over,
});
