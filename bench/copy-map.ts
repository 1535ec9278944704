/**
 * The copy map's cost: a full pass (pagemap of the parent and every worker, the split per
 * mapping, the parent's sharer counts) on experiment trees of growing heap and worker count,
 * after one gc.collect() in every worker. CPU is this process's user + system time (the
 * pagemap reads run on libuv's threads, in the kernel), per pass. The reference, measured in the
 * same run: reading the same processes' smaps_rollup once, which every sampling tick does.
 */
import { startExperiment } from '../src/session/start-experiment';
import { DEFAULTS } from '../src/experiment/options';
import { lifecycle } from '../src/lifecycle';
import { ProcReader } from '../src/proc/read';
import { readCopyMap } from '../src/sample/copy-map';
import { percentile, round } from './measure';

export async function copyMapCost(
  trees: Array<[number, number]> = [
    [500_000, 2],
    [1_000_000, 4],
    [2_000_000, 8],
  ],
  passes = 10,
) {
  const reader = new ProcReader();
  const out = [];
  for (const [size, workers] of trees) {
    const { experiment: e } = await startExperiment(
      {
        ...DEFAULTS,
        python: process.env.COWTOP_PYTHON ?? 'python3',
        size,
        workers,
        gc: 'default',
        freeze: false,
        split: false,
        workload: 'idle',
        collectEvery: 3600,
        enabler: null,
        tracemalloc: false,
        interval: 1000,
      },
      { force: false, reader },
    );
    try {
      await e.waitFor(() => e.workers.size === workers, 60_000);
      const done = new Set<number>();
      const collected = e.waitFor((r) => r.type === 'collected' && done.add(r.pid).size === workers, 120_000);
      e.send({ cmd: 'collect' });
      await collected;
      const cpu: number[] = [];
      const wall: number[] = [];
      const ref: number[] = [];
      let pages = 0;
      for (let i = 0; i < passes; i++) {
        const c0 = process.cpuUsage();
        const t0 = process.hrtime.bigint();
        const map = await readCopyMap(reader, e.pid, [...e.workers.keys()]);
        wall.push(Number(process.hrtime.bigint() - t0) / 1e6);
        const c = process.cpuUsage(c0);
        cpu.push((c.user + c.system) / 1000);
        if ('error' in map) throw new Error(map.error);
        pages = map.sharers.length;
        const r0 = process.cpuUsage();
        await Promise.all([e.pid, ...e.workers.keys()].map((pid) => reader.smapsRollup(pid)));
        const r = process.cpuUsage(r0);
        ref.push((r.user + r.system) / 1000);
      }
      out.push({
        size,
        workers,
        parentAnonMiB: round((pages * 4096) / 1048576, 1),
        cpuMsP50: round(percentile(cpu, 50), 1),
        cpuMsMax: round(Math.max(...cpu), 1),
        wallMsP50: round(percentile(wall, 50), 1),
        rollupsCpuMsP50: round(percentile(ref, 50), 1),
        ratioToRollups: round(percentile(cpu, 50) / percentile(ref, 50), 2),
        target: { cpuMs: 150 },
      });
    } finally {
      await lifecycle.untrack(e);
    }
  }
  return out;
}
