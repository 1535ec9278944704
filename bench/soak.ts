/**
 * Soak: the dashboard at --interval 100 with 8 workers for N minutes (default 10), cowtop's own
 * RSS read from /proc every 10 s. Bounded history means RSS levels off after warm-up.
 */
import { readFileSync } from 'node:fs';
import { runInPty } from '../test/pty';
import { sleep } from '../test/helpers';

export interface SoakResult {
  minutes: number;
  samples: Array<{ s: number; rssKiB: number }>;
  warmRssKiB: number; // after the first minute (history buffers not yet full at 10 Hz)
  endRssKiB: number;
  maxRssKiB: number;
  growthAfterWarm: number; // end / warm
}

const rssKiB = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

export async function soak(minutes = 10): Promise<SoakResult> {
  const run = runInPty(
    ['--size', '200000', '--workers', '8', '--interval', '100', '--workload', 'collect', '--collect-every', '5'],
    { cols: 160, rows: 48 },
  );
  try {
    await run.waitFor(/worker 8\s+\d+\s+[\d.]+/, 60_000);
    const t0 = Date.now();
    const samples: SoakResult['samples'] = [];
    while (Date.now() - t0 < minutes * 60_000) {
      samples.push({ s: Math.round((Date.now() - t0) / 1000), rssKiB: rssKiB(run.proc.pid) });
      await sleep(10_000);
    }
    samples.push({ s: Math.round((Date.now() - t0) / 1000), rssKiB: rssKiB(run.proc.pid) });
    const warm = samples.find((x) => x.s >= 60) ?? samples[0];
    const end = samples[samples.length - 1];
    return {
      minutes,
      samples,
      warmRssKiB: warm.rssKiB,
      endRssKiB: end.rssKiB,
      maxRssKiB: Math.max(...samples.map((x) => x.rssKiB)),
      growthAfterWarm: end.rssKiB / warm.rssKiB,
    };
  } finally {
    run.press('q');
    await run.exited;
  }
}

if (require.main === module) {
  void soak(Number(process.argv[2] ?? 10)).then((r) => console.log(JSON.stringify(r)));
}
