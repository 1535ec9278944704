/**
 * --record FILE.cast: an asciicast v2 recording of what the dashboard writes to the terminal
 * (https://docs.asciinema.org/manual/asciicast/v2/): a header line, then [seconds, "o", text]
 * per write. Written synchronously, so the last frame is on disk whatever way cowtop exits.
 *
 * The file is checked at start but opened only once the experiment is ready: a start that fails
 * leaves an existing file as it was. Until then the frames wait in memory. A write that fails (a
 * full disk) ends the recording with one notice; the dashboard goes on.
 */
import { closeSync, writeSync } from 'node:fs';
import { checkOutput, openOutput, OutputError } from '../files/output';
import { UsageError } from '../util/usage-error';

const MAX_PENDING = 16 * 1024 * 1024; // bytes of frames kept before the file is open

export class CastRecorder {
  private fd: number | null = null;
  private pending: string[] | null = [];
  private pendingBytes = 0;
  private readonly started = process.hrtime.bigint();
  private stopped = false;

  constructor(
    readonly file: string,
    width: number,
    height: number,
    private readonly onStop: (why: string) => void,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    try {
      checkOutput(file);
    } catch (err) {
      if (err instanceof OutputError) throw new UsageError(`cannot write --record ${err.file}: ${err.reason}`);
      throw err;
    }
    const header = {
      version: 2,
      width,
      height,
      timestamp: Math.floor(Date.now() / 1000),
      title: 'cowtop',
      env: { TERM: env.TERM ?? 'xterm-256color', SHELL: env.SHELL ?? '/bin/sh' },
    };
    this.line(JSON.stringify(header));
  }

  /** The experiment is ready: now the file is opened (truncated) and what waited is written. */
  open(): void {
    if (this.stopped || this.fd !== null) return;
    try {
      this.fd = openOutput(this.file);
    } catch (err) {
      this.stop(err instanceof OutputError ? err.message : `cannot write ${this.file}: ${(err as Error).message}`);
      return;
    }
    const waiting = this.pending ?? [];
    this.pending = null;
    for (const l of waiting) this.line(l);
  }

  output(text: string): void {
    if (this.stopped || !text) return;
    const t = Number(process.hrtime.bigint() - this.started) / 1e9;
    this.line(JSON.stringify([Math.round(t * 1e6) / 1e6, 'o', text]));
  }

  private line(l: string): void {
    if (this.stopped) return;
    if (this.pending) {
      this.pending.push(`${l}\n`);
      this.pendingBytes += l.length + 1;
      if (this.pendingBytes > MAX_PENDING)
        this.stop(`the first ${MAX_PENDING >> 20} MiB of frames came before the experiment was ready`);
      return;
    }
    try {
      writeSync(this.fd!, l.endsWith('\n') ? l : `${l}\n`);
    } catch (err) {
      this.stop(`cannot write ${this.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }

  private stop(why: string): void {
    if (this.stopped) return;
    this.stopped = true;
    this.pending = null;
    this.closeFd();
    this.onStop(`recording stopped: ${why}; the dashboard goes on`);
  }

  private closeFd(): void {
    if (this.fd === null) return;
    try {
      closeSync(this.fd);
    } catch {
      // already gone
    }
    this.fd = null;
  }

  close(): void {
    this.stopped = true;
    this.pending = null;
    this.closeFd();
  }
}

/** Tees everything written to stdout into the recorder; returns how to undo it. */
export function teeStdout(rec: CastRecorder): () => void {
  const original = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
    rec.output(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;
  return () => {
    process.stdout.write = original;
  };
}
