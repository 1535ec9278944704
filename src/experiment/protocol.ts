/** Messages of python/cowtop_experiment.py, one JSON object per line on the report pipe. */

export interface GcGenStats {
  collections: number;
  collected: number;
  uncollectable: number;
}

export interface GcMessage {
  type: 'gc';
  pid: number;
  enabled: boolean;
  counts: number[] | null;
  threshold?: number[];
  stats: GcGenStats[] | null;
  frozen: number | null;
  /** --tracemalloc: bytes Python itself allocated since the worker started (current, peak). */
  traced?: [number, number];
  /** PyPy has no generations: collections from gc.hooks, memory from gc.get_stats(). */
  pypy?: { minor: number; majorSteps: number; major: number; minorSeconds?: number; gcMemory?: number; allocatedMemory?: number };
}

export interface ReadyMessage {
  type: 'ready';
  pid: number;
  implementation: string;
  version: string;
  size: number;
  freeze: boolean;
  freezeSupported: boolean;
  split?: boolean;
  workload: string;
  workloads: string[];
  buildSeconds: number;
  heapBytes: number;
  modules: string[];
  executable: string;
}

export interface ForkMessage { type: 'fork'; pid: number; parent: number; index: number; freeze: boolean; workload: string; generation: number; split?: boolean }
export interface ExitMessage { type: 'exit'; pid: number; requested: boolean; code?: number; signal?: number; signalName?: string }
export interface CollectionMessage {
  type: 'collection';
  pid: number;
  generation: number | null;
  duration: number | null; // seconds
  collected: number | null;
  uncollectable: number | null;
  explicit: boolean;
}
export interface CollectedMessage { type: 'collected' | 'acted'; pid: number; seconds: number }
export interface ReforkMessage { type: 'refork'; freeze: boolean; split?: boolean; workload: string; workers: number[]; generation: number; seconds: number }
export interface ScaleMessage { type: 'scale'; workers: number[] }
export interface ErrorMessage { type: 'error'; message: string }
export interface WrittenMessage { type: 'written'; pid: number }

export type Report =
  | GcMessage
  | ReadyMessage
  | ForkMessage
  | ExitMessage
  | CollectionMessage
  | CollectedMessage
  | ReforkMessage
  | ScaleMessage
  | ErrorMessage
  | WrittenMessage;

export type Command =
  | { cmd: 'collect'; pid?: number }
  | { cmd: 'act'; pid?: number }
  | { cmd: 'refork'; freeze: boolean; workload?: string; workers?: number; split?: boolean }
  | { cmd: 'scale'; workers: number }
  | { cmd: 'stop' }
  | { cmd: 'write' }
  | { cmd: 'quit' };

const TYPES = new Set(['gc', 'ready', 'fork', 'exit', 'collection', 'collected', 'acted', 'refork', 'scale', 'error', 'written']);

/** Parses one report line; anything that is not a known message is null (kept as log text). */
export function parseReport(line: string): Report | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const v = value as { type?: unknown; pid?: unknown };
  if (typeof v.type !== 'string' || !TYPES.has(v.type)) return null;
  if ('pid' in v && typeof v.pid !== 'number') return null;
  return value as Report;
}

/** Splits a byte stream into lines; keeps the unfinished tail for the next chunk. */
export class LineSplitter {
  private tail = '';
  constructor(private readonly maxLine = 1 << 20) {}

  push(chunk: string): string[] {
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
    const t = this.tail;
    this.tail = '';
    return t ? [t] : [];
  }
}
