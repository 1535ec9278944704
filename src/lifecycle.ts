/**
 * The one owner of start and every way out. Whatever ends cowtop (q, Ctrl-C, SIGTERM, SIGHUP,
 * an uncaught error, the end of a batch run), the experiments it started are stopped and the
 * terminal is restored here, and nowhere else.
 */
import type { Experiment } from './experiment/experiment';

export class UsageError extends Error {}

type Restore = () => void;

class Lifecycle {
  private readonly experiments = new Set<Experiment>();
  private readonly restores: Restore[] = [];
  private installed = false;
  private ending = false;

  install(): void {
    if (this.installed) return;
    this.installed = true;
    process.on('SIGINT', () => this.onSignal(130));
    process.on('SIGTERM', () => this.onSignal(143));
    process.on('SIGHUP', () => this.onSignal(129));
    process.on('uncaughtException', (err) => this.crash(err));
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
      for (const e of this.experiments) e.killNow();
    });
  }

  track(e: Experiment): Experiment {
    this.experiments.add(e);
    void e.exited.then(() => {
      e.killNow(); // workers orphaned by a crashed parent share its process group
    });
    return e;
  }

  async untrack(e: Experiment): Promise<void> {
    await e.stop();
    this.experiments.delete(e);
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
  async exit(code: number, message?: string): Promise<never> {
    if (this.ending) return new Promise<never>(() => {}); // the first way out is already under way
    this.ending = true;
    this.restoreTerminal();
    await Promise.all([...this.experiments].map((e) => e.stop(2000).catch(() => e.killNow())));
    if (message) process.stderr.write(message.endsWith('\n') ? message : message + '\n');
    process.exit(code);
  }

  private onSignal(code: number): void {
    if (!this.ending) {
      void this.exit(code);
      return;
    }
    // A second signal while stopping: stop waiting.
    for (const e of this.experiments) e.killNow();
    process.exit(code);
  }

  get isEnding(): boolean {
    return this.ending;
  }

  private crash(err: unknown): void {
    for (const e of this.experiments) e.killNow();
    this.restoreTerminal();
    const debug = process.env.COWTOP_DEBUG;
    const text = err instanceof Error ? (debug ? String(err.stack) : err.message) : String(err);
    process.stderr.write(`cowtop: internal error: ${text}${debug ? '' : ' (COWTOP_DEBUG=1 shows the stack)'}\n`);
    process.exit(70);
  }
}

export const lifecycle = new Lifecycle();
