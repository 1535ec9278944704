/**
 * The command `cowtop run` starts: in its own process group, with the gc agent injected through
 * PYTHONPATH (the autoload sitecustomize, which chains to any other), stopped as a supervisor
 * stops a program (TERM to it, KILL to its process group after a grace period). Its output lines are sanitized
 * here, where they come in.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants as osConstants } from 'node:os';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pythonDir } from '../experiment/python-files';
import { LineSplitter, MAX_LOG_LINE } from '../experiment/protocol';
import { sanitize } from '../format/sanitize';
import { UsageError } from '../util/usage-error';
import { RUN_TAG, taggedPids } from '../proc/tagged';

export interface ServerOptions {
  command: string[];
  /** cowtop is PID 1 (a container without init): the server runs under cowtop_init.py, which reaps. */
  init?: boolean;
  freeze: boolean; // Instagram's recipe, applied by the agent in the first process
  keep: boolean; // leave it running when cowtop ends
  graceMs: number; // between TERM and KILL when cowtop stops it
}

export type ExitStatus = { code: number | null; signal: NodeJS.Signals | null };

/** The environment the command runs in: the agent on the path, the recipe and the watch pipe asked for. */
export function serverEnv(
  base: NodeJS.ProcessEnv,
  o: Pick<ServerOptions, 'freeze' | 'keep' | 'graceMs'>,
  tag: string,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  // Every process the server starts inherits it: found again wherever it went (setsid, --daemon).
  env[RUN_TAG] = tag;
  // Which process claimed the recipe and the watch: the agent sets it in the first Python process.
  delete env.COWTOP_RUN_PID;
  const agent = pythonDir();
  env.PYTHONPATH = [join(agent, 'autoload'), agent, ...(base.PYTHONPATH ? [base.PYTHONPATH] : [])].join(':');
  env.COWTOP_AGENT = '1';
  if (o.freeze) env.COWTOP_FREEZE = '1';
  else delete env.COWTOP_FREEZE;
  delete env.COWTOP_RUN_WATCH_FD;
  if (!o.keep) {
    // The first Python process watches fd 3: when cowtop is gone, even by SIGKILL, it stops the group.
    env.COWTOP_RUN_WATCH_FD = '3';
    env.COWTOP_RUN_GRACE = String(o.graceMs / 1000);
  }
  // uWSGI reads options from UWSGI_* variables: threads for the agent's writer; Python's fork
  // hooks around each of its forks (the agent follows fork through them); and TERM meaning stop
  // (a supervisor's signal; uWSGI 2.0 would reload). What the user set stays, and an option this
  // uWSGI does not know is ignored.
  // The fork hooks: uWSGI forks in C. With only py-call-osafterfork, a worker forked while
  // another thread of the master (the agent's writer) held the GIL waited for it forever
  // (unbit/uwsgi#1149, #2387), and so did every later respawn of that worker.
  // py-call-uwsgi-fork-hooks (2.0.21+) takes the GIL before the fork and then skips the other.
  for (const [k, v] of [
    ['UWSGI_ENABLE_THREADS', '1'],
    ['UWSGI_PY_CALL_UWSGI_FORK_HOOKS', '1'],
    ['UWSGI_PY_CALL_OSAFTERFORK', '1'], // uWSGI before 2.0.21: the child's hooks at least
    ['UWSGI_DIE_ON_TERM', '1'],
  ])
    env[k] ??= v;
  return env;
}

/** How the agent starts the line it prints when it will not run the server as asked (cowtop_run.run_hooks). */
const REFUSAL = 'cowtop: run --freeze: ';

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // gone
  }
}

/** cowtop_init.py's lines on fd 4. */
type InitReport = { pid: number } | { error: string } | { status: ExitStatus } | { nosubreaper: true };

export function parseInitReport(line: string): InitReport | null {
  let m = /^pid (\d+)$/.exec(line);
  if (m) return { pid: Number(m[1]) };
  if ((m = /^error (\d+)$/.exec(line))) return { error: m[1] };
  if ((m = /^exit (\d+)$/.exec(line))) return { status: { code: Number(m[1]), signal: null } };
  if ((m = /^signal (\d+)$/.exec(line))) {
    const name = Object.entries(osConstants.signals).find(([, n]) => n === Number(m![1]))?.[0];
    return { status: { code: null, signal: (name ?? 'SIGKILL') as NodeJS.Signals } };
  }
  return line === 'nosubreaper' ? { nosubreaper: true } : null;
}

const ERRNO: Record<string, string> = { '2': 'not found', '13': 'permission denied', '8': 'not an executable' };

export class ServerProcess extends EventEmitter {
  /** The first process cowtop started: the server, or cowtop_init.py in front of it. */
  readonly child: ChildProcess;
  readonly exited: Promise<ExitStatus>;
  /** As PID 1: the server, cowtop_init.py's child; otherwise the child itself. */
  private serverPid: number | null = null;
  /** Settled by cowtop_init.py's first line: the server runs, or why it could not. */
  private readonly started: Promise<void>;
  status: ExitStatus | null = null;
  /** What carried the tag when the first process exited: a daemon it left, workers it orphaned. */
  leftAtExit: number[] = [];
  /** As PID 1 without python3 for cowtop_init.py: nobody reaps the server's orphans. */
  noReaper = false;
  /** The agent's refusal to run the server as asked (run --freeze where there is no gc.freeze()). */
  refusal: string | null = null;

  private constructor(
    readonly options: ServerOptions,
    env: NodeJS.ProcessEnv,
    private readonly tag: string,
  ) {
    super();
    const [file, ...args] = options.command;
    const out = options.keep ? 'ignore' : 'pipe';
    const init = options.init === true;
    // -I -S: the helper itself loads no site and no agent; the server gets the environment as is.
    const [exe, argv] = init
      ? [env.COWTOP_PYTHON || 'python3', ['-I', '-S', join(pythonDir(), 'cowtop_init.py'), file, ...args]]
      : [file, args];
    this.child = spawn(exe, argv, {
      env,
      detached: true,
      stdio: ['ignore', out, out, options.keep ? 'ignore' : 'pipe', ...(init ? ['pipe' as const] : [])],
    });
    let settle: (status: ExitStatus) => void = () => {};
    this.exited = new Promise((resolve) => {
      settle = (status) => {
        if (this.status) return;
        // A daemon's first child may die while /proc is scanned, after the listing that missed
        // its own child: a scan that found nothing is made once more.
        const left = this.tagged();
        this.leftAtExit = left.length ? left : this.tagged();
        this.status = status;
        resolve(status);
      };
      this.child.once('exit', (code, signal) => settle({ code, signal }));
    });
    this.started = init ? this.readInit(this.child.stdio[4] as Readable, settle) : Promise.resolve();
    if (this.child.stdout) this.pipeLines(this.child.stdout, 'stdout');
    if (this.child.stderr) this.pipeLines(this.child.stderr, 'stderr');
  }

  /** cowtop_init.py's report: the server's pid first (or why it did not run), its end later. */
  private readInit(stream: Readable, settle: (s: ExitStatus) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      const split = new LineSplitter(200, true);
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        for (const line of split.push(chunk)) {
          const r = parseInitReport(line);
          if (!r) continue;
          if ('pid' in r) {
            this.serverPid = r.pid;
            resolve();
          } else if ('error' in r) {
            const why = ERRNO[r.error] ?? `errno ${r.error}`;
            reject(new UsageError(`cannot run ${sanitize(this.options.command[0])}: ${why}`));
          } else if ('status' in r) settle(r.status);
          else
            this.emit('log', {
              stream: 'stderr',
              text: 'cowtop: PID 1 without a child subreaper (prctl failed): orphans of the server may stay zombies',
            });
        }
      });
      stream.on('error', () => {});
      this.child.once('exit', () => reject(new Error('cowtop_init.py ended before the server started')));
    });
  }

  /** Starts COMMAND; a command that cannot be run is the user's to fix: one line, exit 2. */
  static async start(options: ServerOptions, base: NodeJS.ProcessEnv = process.env): Promise<ServerProcess> {
    const tag = randomBytes(12).toString('hex');
    const s = new ServerProcess(options, serverEnv(base, options, tag), tag);
    const helperMissing = await new Promise<boolean>((resolve, reject) => {
      s.child.once('spawn', () => resolve(false));
      s.child.once('error', (err: NodeJS.ErrnoException) => {
        if (options.init && err.code === 'ENOENT') return resolve(true);
        const why =
          err.code === 'ENOENT' ? 'not found' : err.code === 'EACCES' ? 'permission denied' : (err.code ?? err.message);
        const what = options.init ? `${base.COWTOP_PYTHON || 'python3'} (PID 1's helper)` : options.command[0];
        reject(new UsageError(`cannot run ${sanitize(what)}: ${why}`));
      });
    });
    if (helperMissing) {
      // No python3 for the helper: the server runs all the same, without a reaper.
      const plain = await ServerProcess.start({ ...options, init: false }, base);
      plain.noReaper = true;
      return plain;
    }
    await s.started;
    return s;
  }

  /** cowtop is PID 1: signals pass on as they came, and its status is the server's. */
  private get asInit(): boolean {
    return this.options.init === true || this.noReaper;
  }

  /** The way out as a container's init: the server's own status (a signal as 128 + its number). */
  get initStatus(): number | null {
    if (!this.asInit || !this.status) return null;
    const { code, signal } = this.status;
    return signal ? 128 + (osConstants.signals[signal] ?? 9) : (code ?? 1);
  }

  /** A way out of cowtop gives the server the grace period the user chose. */
  get exitGraceMs(): number {
    return this.options.graceMs;
  }

  get pid(): number {
    return this.serverPid ?? this.child.pid!;
  }

  get alive(): boolean {
    return this.status === null;
  }

  /** Live processes the server started, wherever they went (the first one excepted). */
  tagged(): number[] {
    return taggedPids('/proc', this.tag, new Set([this.pid, this.child.pid!]));
  }

  /**
   * TERM to the server's first process, which stops its workers in its own order (gunicorn,
   * uWSGI, Celery and Pool all do); KILL to whatever is left in the group once it is gone, or
   * to the whole group after the grace period. Then what left the group (setsid, a daemon):
   * TERM, and KILL after the grace period.
   */
  async stop(graceMs = this.options.graceMs, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.alive) {
      try {
        // As a container's init the signal it got is passed on (SIGINT: gunicorn's quick stop).
        process.kill(this.pid, this.asInit ? signal : 'SIGTERM');
      } catch {
        // already gone
      }
      const timer = setTimeout(() => this.killNow(), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    this.signalGroup('SIGKILL'); // a worker that outlived its master is still in the group
    let left = this.tagged();
    if (!left.length) return;
    for (const pid of left) signalPid(pid, 'SIGTERM');
    const end = Date.now() + graceMs;
    while (left.length && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 50));
      left = this.tagged();
    }
    for (const pid of left) signalPid(pid, 'SIGKILL');
  }

  /** The first process exited by itself: its group goes at once (orphaned workers), a daemon it left gets TERM first. */
  afterExit(): void {
    this.signalGroup('SIGKILL');
    const left = this.tagged();
    for (const pid of left) signalPid(pid, 'SIGTERM');
    if (left.length) setTimeout(() => this.killNow(), this.options.graceMs).unref();
  }

  killNow(): void {
    this.signalGroup('SIGKILL');
    for (const pid of this.tagged()) signalPid(pid, 'SIGKILL');
  }

  private signalGroup(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, signal);
    } catch {
      // ESRCH: the group is already empty
    }
  }

  private pipeLines(stream: Readable, kind: 'stdout' | 'stderr'): void {
    const split = new LineSplitter(MAX_LOG_LINE, true);
    stream.setEncoding('utf8');
    const onLine = (line: string): void => {
      const text = sanitize(line);
      if (kind === 'stderr' && this.refusal === null && text.startsWith(REFUSAL))
        this.refusal = text.slice('cowtop: '.length);
      this.emit('log', { stream: kind, text });
    };
    stream.on('data', (chunk: string) => split.push(chunk).forEach(onLine));
    stream.on('end', () => split.flush().forEach(onLine));
    stream.on('error', () => {});
  }
}
