/**
 * The one owner of start and every way out. Whatever ends cowtop (q, Ctrl-C, SIGTERM, SIGHUP,
 * an uncaught error, the end of a batch run), the experiments and servers it started are stopped and the
 * terminal is restored here, and nowhere else.
 */
import { sanitize } from './format/sanitize';

/** What cowtop started and must stop: the experiment, or the server `cowtop run` started. */
export interface Owned {
  readonly exited: Promise<unknown>;
  /** signal: the one cowtop got, for what passes it on (a server under cowtop as PID 1). */
  stop(graceMs?: number, signal?: NodeJS.Signals): Promise<void>;
  killNow(): void;
  /** When its first process exits by itself: what it left behind is stopped (default: killNow). */
  afterExit?(): void;
  /** How long a way out waits for it to stop before killing it (an experiment: 2 s). */
  readonly exitGraceMs?: number;
  /** As a container's init, cowtop ends with this status of what it ran (null: not init). */
  readonly initStatus?: number | null;
}

type Restore = () => void;

class Lifecycle {
  private readonly owned = new Set<Owned>();
  private readonly restores: Restore[] = [];
  private installed = false;
  private ending = false;
  private failure: string | null = null;

  install(): void {
    if (this.installed) return;
    this.installed = true;
    process.on('SIGINT', () => this.onSignal(130, 'SIGINT'));
    process.on('SIGTERM', () => this.onSignal(143, 'SIGTERM'));
    process.on('SIGHUP', () => this.onSignal(129, 'SIGHUP'));
    process.on('uncaughtException', (err) => this.crash(err));
    // The reader of stdout went away (| head): stop quietly. Anything else (a full disk) fails.
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE' || err.code === 'EIO') return void this.exit(0);
      // May come after a way out began (the last write of compare): it still decides the code.
      this.failure = `cowtop: cannot write stdout: ${err.code ?? err.message}`;
      void this.exit(1, this.failure);
    });
    process.on('unhandledRejection', (err) => this.crash(err));
    // For the tests of the crash path: an uncaught error at a chosen moment.
    const crashAfter = Number(process.env.COWTOP_CRASH_AFTER_MS);
    if (crashAfter > 0) {
      setTimeout(() => {
        throw new Error('crash requested by COWTOP_CRASH_AFTER_MS');
      }, crashAfter);
    }
    // Last resort, synchronous: whatever path reaches process.exit, no experiment survives it.
    process.on('exit', () => {
      this.restoreTerminal();
      for (const e of this.owned) e.killNow();
    });
  }

  track<T extends Owned>(e: T): T {
    this.owned.add(e);
    void e.exited.then(() => {
      if (e.afterExit) e.afterExit();
      else e.killNow(); // workers orphaned by a crashed parent share its process group
    });
    return e;
  }

  async untrack(e: Owned): Promise<void> {
    await e.stop();
    this.owned.delete(e);
  }

  /**
   * Registers what must happen first on every way out, before the experiments are stopped:
   * stop sampling (no record of a half-stopped tree), give the terminal back. Run once each,
   * last registered first.
   */
  onExit(fn: Restore): void {
    this.restores.push(fn);
  }

  private restoreTerminal(): void {
    while (this.restores.length) {
      try {
        this.restores.pop()!();
      } catch {
        // keep restoring the rest
      }
    }
  }

  /** Stops every experiment, restores the terminal and exits with code. */
  async exit(code: number, message?: string, signal?: NodeJS.Signals): Promise<never> {
    if (this.ending) return new Promise<never>(() => {}); // the first way out is already under way
    this.ending = true;
    this.restoreTerminal();
    await Promise.all([...this.owned].map((e) => e.stop(e.exitGraceMs ?? 2000, signal).catch(() => e.killNow())));
    // PID 1 of a container: its status is the server's, as an init's is (docker stop, then exit 0).
    for (const e of this.owned) if (e.initStatus != null && signal) code = e.initStatus;
    await new Promise((r) => setImmediate(r)); // a write error of the last output is emitted by then
    if (this.failure && code === 0) {
      code = 1;
      message = this.failure;
    }
    // Messages name files, interpreters and processes the user or others chose: one sanitized line.
    if (message) process.stderr.write(`${sanitize(message.replace(/\n+$/, ''))}\n`);
    process.exit(code);
  }

  private onSignal(code: number, signal: NodeJS.Signals): void {
    if (!this.ending) {
      void this.exit(code, undefined, signal);
      return;
    }
    // A second signal while stopping: stop waiting.
    for (const e of this.owned) e.killNow();
    process.exit(code);
  }

  get isEnding(): boolean {
    return this.ending;
  }

  private crash(err: unknown): void {
    for (const e of this.owned) e.killNow();
    this.restoreTerminal();
    const debug = process.env.COWTOP_DEBUG;
    const text = err instanceof Error ? (debug ? String(err.stack) : err.message) : String(err);
    process.stderr.write(
      `cowtop: internal error: ${debug ? text : sanitize(text)}${debug ? '' : ' (COWTOP_DEBUG=1 shows the stack)'}\n`,
    );
    process.exit(70);
  }
}

export const lifecycle = new Lifecycle();
