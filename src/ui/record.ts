/**
 * --record FILE.cast: an asciicast v2 recording of what the dashboard writes to the terminal
 * (https://docs.asciinema.org/manual/asciicast/v2/): a header line, then [seconds, "o", text]
 * per write. Written synchronously, so the last frame is on disk whatever way cowtop exits.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { UsageError } from '../lifecycle';

export class CastRecorder {
  private readonly fd: number;
  private readonly started = process.hrtime.bigint();
  private closed = false;

  constructor(file: string, width: number, height: number, env: NodeJS.ProcessEnv = process.env) {
    try {
      this.fd = openSync(file, 'w', 0o644);
    } catch (err) {
      throw new UsageError(`cannot write --record ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const header = { version: 2, width, height, timestamp: Math.floor(Date.now() / 1000), title: 'cowtop', env: { TERM: env.TERM ?? 'xterm-256color', SHELL: env.SHELL ?? '/bin/sh' } };
    writeSync(this.fd, JSON.stringify(header) + '\n');
  }

  output(text: string): void {
    if (this.closed || !text) return;
    const t = Number(process.hrtime.bigint() - this.started) / 1e9;
    writeSync(this.fd, JSON.stringify([Math.round(t * 1e6) / 1e6, 'o', text]) + '\n');
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
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
