/**
 * Owns one run of the experiment (python/cowtop_experiment/): spawns it in its own process group with a report
 * pipe (fd 3) and a command pipe (fd 4), turns report lines into typed messages, and keeps the
 * latest state the sampler needs. Stopping it, gracefully or at once, is here too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { writeFileSync } from 'node:fs';
import { setPriority as osPriority } from 'node:os';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { sanitize } from '../format/sanitize';
import { explainExit } from './exit-reason';
import { EXPERIMENT_ARGS, experimentEnv, type ExperimentOptions } from './options';
import { pythonDir } from './python-files';
import {
  LineSplitter,
  MAX_LOG_LINE,
  parseReport,
  type CollectionMessage,
  type Command,
  type ExitMessage,
  type GcMessage,
  type HelloMessage,
  type MeasuredMessage,
  type ReadyMessage,
  type ReforkChange,
  type ReforkMessage,
  type Report,
  gcAgeOf,
  type GcAge,
} from './protocol';

export interface WorkerInfo {
  pid: number;
  index: number;
  generation: number;
  freeze: boolean;
  workload: string;
}

export interface LogLine {
  stream: 'stdout' | 'stderr' | 'report';
  text: string;
}

export class ExperimentExited extends Error {
  /** The errno of a spawn that failed (ENOENT, EACCES), if that is what happened. */
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

const EXPERIMENT_NICE = 10;

import { pageKinds, type PageKinds } from './page-kinds';

/**
 * Its own session (detached) puts the experiment in its own scheduler autogroup where the kernel
 * has them (sched_autogroup_enabled, the default of most distributions): there a process's nice
 * weighs only against its own group, and the whole group, eight collecting workers, gets as much
 * CPU as cowtop's. So the group is niced too (proc(5), /proc/PID/autogroup), and the process for
 * kernels without autogroups. Either may be refused (a raised nice floor): then it runs as it is.
 */
function nice(pid: number): void {
  try {
    osPriority(pid, EXPERIMENT_NICE);
  } catch {
    // not allowed
  }
  try {
    writeFileSync(`/proc/${pid}/autogroup`, String(EXPERIMENT_NICE));
  } catch {
    // no autogroups here, or not allowed
  }
}

export class Experiment extends EventEmitter {
  readonly child: ChildProcess;
  /** Its first line: which interpreter this is. Rejects if it exits or fails to start first. */
  readonly hello: Promise<HelloMessage>;
  /** With options.guard: the bytes per object of the first objects; the build waits for 'build'. */
  readonly measured: Promise<MeasuredMessage>;
  readonly ready: Promise<ReadyMessage>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  info: ReadyMessage | null = null;
  freeze: boolean;
  gcStrategy: string; // the strategy spec the workers run (strategy.ts)
  split = false;
  workload: string;
  generation = 0;
  readonly workers = new Map<number, WorkerInfo>();
  /** The workers asked for: at the start, then by scale, re-fork and stop (the sampler's end of a fork phase). */
  expectedWorkers: number;
  /** Workers that exited since the last re-fork, kept so that the screen can mark them. */
  readonly exits = new Map<number, ExitMessage>();
  readonly gc = new Map<number, GcMessage>();
  /** When each process's gc report came (epoch ms): an old one is drawn as stale. */
  readonly gcAt = new Map<number, number>();
  readonly lastCollection = new Map<number, CollectionMessage>();
  /** What lives on the parent's heap pages (CPython), once the last chunk arrived: the copy map names it. */
  kinds: PageKinds | null = null;
  private kindRuns: Array<[number, number, number]> = [];
  exitStatus: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private readonly commands: Writable;

  constructor(readonly options: ExperimentOptions) {
    super();
    this.freeze = options.freeze;
    this.expectedWorkers = options.workers;
    this.gcStrategy = options.gc ?? (options.freeze ? 'freeze' : 'default');
    this.workload = options.workload;
    const args = [
      '-u',
      ...EXPERIMENT_ARGS,
      '--size',
      String(options.size),
      '--workers',
      String(options.workers),
      options.freeze ? '--freeze' : '--no-freeze',
      '--workload',
      options.workload,
      '--collect-every',
      String(options.collectEvery),
      '--interval',
      String(options.interval),
      ...(options.tracemalloc ? ['--tracemalloc'] : []),
      ...(options.split ? ['--split'] : []),
      '--gc',
      options.gc ?? (options.freeze ? 'freeze' : 'default'),
      ...(options.enabler ? ['--enabler', String(options.enabler)] : []),
      ...(options.enabler && options.enablerAck ? ['--enabler-ack'] : []),
      ...(options.requests ? ['--requests', String(options.requests)] : []),
      ...(options.guard ? ['--guard'] : []),
      '--report-fd',
      '3',
      '--command-fd',
      '4',
    ];
    // Its own process group: a terminal's Ctrl-C reaches cowtop only, and one kill(-pgid) ends
    // the parent and every worker.
    // It runs from the package's directory: a relative path the user gave is theirs, from theirs.
    const python =
      options.python.includes('/') && !isAbsolute(options.python) ? resolvePath(options.python) : options.python;
    this.child = spawn(python, args, {
      cwd: pythonDir(),
      env: experimentEnv(),
      stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
      detached: true,
    });
    // Niced: when the workers collect on a small machine, the screen they are watched on must
    // still answer keys at once. Workers inherit it across fork; memory behaviour is the same.
    if (this.child.pid !== undefined) nice(this.child.pid);
    this.commands = this.child.stdio[4] as Writable;
    this.commands.on('error', () => {}); // EPIPE once Python is gone: the exit handler reports it
    this.pipeLines(this.child.stdout!, 'stdout');
    this.pipeLines(this.child.stderr!, 'stderr');
    this.pipeLines(this.child.stdio[3] as Readable, 'report');

    this.exited = new Promise((resolve) => {
      const ended = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (this.exitStatus) return;
        this.exitStatus = { code, signal };
        this.emit('exit', this.exitStatus);
        resolve(this.exitStatus);
      };
      this.child.on('exit', ended);
      // Never started (ENOENT, EACCES): there will be no 'exit', and nothing to stop.
      this.child.on('error', () => {
        if (this.child.pid === undefined) ended(null, null);
      });
    });
    const until = <T>(type: string, before: string): Promise<T> => {
      const p = new Promise<T>((resolve, reject) => {
        this.once(type, resolve);
        this.child.once('error', (err) =>
          reject(
            new ExperimentExited(`cannot start ${options.python}: ${err.message}`, (err as NodeJS.ErrnoException).code),
          ),
        );
        void this.exited.then((s) =>
          reject(new ExperimentExited(`the experiment exited before ${before} (${s.signal ?? `code ${s.code}`})`)),
        );
      });
      p.catch(() => {}); // the caller awaits it; an unobserved rejection must not crash
      return p;
    };
    this.hello = until<HelloMessage>('hello', 'it said which Python it is');
    this.measured = until<MeasuredMessage>('measured', 'it measured its objects');
    this.ready = until<ReadyMessage>('ready', 'it was ready');
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get alive(): boolean {
    return this.exitStatus === null;
  }

  /** How old this process's gc report is; stale past 3 report intervals. */
  gcAge(pid: number, now: number): GcAge | null {
    return gcAgeOf(this.gcAt.get(pid), this.options.interval, now);
  }

  send(cmd: Command): void {
    if (cmd.cmd === 'scale') this.expectedWorkers = cmd.workers;
    if (cmd.cmd === 'stop') this.expectedWorkers = 0;
    if (cmd.cmd === 'refork' && cmd.workers !== undefined) this.expectedWorkers = cmd.workers;
    if (cmd.cmd === 'interval') this.options.interval = cmd.ms;
    if (this.alive && this.commands.writable) this.commands.write(`${JSON.stringify(cmd)}\n`);
  }

  /** Resolves with the first report that matches, or rejects after timeoutMs or on exit. */
  waitFor<T extends Report>(match: (r: Report) => r is T, timeoutMs: number): Promise<T>;
  waitFor(match: (r: Report) => boolean, timeoutMs: number): Promise<Report>;
  waitFor(match: (r: Report) => boolean, timeoutMs: number): Promise<Report> {
    return new Promise((resolve, reject) => {
      const onReport = (r: Report): void => {
        if (match(r)) done(() => resolve(r));
      };
      const onExit = (): void => done(() => reject(new ExperimentExited('the experiment exited')));
      const timer = setTimeout(() => done(() => reject(new Error(`timed out after ${timeoutMs} ms`))), timeoutMs);
      const done = (f: () => void): void => {
        clearTimeout(timer);
        this.off('report', onReport);
        this.off('exit', onExit);
        f();
      };
      this.on('report', onReport);
      this.on('exit', onExit);
    });
  }

  /**
   * Re-forks the workers from the same parent (with or without gc.freeze(), another gc strategy,
   * workload or count); resolves with the parent's report once they are forked.
   */
  refork(change: ReforkChange = {}, timeoutMs = 60_000): Promise<ReforkMessage> {
    const done = this.waitFor((r: Report): r is ReforkMessage => r.type === 'refork', timeoutMs);
    this.send({ cmd: 'refork', ...change });
    return done;
  }

  /** Asks for n workers (1 to MAX_WORKERS); resolves once the parent reports the new set. */
  scale(workers: number, timeoutMs = 60_000): Promise<Report> {
    const done = this.waitFor((r: Report) => r.type === 'scale', timeoutMs);
    this.send({ cmd: 'scale', workers });
    return done;
  }

  /** gc.collect() in every worker (or one): resolves with whom the parent signalled. */
  collect(pid?: number, timeoutMs = 10_000): Promise<Report> {
    const done = this.waitFor((r: Report) => r.type === 'asked' && r.cmd === 'collect', timeoutMs);
    this.send(pid === undefined ? { cmd: 'collect' } : { cmd: 'collect', pid });
    return done;
  }

  /** One pass of the workers' workload (act()) in every worker: resolves with whom the parent signalled. */
  act(timeoutMs = 10_000): Promise<Report> {
    const done = this.waitFor((r: Report) => r.type === 'asked' && r.cmd === 'act', timeoutMs);
    this.send({ cmd: 'act' });
    return done;
  }

  /** Asks Python to quit and stop its workers; kills the whole group if it does not in time. */
  async stop(graceMs = 3000): Promise<void> {
    if (!this.alive) return this.killNow();
    this.send({ cmd: 'quit' });
    const timer = setTimeout(() => this.killNow(), graceMs);
    await this.exited;
    clearTimeout(timer);
    this.killNow(); // a worker that outlived its parent would still be in the group
  }

  /** Synchronous, for process 'exit' handlers: SIGKILL to the whole process group. */
  killNow(): void {
    if (this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      // ESRCH: the group is already empty.
    }
  }

  private pipeLines(stream: Readable, kind: LogLine['stream']): void {
    const split = kind === 'report' ? new LineSplitter() : new LineSplitter(MAX_LOG_LINE, true);
    stream.setEncoding('utf8');
    const onLine = (line: string): void => {
      if (kind === 'report') this.onReportLine(line);
      else this.emit('log', { stream: kind, text: sanitize(line) });
    };
    stream.on('data', (chunk: string) => split.push(chunk).forEach(onLine));
    stream.on('end', () => split.flush().forEach(onLine));
    stream.on('error', () => {});
  }

  private onReportLine(line: string): void {
    let r = parseReport(line);
    const resync = line.lastIndexOf('{"type"');
    if (!r && resync > 0) {
      // A half line glued to a whole one: keep the whole one, report the rest.
      r = parseReport(line.slice(resync));
      this.emit('log', {
        stream: 'report',
        text: `unreadable report line: ${sanitize(line.slice(0, Math.min(resync, 200)))}`,
      });
      if (!r) return;
    } else if (!r) {
      // Garbage or a half line on the report pipe is shown, never trusted.
      this.emit('log', { stream: 'report', text: `unreadable report line: ${sanitize(line.slice(0, 200))}` });
      return;
    }
    if (r.type === 'exit') r = this.explainExit(r);
    this.apply(r);
    this.emit('report', r);
    if (r.type === 'ready' || r.type === 'hello' || r.type === 'measured') this.emit(r.type, r);
  }

  /** Exits cowtop was told to expect (a signal its k sent), by pid: their cause. */
  private readonly expected = new Map<number, string>();

  /** cowtop sent pid a signal: its exit is no surprise, and says why. */
  expectExit(pid: number, cause: string): void {
    this.expected.set(pid, cause);
  }

  private explainExit(r: ExitMessage): ExitMessage {
    return explainExit(r, this.expected);
  }

  private apply(r: Report): void {
    switch (r.type) {
      case 'kinds':
        this.kindRuns.push(...(r.runs as Array<[number, number, number]>));
        if (r.last) {
          this.kinds = pageKinds(r.names, this.kindRuns);
          this.kindRuns = [];
        }
        break;
      case 'ready':
        this.info = r;
        this.freeze = r.freeze;
        this.gcStrategy = r.gc;
        this.split = r.split ?? false;
        this.workload = r.workload;
        break;
      case 'fork':
        if (r.generation !== this.generation) {
          this.exits.clear();
          this.generation = r.generation;
        }
        this.workers.set(r.pid, {
          pid: r.pid,
          index: r.index,
          generation: r.generation,
          freeze: r.freeze,
          workload: r.workload,
        });
        if (!r.split) this.freeze = r.freeze;
        this.workload = r.workload;
        break;
      case 'exit':
        this.workers.delete(r.pid);
        this.exits.set(r.pid, r);
        this.gc.delete(r.pid);
        this.gcAt.delete(r.pid);
        break;
      case 'gc':
        // Kept even before the parent's fork message: a new worker's first report can overtake
        // it on the pipe (the parent descheduled right after fork). A worker's reports all come
        // before its exit, which deletes them.
        if (!this.exits.has(r.pid)) {
          this.gc.set(r.pid, r);
          this.gcAt.set(r.pid, Date.now());
        }
        break;
      case 'collection':
        this.lastCollection.set(r.pid, r);
        break;
      case 'refork':
        this.freeze = r.freeze;
        this.gcStrategy = r.gc;
        this.split = r.split ?? false;
        this.workload = r.workload;
        for (const pid of this.exits.keys()) if (!r.workers.includes(pid)) this.lastCollection.delete(pid);
        break;
      default:
        break;
    }
  }
}
