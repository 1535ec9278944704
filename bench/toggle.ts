/** Freeze toggle: key press to the first sample of the new workers on screen. */
import { BIN, sleep } from '../test/helpers';
import { readTable, runInPty } from '../test/pty';
import { percentile, round } from './measure';

export async function freezeToggle(presses = 10) {
  const args = ['--size', '2000000', '--workers', '8'];
  const run = runInPty(args, { cols: 160, rows: 48, node: ['--max-semi-space-size=1', BIN, ...args] });
  const workers = (): string[] =>
    readTable(run.screen())
      .filter((r) => r.ROLE.startsWith('worker') && /^\d/.test(r.USS))
      .map((r) => r.PID);
  try {
    await run.waitFor(() => workers().length === 8, 120_000);
    const times: number[] = [];
    for (let i = 0; i < presses; i++) {
      const old = new Set(workers());
      const t0 = Date.now();
      run.press('f');
      for (;;) {
        await run.settle();
        const now = workers();
        if (now.length === 8 && now.every((p) => !old.has(p))) break;
        await sleep(2);
      }
      times.push(Date.now() - t0);
      await sleep(1500);
    }
    return { presses, p50Ms: percentile(times, 50), maxMs: Math.max(...times), timesMs: times, targetMs: 1000 };
  } finally {
    run.press('q');
    await run.exited;
  }
}

void round;
