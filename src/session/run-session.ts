/**
 * `cowtop run -- COMMAND`: starts the command with the gc agent injected (and, with --freeze,
 * Instagram's recipe), then watches it as `attach` does; a way out stops it as a supervisor would.
 */
import { sanitize } from '../format/sanitize';
import { lifecycle } from '../lifecycle';
import { UsageError } from '../util/usage-error';
import { processGroup } from '../proc/tagged';
import { AttachSession } from './attach-session';
import { ServerProcess, type ServerOptions } from './server-process';

export interface RunOptions extends ServerOptions {
  interval: number;
  procRoot: string;
  name: string | null; // --name: the server's label in Prometheus and the records
}

/** run --compare: the same load sent to the server without and then with the freeze recipe. */
export interface LoadOptions {
  url: string | null; // --load URL: requests over loopback, from a bounded loop built in
  requests: number;
  concurrency: number | null; // null: one connection per worker
  command: string[] | null; // --load-cmd: any load generator, run once per pass
}

const pidList = (pids: number[]): string =>
  pids.length > 12
    ? `pids ${pids.slice(0, 12).join(', ')} and ${pids.length - 12} more`
    : `pid${pids.length === 1 ? '' : 's'} ${pids.join(', ')}`;

export class RunSession extends AttachSession {
  server: ServerProcess | null = null;

  constructor(
    readonly run: RunOptions,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    super({ pid: 0, interval: run.interval, procRoot: run.procRoot });
  }

  override async start(): Promise<void> {
    if (!(await this.reader.available()))
      throw new UsageError(`cannot read ${this.options.procRoot}: run needs Linux /proc`);
    // A container's first process without an init: the orphans the server leaves must be reaped.
    const init = this.run.init ?? (process.pid === 1 && !this.run.keep);
    const server = await ServerProcess.start({ ...this.run, init }, this.env);
    this.server = server;
    this.agentEnv = this.env;
    if (this.run.keep) {
      // Said after the terminal is given back, on every way out: every process it leaves, also
      // those that left its process group (a daemon).
      process.on('exit', () => {
        const others = server.tagged();
        if (server.alive)
          process.stderr.write(
            `cowtop: left running: pid ${server.pid} (process group ${server.pid}); cowtop attach ${server.pid} watches it, kill -TERM -${server.pid} stops it\n`,
          );
        const outside = others.filter((pid) => processGroup('/proc', pid) !== server.pid);
        if (outside.length)
          process.stderr.write(
            `cowtop: left running outside its process group: ${pidList(outside)}; kill -TERM ${outside.join(' ')} stops them\n`,
          );
      });
    } else {
      lifecycle.track(server);
    }
    server.on('log', (line) => this.emit('log', line));
    this.options.pid = server.pid;
    try {
      await super.start();
    } catch (err) {
      // Gone before its first sample (a command that exits at once): say how it ended.
      if (!server.alive || !(await this.reader.stat(server.pid)).ok) throw new Error(await this.rootGone());
      throw err;
    }
    // The command as the user gave it (its first process may be a launcher, a pyenv shim).
    this.attached = {
      ...this.attached!,
      command: sanitize(this.run.command.join(' ')),
      run: { freeze: this.run.freeze, keep: this.run.keep },
    };
    // Asked for, not yet seen: the header and the records say frozen once the workers report it.
    const mode = this.run.freeze
      ? 'asking for the freeze recipe (gc off in the master, gc.freeze() before each fork, gc on in each worker)'
      : 'as it is (gc untouched)';
    this.emit('log', {
      stream: 'stdout',
      text: `started pid ${server.pid} ${mode}${this.run.keep ? '; --keep: its output is not captured, and it stays when cowtop ends' : ''}`,
    });
    if (server.noReaper)
      this.emit(
        'notice',
        `cowtop is PID 1 and found no ${this.env.COWTOP_PYTHON || 'python3'} for its reaper (cowtop_init.py): orphans of the server will stay zombies; set COWTOP_PYTHON or run under an init (docker run --init)`,
      );
    else if (init)
      this.emit('log', {
        stream: 'stdout',
        text: `cowtop is PID 1: pid ${server.child.pid} (cowtop_init.py, a child subreaper) reaps what the server orphans; cowtop ends with the server's status`,
      });
  }

  protected override async rootGone(): Promise<string> {
    const server = this.server!;
    const s = await server.exited;
    const how = s.signal ? `killed by ${s.signal}` : `exited with code ${s.code}`;
    // The agent refused (--freeze without gc.freeze()): its line is the reason, and the exit is 2.
    if (server.refusal && s.code === 2) return server.refusal;
    const head = `${sanitize(this.run.command.join(' ')).slice(0, 60)} (pid ${server.pid}) ${how}`;
    // A daemon: the first process forks the server into the background and exits (gunicorn
    // --daemon, uWSGI --daemonize). What it left carries the run's tag.
    const left = server.leftAtExit;
    if (!left.length) return head;
    const fate = this.run.keep ? 'left running (--keep)' : 'stopped';
    const n = `${left.length} process${left.length === 1 ? '' : 'es'} running (${pidList(left)})`;
    // Exit 0 with processes left: it went to the background (its child may not have left the
    // group yet when the first process exits). Anything else: workers its crash orphaned.
    if (s.code !== 0) return `${head}, leaving ${n}; ${fate}`;
    return `${head}, leaving ${n}: it went to the background, as a daemon does (--daemon?); ${fate}. cowtop run watches a server that stays in the foreground`;
  }

  /** A server that stops by itself with a failure fails the run. */
  override get diedExitCode(): number {
    const s = this.server?.status;
    const init = this.server?.initStatus;
    if (init != null) return init; // a container's init ends as its server did
    if (s && s.code === 2 && this.server?.refusal) return 2;
    return s && s.code === 0 ? 0 : 1;
  }
}
