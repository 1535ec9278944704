/**
 * Preloaded (node -r) into the cowtop a latency benchmark runs: for each key, the time from
 * its bytes arriving on stdin to the next write to the terminal, appended to the file named by
 * COWTOP_KEY_TRACE. It tells cowtop's own share of key-to-screen from the harness's (its terminal
 * emulator parses every frame on the same two cores).
 */
import { appendFileSync } from 'node:fs';

const file = process.env.COWTOP_KEY_TRACE;
if (file) {
  let pending: bigint | null = null;
  const stdin = process.stdin;
  const emit = stdin.emit.bind(stdin);
  stdin.emit = ((event: string | symbol, ...args: unknown[]) => {
    if (event === 'data' && pending === null) pending = process.hrtime.bigint();
    return emit(event, ...args);
  }) as typeof stdin.emit;
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (pending !== null) {
      appendFileSync(file, `${Number(process.hrtime.bigint() - pending) / 1e6}\n`);
      pending = null;
    }
    return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;
}
