/** cowtop attach to a tree of 500 small processes at 1 Hz: tick lag and cowtop's CPU. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { BIN, collectLines, ROOT } from '../test/helpers';
import { cpuSeconds, percentile, round } from './measure';
import { keyLatency } from './key-latency';

export async function scale(n = 500, seconds = 60) {
  const tree = spawn('python3', [join(ROOT, 'bench', 'fixtures', 'tree500.py'), String(n)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  });
  try {
    await new Promise<void>((resolve) => tree.stdout!.on('data', (d) => String(d).includes('ready') && resolve()));
    const cowtop = spawn(
      process.execPath,
      ['--max-semi-space-size=1', BIN, 'attach', String(tree.pid), '--batch', '--interval', '1000'],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    try {
      const full = (r: any): boolean => r.type === 'sample' && r.processes.filter((p: any) => p.alive).length === n + 1;
      await collectLines(cowtop, (rs) => rs.some(full), 60_000);
      const cpu0 = cpuSeconds(cowtop.pid!);
      const t0 = Date.now();
      const records = await collectLines(
        cowtop,
        (rs) => rs.filter((r) => r.type === 'sample').length >= seconds,
        seconds * 3000,
      );
      const cpu = cpuSeconds(cowtop.pid!) - cpu0;
      const wall = (Date.now() - t0) / 1000;
      const ticks = records.filter((r) => r.type === 'sample').map((r) => r.tickMs as number);
      const gaps = records
        .filter((r) => r.type === 'sample')
        .map((r) => r.t as number)
        .map((t, i, a) => (i ? t - a[i - 1] - 1000 : 0))
        .slice(1);
      return {
        processes: n + 1,
        samples: ticks.length,
        tickMsP50: round(percentile(ticks, 50)),
        tickMsP99: round(percentile(ticks, 99)),
        scheduleLateMsP99: round(percentile(gaps, 99)),
        cpuPercentOfCore: round((100 * cpu) / wall, 1),
        targets: { tickLagP99Ms: 100, cpuPercent: 25 },
      };
    } finally {
      cowtop.kill('SIGTERM');
      await new Promise((r) => cowtop.once('close', r));
    }
  } finally {
    process.kill(-tree.pid!, 'SIGKILL');
  }
}

/** Key-to-screen at the attach dashboard of a tree of n processes, each faulting every second. */
export async function scaleKeys(n = 2000) {
  const tree = spawn('python3', [join(ROOT, 'bench', 'fixtures', 'tree500.py'), String(n - 1)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  });
  try {
    await new Promise<void>((resolve) => tree.stdout!.on('data', (d) => String(d).includes('ready') && resolve()));
    // Ready once the table's position mark counts every process (rows 1-N of n+...).
    const all = new RegExp(`of ${n}\\b`);
    return {
      processes: n,
      ...(await keyLatency(['attach', String(tree.pid), '--interval', '1000'], 60, all)),
      targetP99Ms: 100,
    };
  } finally {
    process.kill(-tree.pid!, 'SIGKILL');
  }
}
