/**
 * `cowtop run -- COMMAND`: starts the command with the gc agent injected (and, with --freeze,
 * Instagram's recipe), then watches it as `attach` does; a way out stops it as a supervisor would.
 */
import { sanitize } from '../format/sanitize';
import { lifecycle, UsageError } from '../lifecycle';
import { AttachSession } from './attach-session';
import { ServerProcess, type ServerOptions } from './server-process';

export interface RunOptions extends ServerOptions {
  interval: number;
  procRoot: string;
  name: string | null; // --name: the server's label in Prometheus and the records
}

export class RunSession extends AttachSession {
  server: ServerProcess | null = null;

  constructor(readonly run: RunOptions, private readonly env: NodeJS.ProcessEnv = process.env) {
    super({ pid: 0, interval: run.interval, procRoot: run.procRoot });
  }

  override async start(): Promise<void> {
    if (!(await this.reader.available())) throw new UsageError(`cannot read ${this.options.procRoot}: run needs Linux /proc`);
    const server = await ServerProcess.start(this.run, this.env);
    this.server = server;
    if (this.run.keep) {
      // Said after the terminal is given back, on every way out.
      process.on('exit', () => {
        if (server.alive) process.stderr.write(`cowtop: left running: pid ${server.pid} (process group ${server.pid}); cowtop attach ${server.pid} watches it, kill -TERM -${server.pid} stops it\n`);
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
    this.tree!.recipe = this.run.freeze;
    // The command as the user gave it (its first process may be a launcher, a pyenv shim).
    this.attached = { ...this.attached!, command: sanitize(this.run.command.join(' ')), run: { freeze: this.run.freeze, keep: this.run.keep } };
    const mode = this.run.freeze ? 'with the freeze recipe (gc off in the master, gc.freeze() before each fork, gc on in each worker)' : 'as it is (gc untouched)';
    this.emit('log', { stream: 'stdout', text: `started pid ${server.pid} ${mode}${this.run.keep ? '; --keep: its output is not captured, and it stays when cowtop ends' : ''}` });
  }

  protected override async rootGone(): Promise<string> {
    const s = await this.server!.exited;
    const how = s.signal ? `killed by ${s.signal}` : `exited with code ${s.code}`;
    return `${sanitize(this.run.command.join(' ')).slice(0, 60)} (pid ${this.server!.pid}) ${how}`;
  }

  /** A server that stops by itself with a failure fails the run. */
  override get diedExitCode(): number {
    const s = this.server?.status;
    return s && s.code === 0 ? 0 : 1;
  }
}
