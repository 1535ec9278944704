/**
 * Key-to-screen latency: cowtop in a real pty with a large experiment being sampled; each press
 * of space (pause) is timed until the emulator's screen shows the change.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInPty } from '../test/pty';
import { BIN, sleep } from '../test/helpers';

export interface LatencyResult {
  samples: number;
  p50: number;
  p99: number;
  max: number;
  /** The five slowest presses: with 60 presses, p99 is the slowest one alone. */
  slowest: number[];
  /** cowtop's own share: from a key's bytes on its stdin to its next write (key-trace.ts). */
  inside: { p50: number; p99: number; slowest: number[] };
  args: string[];
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

export async function keyLatency(
  args: string[],
  presses = 60,
  ready = /worker \d+\s+\d+\s+[\d.]+/,
): Promise<LatencyResult> {
  const dir = mkdtempSync(join(tmpdir(), 'cowtop-keys-'));
  const trace = join(dir, 'keys');
  const run = runInPty(args, {
    cols: 160,
    rows: 48,
    env: { COWTOP_KEY_TRACE: trace },
    node: ['--max-semi-space-size=1', '-r', join(__dirname, 'key-trace.js'), BIN, ...args],
  });
  try {
    await run.waitFor((t) => ready.test(t), 120_000);
    await sleep(2000);
    const times: number[] = [];
    const gone = run.exited.then(() => {
      throw new Error('cowtop exited during the presses');
    });
    gone.catch(() => {}); // it exits after the last press too, on q
    for (let i = 0; i < presses; i++) {
      const wantPaused = i % 2 === 0;
      const t0 = process.hrtime.bigint();
      run.press(' ');
      // Woken by each chunk the emulator parses: a loop that polled the screen spun a core
      // of the two that cowtop and the workers share, and its own CPU showed as latency.
      while (run.text().includes('PAUSED') !== wantPaused) await Promise.race([run.nextParsed(), gone]);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      await sleep(50 + Math.random() * 150); // land at different points of the sampling cycle
    }
    const slowest = (xs: number[]): number[] =>
      [...xs]
        .sort((a, b) => b - a)
        .slice(0, 5)
        .map((t) => Math.round(t));
    const inside = readFileSync(trace, 'utf8').trim().split('\n').map(Number).slice(-presses);
    return {
      samples: times.length,
      p50: pct(times, 50),
      p99: pct(times, 99),
      max: Math.max(...times),
      slowest: slowest(times),
      inside: { p50: pct(inside, 50), p99: pct(inside, 99), slowest: slowest(inside) },
      args,
    };
  } finally {
    run.press('q');
    await run.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const args = process.argv.slice(2).length
    ? process.argv.slice(2)
    : ['--size', '1000000', '--workers', '4', '--workload', 'collect', '--collect-every', '2'];
  void keyLatency(args).then((r) => console.log(JSON.stringify(r)));
}
