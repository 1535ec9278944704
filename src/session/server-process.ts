/**
 * The command `cowtop run` starts: in its own process group, with the gc agent injected through
 * PYTHONPATH (the autoload sitecustomize, which chains to any other), stopped as a supervisor
 * stops a program (TERM to it, KILL to its process group after a grace period). Its output lines are sanitized
 * here, where they come in.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
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

export class ServerProcess extends EventEmitter {
  readonly child: ChildProcess;
  readonly exited: Promise<ExitStatus>;
  status: ExitStatus | null = null;
  /** What carried the tag when the first process exited: a daemon it left, workers it orphaned. */
  leftAtExit: number[] = [];
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
    this.child = spawn(file, args, {
      env,
      detached: true,
      stdio: ['ignore', out, out, options.keep ? 'ignore' : 'pipe'],
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.leftAtExit = this.tagged();
        this.status = { code, signal };
        resolve(this.status);
      });
    });
    if (this.child.stdout) this.pipeLines(this.child.stdout, 'stdout');
    if (this.child.stderr) this.pipeLines(this.child.stderr, 'stderr');
  }

  /** Starts COMMAND; a command that cannot be run is the user's to fix: one line, exit 2. */
  static async start(options: ServerOptions, base: NodeJS.ProcessEnv = process.env): Promise<ServerProcess> {
    const tag = randomBytes(12).toString('hex');
    const s = new ServerProcess(options, serverEnv(base, options, tag), tag);
    await new Promise<void>((resolve, reject) => {
      s.child.once('spawn', resolve);
      s.child.once('error', (err: NodeJS.ErrnoException) => {
        const why =
          err.code === 'ENOENT' ? 'not found' : err.code === 'EACCES' ? 'permission denied' : (err.code ?? err.message);
        reject(new UsageError(`cannot run ${sanitize(options.command[0])}: ${why}`));
      });
    });
    return s;
  }

  /** A way out of cowtop gives the server the grace period the user chose. */
  get exitGraceMs(): number {
    return this.options.graceMs;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get alive(): boolean {
    return this.status === null;
  }

  /** Live processes the server started, wherever they went (the first one excepted). */
  tagged(): number[] {
    return taggedPids('/proc', this.tag, new Set([this.pid]));
  }

  /**
   * TERM to the server's first process, which stops its workers in its own order (gunicorn,
   * uWSGI, Celery and Pool all do); KILL to whatever is left in the group once it is gone, or
   * to the whole group after the grace period. Then what left the group (setsid, a daemon):
   * TERM, and KILL after the grace period.
   */
  async stop(graceMs = this.options.graceMs): Promise<void> {
    if (this.alive) {
      try {
        process.kill(this.pid, 'SIGTERM');
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
