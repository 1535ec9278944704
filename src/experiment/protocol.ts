/**
 * Messages of the experiment (python/cowtop_experiment/), one JSON object per line on the report pipe. Each is
 * checked against its schema before anything reads it: a field of the wrong type, a number out
 * of range or a string that is too long makes the line unreadable (shown as log text), never a
 * crash further on. Every string is passed through the one sanitizer on the way in.
 */
import * as v from 'valibot';
import { sanitize } from '../format/sanitize';

/** Field types shared by the report pipe and the gc agent's files. */
export const count = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(Number.MAX_SAFE_INTEGER));
export const pid = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(4_194_304)); // PID_MAX_LIMIT
export const seconds = v.pipe(v.number(), v.finite(), v.minValue(0), v.maxValue(1e7));
export const text = (max: number) => v.pipe(v.string(), v.maxLength(max), v.transform(sanitize));
const generation = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(3));

export const GenStats = v.object({ collections: count, collected: count, uncollectable: count });

/** What gc says of a process: the same in a worker's report and in an agent file. */
export const GC_FIELDS = {
  enabled: v.optional(v.boolean(), true),
  counts: v.nullable(v.pipe(v.array(count), v.maxLength(4))),
  threshold: v.optional(v.nullable(v.pipe(v.array(count), v.maxLength(4)))),
  stats: v.nullable(v.pipe(v.array(GenStats), v.maxLength(4))),
  frozen: v.nullable(count),
  /** A forked worker's own collections per generation (stats minus what it inherited). */
  sinceFork: v.optional(v.pipe(v.array(count), v.maxLength(4))),
};

export const Collection = v.object({
  generation: v.nullable(generation),
  duration: v.nullable(seconds),
  collected: v.nullable(count),
  uncollectable: v.nullable(count),
});

const Gc = v.object({
  type: v.literal('gc'),
  pid,
  ...GC_FIELDS,
  /** --tracemalloc: bytes Python itself allocated since the worker started (current, peak). */
  traced: v.optional(v.tuple([count, count])),
  /** PyPy has no generations: collections from gc.hooks, memory from gc.get_stats(). */
  pypy: v.optional(
    v.object({
      minor: count,
      majorSteps: count,
      major: count,
      minorSeconds: v.optional(seconds),
      gcMemory: v.optional(count),
      allocatedMemory: v.optional(count),
    }),
  ),
});

/** The experiment's first line, before its imports: which interpreter this is (checkPython judges it). */
const Hello = v.object({
  type: v.literal('hello'),
  implementation: text(64),
  version: v.pipe(v.array(count), v.maxLength(4)),
  executable: text(4096),
  freeze: v.boolean(),
});
/** With --guard: bytes per object of the heap's first objects; the build waits for {"cmd": "build"}. */
const Measured = v.object({
  type: v.literal('measured'),
  bytesPerObject: v.pipe(v.number(), v.finite(), v.minValue(0), v.maxValue(1 << 20)),
  objects: count,
});

const Ready = v.object({
  type: v.literal('ready'),
  pid,
  implementation: text(64),
  version: text(32),
  size: count,
  freeze: v.boolean(),
  freezeSupported: v.boolean(),
  split: v.optional(v.boolean()),
  workload: text(32),
  workloads: v.pipe(v.array(text(32)), v.maxLength(64)),
  buildSeconds: seconds,
  /** The server-like imports before the objects (their module objects are on the heap too). */
  importSeconds: v.optional(seconds),
  heapBytes: count,
  modules: v.pipe(v.array(text(128)), v.maxLength(256)),
  executable: text(4096),
  /** The gc strategy the workers run: default, disable, freeze, threshold:N[,N1,N2]. */
  gc: v.optional(text(64), 'default'),
  defaultThreshold: v.optional(v.nullable(v.pipe(v.array(count), v.maxLength(4))), null),
  /** Strategies this interpreter cannot run, and why (PyPy: threshold, freeze). */
  unsupported: v.optional(v.record(v.picklist(['threshold', 'freeze']), text(256)), {}),
});

const Fork = v.object({
  type: v.literal('fork'),
  pid,
  parent: pid,
  index: v.pipe(v.number(), v.integer(), v.minValue(-1), v.maxValue(65_535)),
  freeze: v.boolean(),
  workload: text(32),
  generation: count,
  split: v.optional(v.boolean()),
  gc: v.optional(text(64), 'default'),
});
const Exit = v.object({
  type: v.literal('exit'),
  pid,
  requested: v.boolean(),
  code: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(255))),
  signal: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(128))),
  signalName: v.optional(text(32)),
  /** Why it was expected, where cowtop knows: the signal its k sent, a normal exit (code 0). */
  cause: v.optional(text(80)),
});
const CollectionReport = v.object({ type: v.literal('collection'), pid, ...Collection.entries, explicit: v.boolean() });
const Collected = v.object({
  type: v.picklist(['collected', 'acted']),
  pid,
  seconds,
  /** acted: requests served, automatic full collections (count, seconds), request of the first. */
  requests: v.optional(count),
  full: v.optional(count),
  fullSeconds: v.optional(seconds),
  firstFull: v.optional(v.nullable(count)),
});
/** --enabler: a worker called gc.enable() after running with the gc disabled. */
const Enabled = v.object({ type: v.literal('enabled'), pid, after: seconds, served: count });
/** --enabler-ack: the worker is about to call gc.enable() and waits for SIGCONT. */
const Enabling = v.object({ type: v.literal('enabling'), pid, after: seconds, served: count });
const pids = v.pipe(v.array(pid), v.maxLength(4096));
const Refork = v.object({
  type: v.literal('refork'),
  freeze: v.boolean(),
  split: v.optional(v.boolean()),
  gc: v.optional(text(64), 'default'),
  workload: text(32),
  workers: pids,
  generation: count,
  seconds,
});
const Scale = v.object({ type: v.literal('scale'), workers: pids });
const ErrorReport = v.object({ type: v.literal('error'), message: text(2000) });
const Written = v.object({ type: v.literal('written'), pid });
/** The workers the parent signalled for a collect or act command, once it read the command. */
const Asked = v.object({ type: v.literal('asked'), cmd: v.picklist(['collect', 'act']), pids });
/**
 * The kinds' runs, checked in one loop: ~10,000 of them come while the first workers fork, and
 * a schema per triple took ~20 ms of cowtop's main thread then (issue 14, target 5).
 */
function areKindRuns(x: unknown): boolean {
  if (!Array.isArray(x) || x.length > 1000) return false;
  const whole = (n: unknown, min: number, max: number): boolean =>
    Number.isSafeInteger(n) && (n as number) >= min && (n as number) <= max;
  for (const r of x) {
    if (
      !Array.isArray(r) ||
      r.length !== 3 ||
      !whole(r[0], 0, Number.MAX_SAFE_INTEGER) ||
      !whole(r[1], 1, 1 << 24) ||
      !whole(r[2], 0, 7)
    )
      return false;
  }
  return true;
}
/**
 * Which objects live on which pages of the parent's heap (CPython, before the first fork): runs
 * of [first page number, pages, kind index into names], in address order, sent in chunks.
 */
const Kinds = v.object({
  type: v.literal('kinds'),
  pid,
  names: v.pipe(v.array(text(32)), v.maxLength(8)),
  runs: v.custom<Array<[number, number, number]>>(
    areKindRuns,
    'runs of [page, 1..2^24 pages, kind 0..7], at most 1,000',
  ),
  last: v.boolean(),
});
/** The gc report interval in force, after {"cmd": "interval"}. */
const Interval = v.object({ type: v.literal('interval'), ms: count });

const ReportSchema = v.variant('type', [
  Hello,
  Measured,
  Gc,
  Ready,
  Fork,
  Exit,
  CollectionReport,
  Collected,
  Enabled,
  Refork,
  Scale,
  ErrorReport,
  Written,
  Interval,
  Kinds,
  Enabling,
  Asked,
]);

export type GcGenStats = v.InferOutput<typeof GenStats>;
export type GcMessage = v.InferOutput<typeof Gc>;
export type HelloMessage = v.InferOutput<typeof Hello>;
export type MeasuredMessage = v.InferOutput<typeof Measured>;
export type ReadyMessage = v.InferOutput<typeof Ready>;
export type ForkMessage = v.InferOutput<typeof Fork>;
export type ExitMessage = v.InferOutput<typeof Exit>;
export type CollectionMessage = v.InferOutput<typeof CollectionReport>;
export type CollectedMessage = v.InferOutput<typeof Collected>;
/** What a re-fork may change: freeze, the gc strategy, the workload, the count, the split view. */
export type ReforkChange = Omit<Extract<Command, { cmd: 'refork' }>, 'cmd'>;
export type ReforkMessage = v.InferOutput<typeof Refork>;
export type ScaleMessage = v.InferOutput<typeof Scale>;
export type ErrorMessage = v.InferOutput<typeof ErrorReport>;
export type WrittenMessage = v.InferOutput<typeof Written>;
export type EnabledMessage = v.InferOutput<typeof Enabled>;
export type KindsMessage = v.InferOutput<typeof Kinds>;
export type Report = v.InferOutput<typeof ReportSchema>;

export type Command =
  | { cmd: 'collect'; pid?: number }
  | { cmd: 'act'; pid?: number }
  | { cmd: 'refork'; freeze?: boolean; gc?: string; workload?: string; workers?: number; split?: boolean }
  | { cmd: 'scale'; workers: number }
  | { cmd: 'interval'; ms: number }
  | { cmd: 'stop' }
  | { cmd: 'build' }
  | { cmd: 'write' }
  | { cmd: 'quit' };

/** Parses one report line; anything that is not a valid message is null (kept as log text). */
export function parseReport(line: string): Report | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null; // not JSON, or nested deeper than the parser's stack
  }
  const r = v.safeParse(ReportSchema, value);
  return r.success ? r.output : null;
}

/** Splits a byte stream into lines; keeps the unfinished tail for the next chunk. */
/** The longest line of a program's output kept whole (the server's log, the experiment's stderr). */
export const MAX_LOG_LINE = 4096;

/**
 * Splits a stream into lines. A report line may be long (up to maxLine; past it, it is handed on
 * as it is, and fails its parse). With cut, a line longer than maxLine keeps its first maxLine
 * characters and says how many bytes were cut: a server printing 1 MB lines costs cowtop 4 KiB
 * a line, and nothing is held for a line that never ends.
 */
export class LineSplitter {
  private tail = '';
  private cutBytes = 0;
  constructor(
    private readonly maxLine = 1 << 20,
    private readonly cut = false,
  ) {}

  push(chunk: string): string[] {
    if (!this.cut) return this.pushWhole(chunk);
    const out: string[] = [];
    for (let start = 0; ; ) {
      const nl = chunk.indexOf('\n', start);
      const piece = chunk.slice(start, nl < 0 ? chunk.length : nl);
      const room = this.maxLine - this.tail.length;
      if (piece.length <= room && this.cutBytes === 0) this.tail += piece;
      else {
        this.tail += piece.slice(0, Math.max(0, room));
        this.cutBytes += Buffer.byteLength(piece.slice(Math.max(0, room)));
      }
      if (nl < 0) return out;
      const line = this.take();
      if (line) out.push(line);
      start = nl + 1;
    }
  }

  private take(): string {
    const line = this.cutBytes ? `${this.tail}… (${this.cutBytes} bytes cut)` : this.tail;
    this.tail = '';
    this.cutBytes = 0;
    return line;
  }

  private pushWhole(chunk: string): string[] {
    const parts = (this.tail + chunk).split('\n');
    this.tail = parts.pop() ?? '';
    // A line that never ends must not grow without bound.
    if (this.tail.length > this.maxLine) {
      parts.push(this.tail);
      this.tail = '';
    }
    return parts.filter((p) => p.length > 0);
  }

  flush(): string[] {
    const t = this.take();
    return t ? [t] : [];
  }
}

/** How old a process's gc state is (from its last report or agent file), and whether that is too old to show as live. */
export interface GcAge {
  ms: number;
  stale: boolean;
}

/** gc state not renewed in 3 of its intervals is stale: its writer stopped (a full disk, a hung process). */
const STALE_INTERVALS = 3;

export function gcAgeOf(at: number | undefined, everyMs: number, now: number): GcAge | null {
  if (at === undefined) return null;
  const ms = Math.max(0, now - at);
  return { ms, stale: ms > STALE_INTERVALS * everyMs };
}
