/** Reusing smaps_rollup figures when the tree did not change gives the same figures as reading. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Experiment } from '../src/experiment/experiment';
import type { Report } from '../src/experiment/protocol';
import { parseSmapsRollup, parseStat, type ProcStat } from '../src/proc/parse';
import { ProcReader } from '../src/proc/read';
import { FULL_EVERY_MS, RollupCache } from '../src/sample/rollup-cache';
import { Sampler } from '../src/sample/sampler';
import { experimentPids, sleep, waitUntil } from './helpers';

const stat = (over: Partial<ProcStat>): ProcStat => ({ ...parseStat(readFileSync('/proc/self/stat', 'utf8'))!, ...over });

test('RollupCache: reads when a fault, a start, an exit or a mapping change happened, or every 30 s', () => {
  const c = new RollupCache();
  const a = stat({ pid: 1, minflt: 10 });
  const b = stat({ pid: 2, minflt: 20 });
  assert.equal(c.mustRead([a, b], 0), true, 'nothing read yet');
  c.store([a, b], new Map([[1, { ok: true, value: {} as never }], [2, { ok: true, value: {} as never }]]), 0);
  assert.equal(c.mustRead([a, b], 1000), false);
  assert.equal(c.mustRead([a, { ...b, minflt: 21 }], 1000), true, 'a minor fault in one process');
  assert.equal(c.mustRead([a, { ...b, majflt: b.majflt + 1 }], 1000), true, 'a major fault');
  assert.equal(c.mustRead([a, { ...b, rssPages: b.rssPages - 1 }], 1000), true, 'memory unmapped without a fault');
  assert.equal(c.mustRead([a], 1000), true, 'an exit');
  assert.equal(c.mustRead([a, b, stat({ pid: 3 })], 1000), true, 'a start');
  assert.equal(c.mustRead([a, { ...b, starttime: b.starttime + 1 }], 1000), true, 'a reused pid');
  assert.equal(c.mustRead([a, b], FULL_EVERY_MS), true, 'the periodic full read');
  assert.equal(new RollupCache(false).mustRead([], 0), true, 'disabled: always');
});

test('figures stay identical to a full read across idle ticks, collections, exits, forks and parent writes', async () => {
  // A long report interval keeps the experiment quiet between the steps.
  const e = new Experiment({ python: 'python3', size: 100000, workers: 2, freeze: false, workload: 'idle', collectEvery: 5, interval: 60_000 });
  const sampler = new Sampler(new ProcReader(), e);
  const direct = (pid: number) => parseSmapsRollup(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))!;
  const check = async (step: string): Promise<void> => {
    const snap = await sampler.tick();
    for (const p of snap.processes.filter((x) => x.alive)) {
      const d = direct(p.pid);
      assert.equal(p.uss, d.uss, `${step}: USS of ${p.role} ${p.pid}`);
      assert.equal(p.rss, d.rss, `${step}: RSS of ${p.role} ${p.pid}`);
      assert.ok(Math.abs(p.pss! - d.pss) <= 8192, `${step}: PSS of ${p.role} ${p.pid}: ${p.pss} vs ${d.pss}`);
    }
  };
  const until = (type: string, n = 1) => {
    let seen = 0;
    return e.waitFor((r: Report) => r.type === type && ++seen === n, 30_000);
  };
  try {
    await e.ready;
    await waitUntil(() => e.workers.size === 2 && [...e.workers.keys()].every((p) => e.gc.has(p)), 20_000, 'workers');
    await sleep(300);
    await check('first');
    const fullBefore = sampler.rollups.fullReads;
    for (let i = 0; i < 3; i++) await check('idle');
    assert.ok(sampler.rollups.reusedTicks >= 2, `idle ticks reused the figures (${sampler.rollups.reusedTicks})`);
    assert.ok(sampler.rollups.fullReads - fullBefore <= 1);

    // The parent writes: the workers' figures change with no fault in the workers.
    const before = await sampler.tick();
    let done = until('written');
    e.send({ cmd: 'write' });
    await done;
    await check('after the parent wrote');
    const after = sampler.previous!;
    const worker = after.processes.find((p) => p.role === 'worker' && p.alive && before.processes.some((b) => b.pid === p.pid))!;
    const was = before.processes.find((p) => p.pid === worker.pid)!;
    // Two workers still share the pages the parent copied: their PSS (1/3 -> 1/2 a page each) moves.
    assert.ok(worker.pss! - was.pss! > 1048576, `the worker's PSS grew by ${worker.pss! - was.pss!} bytes`);
    assert.ok(worker.minflt! - was.minflt! < 50, 'with (almost) no fault of its own: a per-process rule would have missed it');

    done = until('collected', 2);
    e.send({ cmd: 'collect' });
    await done;
    await check('after collections');

    done = until('scale');
    e.send({ cmd: 'scale', workers: 1 });
    await done;
    await sleep(200);
    await check('after an exit');

    done = until('scale');
    e.send({ cmd: 'scale', workers: 2 });
    await done;
    await sleep(300);
    await check('after a fork');
    await check('idle again');

  } finally {
    await e.stop();
  }
  assert.deepEqual(experimentPids(), []);
});
