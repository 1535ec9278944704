/**
 * `cowtop compare --strategies`: the road Instagram took, measured. The serve workload under
 * each gc strategy in turn (default, disable, threshold, freeze), re-forked from the same parent
 * and heap, each worker serving the same number of requests as fast as it can. Per strategy:
 * memory copied from the parent (page frames compared in pagemap; USS growth where frames cannot
 * be read), USS growth and peak, automatic full collections (how many, how long, at which
 * request the first), and the cyclic garbage a final gc.collect() still finds: what a strategy
 * never freed.
 */
import type { Experiment } from '../experiment/experiment';
import type { ExperimentOptions } from '../experiment/options';
import type { CollectedMessage, CollectionMessage, Report } from '../experiment/protocol';
import { parseStrategy, strategyCycle, type StrategyName } from '../experiment/strategy';
import { lifecycle } from '../lifecycle';
import { ProcReader } from '../proc/read';
import { copiedFromParent } from '../sample/copies';
import { startExperiment } from '../session/start-experiment';
import { mean } from '../util/stats';
import { UsageError } from '../util/usage-error';
import { deathOfAWorker, explainGone, measured, WorkerGone, workersRunning, type Measured } from './compare';

/** What a strategies run needs: plain options, whoever parsed them. */
export interface StrategiesOptions {
  experiment: ExperimentOptions;
  force: boolean;
  procRoot: string;
  strategies: StrategyName[] | null; // null: all four
  requests: number | null; // per worker per strategy; null: DEFAULT_REQUESTS
}

export const DEFAULT_REQUESTS = 300_000;
const ACT_TIMEOUT_MS = 600_000;
const PEAK_EVERY_MS = 200;

export interface StrategyWorker {
  pid: number;
  copied: number | null; // bytes copied from the parent (pagemap), null when frames cannot be read
  copiedAtEnable: number | null; // --enabler: copied when gc.enable() was called
  ussBefore: number;
  ussAfter: number;
  ussPeak: number;
  requests: number;
  fullCollections: number;
  fullSeconds: number;
  firstFullAt: number | null; // the request during which the first automatic full collection ran
  garbage: number | null; // unreachable objects a final gc.collect() found: cycles never freed
  seconds: number;
}

export interface StrategyRun {
  strategy: string;
  skipped: string | null; // why this interpreter cannot run it
  workers: StrategyWorker[];
  verdict: string;
}

export interface StrategiesResult extends Measured {
  type: 'strategies';
  requests: number;
  enabler: number | null;
  copiedFrom: 'pagemap' | 'uss'; // how copied memory was measured
  note: string | null;
  runs: StrategyRun[];
}

async function runOne(e: Experiment, reader: ProcReader, count: number): Promise<StrategyWorker[]> {
  if (e.workers.size < count) await e.waitFor(() => e.workers.size >= count, 30_000);
  const pids = [...e.workers.keys()];
  await workersRunning(e, pids);
  const rollup = async (pid: number): Promise<number> => {
    const m = await reader.smapsRollup(pid);
    if (!m.ok) throw new (m.error === 'gone' ? WorkerGone : Error)(`cannot read worker ${pid}: ${m.message}`);
    return m.value.uss;
  };
  const before = await Promise.all(pids.map(rollup));
  const peak = [...before];
  const poll = setInterval(() => {
    pids.forEach(
      (pid, i) =>
        void reader.smapsRollup(pid).then((m) => {
          if (m.ok) peak[i] = Math.max(peak[i], m.value.uss);
        }),
    );
  }, PEAK_EVERY_MS);
  const atEnable = new Map<number, Promise<number | null>>();
  // The worker waits (SIGCONT) before gc.enable(): its pages are read while nothing moves them.
  const onEnabled = (r: Report): void => {
    if (r.type !== 'enabling') return;
    const measured = copiedFromParent(reader, e.pid, r.pid).then((c) => (c.ok ? c.split.copied : null));
    atEnable.set(r.pid, measured);
    void measured.finally(() => {
      try {
        process.kill(r.pid, 'SIGCONT');
      } catch {
        // gone: nothing to wake
      }
    });
  };
  e.on('report', onEnabled);
  const phase = { now: 'before the requests' };
  const death = deathOfAWorker(e, reader, phase);
  try {
    const acted = new Map<number, CollectedMessage>();
    const served = e.waitFor(
      (r: Report) => r.type === 'acted' && pids.includes(r.pid) && acted.set(r.pid, r).size === pids.length,
      ACT_TIMEOUT_MS,
    );
    phase.now = 'while serving requests';
    void e.act().catch(() => {}); // the acted replies are what is waited for
    await Promise.race([served, death.promise]);
    clearInterval(poll);
    const after = await Promise.all(pids.map(rollup));
    const copies = await Promise.all(pids.map((pid) => copiedFromParent(reader, e.pid, pid)));
    // The cyclic garbage still there: what the last gc.collect() finds (after the figures above).
    const lastFull = new Map<number, CollectionMessage>();
    const onCollection = (r: Report): void => {
      if (r.type === 'collection' && r.generation === 2) lastFull.set(r.pid, r);
    };
    e.on('report', onCollection);
    const waiting = new Set(pids);
    const collected = e.waitFor(
      (r: Report) => r.type === 'collected' && waiting.delete(r.pid) && waiting.size === 0,
      ACT_TIMEOUT_MS,
    );
    phase.now = 'during the final gc.collect()';
    void e.collect().catch(() => {}); // the collected replies are what is waited for
    await Promise.race([collected, death.promise]);
    e.off('report', onCollection);
    return Promise.all(
      pids.map(async (pid, i) => {
        const a = acted.get(pid)!;
        const c = copies[i];
        return {
          pid,
          copied: c.ok ? c.split.copied : null,
          copiedAtEnable: (await atEnable.get(pid)) ?? null,
          ussBefore: before[i],
          ussAfter: after[i],
          ussPeak: Math.max(peak[i], after[i]),
          requests: a.requests ?? 0,
          fullCollections: a.full ?? 0,
          fullSeconds: a.fullSeconds ?? 0,
          firstFullAt: a.firstFull ?? null,
          garbage: lastFull.get(pid)?.collected ?? null,
          seconds: a.seconds,
        };
      }),
    );
  } catch (err) {
    return await explainGone(err, death);
  } finally {
    clearInterval(poll);
    death.cancel();
    e.off('report', onEnabled);
  }
}

export const avg = (run: StrategyRun, f: (w: StrategyWorker) => number | null): number | null => {
  const xs = run.workers.map(f).filter((x): x is number => x !== null);
  return xs.length ? mean(xs) : null;
};
/** Memory copied per worker: from pagemap where it could be read, else USS growth. */
export const strategyCopied = (run: StrategyRun): number | null =>
  avg(run, (w) => w.copied ?? w.ussAfter - w.ussBefore);

export async function runStrategies(cmd: StrategiesOptions): Promise<StrategiesResult> {
  const reader = new ProcReader(cmd.procRoot);
  if (!(await reader.available()))
    throw new UsageError(`cannot read ${cmd.procRoot}/PID/smaps_rollup: compare needs Linux /proc`);
  const requests = cmd.requests ?? DEFAULT_REQUESTS;
  const given = cmd.experiment.gc && cmd.experiment.gc !== 'default' ? parseStrategy(cmd.experiment.gc) : null;
  const options = {
    ...cmd.experiment,
    gc: 'default',
    freeze: false,
    split: false,
    workload: 'serve',
    requests,
    collectEvery: 3600,
    enablerAck: true,
  };
  const { experiment: e, ready } = await startExperiment(options, { force: cmd.force, reader });
  const wanted = new Set(cmd.strategies ?? []);
  const cycle = strategyCycle(given, ready.defaultThreshold, ready.unsupported).filter((s) =>
    wanted.has(s.split(':')[0] as StrategyName),
  );
  const runs: StrategyRun[] = [];
  for (const spec of cycle) {
    if (spec !== e.gcStrategy) await e.refork({ gc: spec, split: false });
    runs.push({ strategy: spec, skipped: null, workers: await runOne(e, reader, cmd.experiment.workers), verdict: '' });
  }
  await lifecycle.untrack(e);
  for (const [name, why] of Object.entries(ready.unsupported))
    if (wanted.has(name as StrategyName))
      runs.push({ strategy: name, skipped: why, workers: [], verdict: `skipped: ${why}.` });
  const pagemap = runs.every((r) => r.workers.every((w) => w.copied !== null));
  return {
    type: 'strategies',
    ...measured(ready, cmd.experiment.workers),
    requests,
    enabler: cmd.experiment.enabler ?? null,
    copiedFrom: pagemap ? 'pagemap' : 'uss',
    note: pagemap
      ? null
      : 'page frame numbers could not be read (root or CAP_SYS_ADMIN is needed): "copied" is USS growth, which also counts what the requests allocated',
    runs,
  };
}
