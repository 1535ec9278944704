/**
 * What `cowtop compare` measures: the original experiment. Without freeze, then with it (the same
 * parent and heap, re-forked): read each worker's USS and minor faults, gc.collect() in every
 * worker (or a workload's pass), read them again. compare, --matrix and --strategies stand on it.
 */
import { exitReason } from '../experiment/exit-reason';
import type { Experiment } from '../experiment/experiment';
import type { ExperimentOptions } from '../experiment/options';
import type { CollectedMessage, ReadyMessage, Report } from '../experiment/protocol';
import { lifecycle } from '../lifecycle';
import { ProcReader } from '../proc/read';
import { startExperiment } from '../session/start-experiment';
import { mean } from '../util/stats';
import { UsageError } from '../util/usage-error';
import { copiedSinceFork } from './copied';

export { mean };

/** What compare can measure one pass of: a collection, or a workload's act(). */
export const PASS_WORKLOADS = ['collect', 'read', 'write', 'serve'] as const;
export type PassWorkload = (typeof PASS_WORKLOADS)[number];

/** What a compare run needs: plain options, whoever parsed them. */
export interface CompareOptions {
  experiment: ExperimentOptions;
  force: boolean;
  procRoot: string;
  pass: PassWorkload;
}

export interface CompareWorker {
  pid: number;
  ussBefore: number;
  ussAfter: number;
  minfltDelta: number;
  gcSeconds: number;
  /** Bytes copied from the parent during the pass, page by page (pagemap); null without CAP_SYS_ADMIN. */
  copied: number | null;
  /** Bytes copied from the parent since fork, after the pass. */
  copiedSinceFork: number | null;
  /** What those copied pages held in the parent (records, lists, ints, module objects, other), bytes; null when unknown. */
  copiedKinds: Record<string, number> | null;
}

export interface CompareRun {
  freeze: boolean;
  workers: CompareWorker[];
}

/** What every compare result says about the experiment it measured. */
export interface Measured {
  python: string;
  implementation: string;
  version: string;
  size: number;
  heapBytes: number;
  workers: number;
}

export function measured(ready: ReadyMessage, workers: number): Measured {
  return {
    python: ready.executable,
    implementation: ready.implementation,
    version: ready.version,
    size: ready.size,
    heapBytes: ready.heapBytes,
    workers,
  };
}

export interface CompareResult extends Measured {
  type: 'compare';
  workload: string; // what each worker did once: collect, or a workload's pass
  modules: string[]; // imported by the parent before fork: part of the shared heap
  runs: CompareRun[];
  /** What freeze saved of the USS growth (the memory the pass copied): cowtop's headline. */
  reduction: number | null;
  /** What freeze saved of the USS after the pass: the original experiment's figure (its 95%). */
  reductionAfter: number | null;
}

const COLLECT_TIMEOUT_MS = 300_000;

/** Waits until every given worker has sent one gc report: its loop is running. */
export async function workersRunning(e: Experiment, pids: number[]): Promise<void> {
  const waiting = new Set(pids.filter((p) => !e.gc.has(p)));
  if (waiting.size === 0) return;
  await e.waitFor((r: Report) => r.type === 'gc' && waiting.delete(r.pid) && waiting.size === 0, 30_000);
}

/** What makes the workers do their thing once: gc.collect(), or the workload's act(). */
interface Trigger {
  cmd: 'collect' | 'act';
  reply: 'collected' | 'acted';
}

/**
 * Rejects as soon as a worker dies that nobody asked to stop (the OOM killer does this for real
 * in the middle of a collection): compare fails at once, naming it, instead of waiting.
 */
export function deathOfAWorker(
  e: Experiment,
  reader: ProcReader,
  phase: { now: string },
): { promise: Promise<never>; cancel(): void } {
  const oomBefore = reader.oomKills();
  const numbers = new Map([...e.workers].map(([pid, w]) => [pid, w.index + 1]));
  let off = (): void => {};
  const promise = new Promise<never>((_, reject) => {
    const fail = (who: string, how: string): void => {
      void Promise.all([oomBefore, reader.oomKills()]).then(([a, b]) => {
        const oom =
          a !== null && b !== null && b > a ? `; the kernel's OOM killer killed it (oom_kill ${a} -> ${b})` : '';
        reject(new Error(`${who} died ${phase.now}: ${how}${oom}`));
      });
    };
    const onReport = (r: Report): void => {
      if (r.type === 'fork') numbers.set(r.pid, r.index + 1);
      if (r.type !== 'exit' || r.requested) return;
      const n = numbers.get(r.pid);
      fail(n ? `worker ${n} (pid ${r.pid})` : `worker pid ${r.pid}`, exitReason(r, 'exit code') ?? 'exit code ?');
    };
    const onExit = (st: { code: number | null; signal: string | null }): void =>
      fail(`the experiment's Python parent (pid ${e.pid})`, st.signal ?? `exit code ${st.code}`);
    e.on('report', onReport);
    e.on('exit', onExit);
    off = () => {
      e.off('report', onReport);
      e.off('exit', onExit);
    };
  });
  promise.catch(() => {});
  return { promise, cancel: () => off() };
}

/** A worker's /proc files vanished under a read: it died, and its exit report is on the way. */
export class WorkerGone extends Error {}

/**
 * The reads can see a worker vanish before the parent's exit report (with the signal) arrives:
 * wait a moment for that report, so the reason said is the death, not the failed read.
 */
export async function explainGone(err: unknown, death: { promise: Promise<never> }): Promise<never> {
  if (!(err instanceof WorkerGone)) throw err;
  const why = await Promise.race([
    death.promise.catch((d: unknown) => d),
    new Promise<null>((r) => setTimeout(() => r(null), 2000)),
  ]);
  throw why ?? err;
}

async function measure(e: Experiment, reader: ProcReader, count: number, trigger: Trigger): Promise<CompareRun> {
  const phase = { now: 'before the measurement' };
  const death = deathOfAWorker(e, reader, phase);
  try {
    return await Promise.race([measureOnce(e, reader, count, trigger, phase), death.promise]);
  } catch (err) {
    return await explainGone(err, death);
  } finally {
    death.cancel();
  }
}

async function measureOnce(
  e: Experiment,
  reader: ProcReader,
  count: number,
  trigger: Trigger,
  phase: { now: string },
): Promise<CompareRun> {
  if (e.workers.size < count) {
    await e.waitFor(() => e.workers.size >= count, 30_000);
  }
  const pids = [...e.workers.keys()];
  await workersRunning(e, pids);
  const read = async (pid: number) => {
    const [mem, stat] = await Promise.all([reader.smapsRollup(pid), reader.stat(pid)]);
    if (!mem.ok || !stat.ok) {
      const gone = (!mem.ok && mem.error === 'gone') || (!stat.ok && stat.error === 'gone');
      throw new (gone ? WorkerGone : Error)(
        `cannot read worker ${pid}: ${!mem.ok ? mem.message : !stat.ok ? stat.message : ''}`,
      );
    }
    return { uss: mem.value.uss, minflt: stat.value.minflt };
  };
  const before = await Promise.all(pids.map(read));
  const copiesBefore = (await copiedSinceFork(reader, e.pid, pids, e.kinds)).copied;
  const waiting = new Set(pids);
  const seconds = new Map<number, number>();
  const done = e.waitFor((r: Report) => {
    if (r.type !== trigger.reply || !waiting.has(r.pid)) return false;
    seconds.set(r.pid, (r as CollectedMessage).seconds);
    waiting.delete(r.pid);
    return waiting.size === 0;
  }, COLLECT_TIMEOUT_MS);
  phase.now = trigger.cmd === 'collect' ? 'during its gc.collect()' : 'during the workload pass';
  // The replies (collected, acted) are what is waited for; the asked report only says whom it reached.
  void (trigger.cmd === 'collect' ? e.collect() : e.act()).catch(() => {});
  await done;
  phase.now = 'after the measurement';
  const after = await Promise.all(pids.map(read));
  const { copied: copiesAfter, kinds } = await copiedSinceFork(reader, e.pid, pids, e.kinds);
  return {
    freeze: e.freeze,
    workers: pids.map((pid, i) => ({
      pid,
      ussBefore: before[i].uss,
      ussAfter: after[i].uss,
      minfltDelta: after[i].minflt - before[i].minflt,
      gcSeconds: seconds.get(pid) ?? NaN,
      copied:
        copiesAfter.get(pid) != null && copiesBefore.get(pid) != null
          ? copiesAfter.get(pid)! - copiesBefore.get(pid)!
          : null,
      copiedSinceFork: copiesAfter.get(pid) ?? null,
      copiedKinds: kinds.get(pid) ?? null,
    })),
  };
}

/** The mean copied during the pass, or null when the map could not tell. */
export const copiedMean = (r: CompareRun): number | null =>
  r.workers.every((w) => w.copied !== null) ? mean(r.workers.map((w) => w.copied!)) : null;

export const growth = (r: CompareRun): number => mean(r.workers.map((w) => w.ussAfter - w.ussBefore));

const reductionOf = (before: number, after: number | null): number | null =>
  after === null || before <= 0 ? null : 1 - after / before;
/**
 * Without freeze, then with it: the workers do the measured thing once each time. 'collect' is
 * the original experiment; 'read' and 'write' run those workloads' single pass instead.
 */
export async function runCompareExperiment(
  cmd: CompareOptions,
  procRoot = cmd.procRoot,
  workload: PassWorkload = cmd.pass,
): Promise<CompareResult> {
  const reader = new ProcReader(procRoot);
  if (!(await reader.available())) {
    throw new UsageError(
      `cannot read ${procRoot}/PID/smaps_rollup: compare needs Linux /proc for USS; --batch shows what this system offers`,
    );
  }
  const trigger: Trigger =
    workload === 'collect' ? { cmd: 'collect', reply: 'collected' } : { cmd: 'act', reply: 'acted' };
  // The workload runs only when asked: its own period is set beyond the run.
  // serve: requests only when asked (100,000 a pass), none on its own.
  const options = {
    ...cmd.experiment,
    gc: 'default',
    freeze: false,
    split: false,
    workload: workload === 'collect' ? 'idle' : workload,
    collectEvery: 3600,
    requests: workload === 'serve' ? 100_000 : null,
  };
  const { experiment: e, ready } = await startExperiment(options, { force: cmd.force, reader });
  const runs: CompareRun[] = [await measure(e, reader, cmd.experiment.workers, trigger)];
  if (ready.freezeSupported) {
    await e.refork({ freeze: true });
    runs.push(await measure(e, reader, cmd.experiment.workers, trigger));
  }
  await lifecycle.untrack(e);
  const without = growth(runs[0]);
  const withFreeze = runs[1] ? growth(runs[1]) : null;
  const after = (run: CompareRun): number => mean(run.workers.map((w) => w.ussAfter));
  return {
    type: 'compare',
    ...measured(ready, cmd.experiment.workers),
    workload,
    modules: ready.modules,
    runs,
    reduction: reductionOf(without, withFreeze),
    reductionAfter: reductionOf(after(runs[0]), runs[1] ? after(runs[1]) : null),
  };
}
