/**
 * Overhead against smem on the same tree (--size 2000000 --workers 8): cowtop's own CPU time
 * (user + sys) over 60 samples at 1 Hz, against 60 runs of smem -c "pid uss pss rss" -P.
 */
import { spawn, spawnSync } from 'node:child_process';
import { BIN, collectLines } from '../test/helpers';
import { childrenCpuSeconds, cpuSeconds, round } from './measure';

export async function overhead(
  mode: 'idle-frozen' | 'collect',
  samples = 60,
  warmupSeconds = 0,
  target = mode === 'idle-frozen' ? 0.05 : 0.7,
) {
  const extra = mode === 'idle-frozen' ? ['--freeze'] : ['--workload', 'collect', '--collect-every', '5'];
  const child = spawn(
    process.execPath,
    ['--max-semi-space-size=1', BIN, '--batch', '--interval', '1000', '--size', '2000000', '--workers', '8', ...extra],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  try {
    const isFull = (r: any): boolean => r.type === 'sample' && r.processes.filter((p: any) => p.alive).length === 9;
    let seen = 0;
    await collectLines(child, (rs) => rs.some(isFull), 120_000);
    // Optionally from the steady state: the first seconds after fork still see the workers'
    // own first writes (copy-on-write faults), which make every rollup be read again.
    if (warmupSeconds) await new Promise((r) => setTimeout(r, warmupSeconds * 1000));
    const cpu0 = cpuSeconds(child.pid!);
    const records = await collectLines(child, (rs) => (seen = rs.filter(isFull).length) >= samples, samples * 3000);
    // Ticks that read rollups (a full read, or a re-read the 5 s bound needed) take 20 ms or more here; the others ~1 ms.
    const window = records.filter(isFull).slice(-samples);
    const reading = window.filter((r: any) => r.tickMs >= 20);
    const readingTicks = reading.length;
    // Of those, the ticks where the tree itself faulted (every rollup is read then); the rest are the bound's re-reads.
    const faultTicks = reading.filter((r: any) => r.processes.some((p: any) => p.minfltDelta || p.majfltDelta)).length;
    const cowtop = cpuSeconds(child.pid!) - cpu0;
    const s0 = childrenCpuSeconds();
    for (let i = 0; i < samples; i++) {
      const r = spawnSync('smem', ['-c', 'pid uss pss rss', '-P', 'cowtop_experiment'], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`smem failed: ${r.stderr}`);
    }
    const smem = childrenCpuSeconds() - s0;
    return {
      mode,
      warmupSeconds,
      samples: seen,
      cowtopCpuSeconds: round(cowtop),
      smemCpuSeconds: round(smem),
      ratio: round(cowtop / smem, 3),
      target,
      readingTicks,
      faultTicks,
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('close', r));
  }
}
