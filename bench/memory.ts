/**
 * cowtop's RSS after the equivalent of one hour of samples with 16 processes: the dashboard
 * at --interval 100 for 6 minutes is 3,600 samples.
 */
import { BIN, sleep } from '../test/helpers';
import { runInPty } from '../test/pty';
import { rssKiB } from './measure';

export async function memoryHour(samples = 3600, interval = 100) {
  const args = ['--size', '100000', '--workers', '15', '--interval', String(interval), '--workload', 'collect', '--collect-every', '10'];
  const run = runInPty(args, { cols: 160, rows: 48, node: ['--max-semi-space-size=1', BIN, ...args] });
  try {
    await run.waitFor(/worker 15\s+\d+\s+[\d.]+/, 60_000);
    const t0 = Date.now();
    const trace: number[] = [];
    while (Date.now() - t0 < samples * interval) {
      await sleep(30_000);
      trace.push(rssKiB(run.proc.pid));
    }
    const end = rssKiB(run.proc.pid);
    return { processes: 16, samples, rssMiB: Math.round(end / 1024), traceKiB: trace, targetMiB: 100 };
  } finally {
    run.press('q');
    await run.exited;
  }
}
