/** What the experiment is asked to do; shared by every command. */
export interface ExperimentOptions {
  python: string;
  size: number;
  workers: number;
  freeze: boolean;
  workload: string;
  collectEvery: number; // seconds
  interval: number; // ms
  tracemalloc?: boolean; // workers report tracemalloc's current and peak
  split?: boolean; // half the workers forked before gc.freeze(), half after
  gc?: string; // strategy spec (strategy.ts); freeze above is the same as gc 'freeze'
  enabler?: number | null; // with gc disable: each worker calls gc.enable() after this many seconds
  enablerAck?: boolean; // the worker waits for SIGCONT before gc.enable(), so its copies can be read first
  requests?: number | null; // serve: requests per act() and none on its own (compare --strategies)
  guard?: boolean; // measure the first objects, then wait for {"cmd": "build"} (the memory guard)
}

export const WORKLOADS = ['idle', 'collect', 'serve', 'read', 'write'] as const;
export const MAX_WORKERS = 64;

/** What each workload makes the screen show: in --help, the help overlay and the README. */
export const WORKLOAD_HELP: Record<(typeof WORKLOADS)[number], string> = {
  idle: 'workers only report and wait: USS stays flat until you press g',
  collect:
    "gc.collect() every --collect-every s: without freeze each worker's USS jumps to most of the heap at the first collection; with freeze it stays flat",
  serve:
    "requests that make garbage and a slowly growing cache, no explicit collect: once the interpreter's own thresholds run a full collection, unfrozen workers' USS climbs; frozen ones grow only with their cache",
  read: 'walks the shared data every --collect-every s, only reading: refcount writes copy the pages even with gc.freeze(), the limit of freezing',
  write: 'mutates every shared record every --collect-every s: every page is copied, freeze or not (the upper bound)',
};
/**
 * What --size counts: records, each a small object that holds a list (cowtop_experiment.heap's
 * Record), so 2 objects the gc tracks. The parent's frozen count is that and the interpreter's own.
 */
export const TRACKED_PER_RECORD = 2;

/** --size as it is said everywhere: the records and the gc-tracked objects they make. */
export function recordsText(size: number): string {
  const n = (x: number): string => Math.round(x).toLocaleString('en-US');
  return `${n(size)} records (${n(size * TRACKED_PER_RECORD)} gc-tracked objects)`;
}

export const DEFAULTS = {
  size: 1_000_000,
  workers: 4,
  freeze: false,
  workload: 'idle',
  collectEvery: 5,
  interval: 1000,
};

/**
 * How the experiment runs: `python -m cowtop_experiment`, from the directory that holds it
 * (`-m` puts the working directory first on sys.path: this one, not the user's, whose files
 * could shadow the standard library). Run as a script from the user's directory instead, its
 * workers faulted pages after settling: the longer command line and sys.path moved what the
 * allocators reuse (bench/RESULTS.md, tenth session).
 */
export const EXPERIMENT_ARGS = ['-m', 'cowtop_experiment'] as const;

/**
 * The experiment's environment. Its working directory is not the user's, so a version manager's
 * shim would pick the interpreter for cowtop's directory: pyenv is told the user's (PYENV_DIR,
 * where it looks for .python-version files), as `python3` typed there would be. PYTHONSAFEPATH
 * (3.11+) would keep -m from finding the package; the working directory here is cowtop's own.
 */
export function experimentEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  delete env.PYTHONSAFEPATH;
  if (env.PYENV_DIR === undefined) {
    try {
      env.PYENV_DIR = process.cwd();
    } catch {
      // the user's directory is gone: pyenv falls back to its global version
    }
  }
  return env;
}
