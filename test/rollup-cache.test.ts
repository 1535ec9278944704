/** Reusing smaps_rollup figures when the tree did not change gives the same figures as reading. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { AttachedTree } from '../src/attach/tree';
import { Experiment } from '../src/experiment/experiment';
import type { Report } from '../src/experiment/protocol';
import { parseSmapsRollup, parseStat, type ProcStat } from '../src/proc/parse';
import { ProcReader } from '../src/proc/read';
import { BIG_TREE, BIG_TREE_REFRESH_MS, RollupCache, STALE_MS } from '../src/sample/rollup-cache';
import { Sampler } from '../src/sample/sampler';
import { experimentPids, msToCatchUp, outsideSharer, SHARED_FILE_GROWTH, sleep, waitUntil } from './helpers';

const stat = (over: Partial<ProcStat>): ProcStat => ({
  ...parseStat(readFileSync('/proc/self/stat', 'utf8'))!,
  ...over,
});

test('RollupCache: reads every rollup when a fault, a start, an exit or a mapping change happened', () => {
  const c = new RollupCache();
  const a = stat({ pid: 1, minflt: 10 });
  const b = stat({ pid: 2, minflt: 20 });
  assert.equal(c.mustRead([a, b]), true, 'nothing read yet');
  c.store(
    [a, b],
    new Map([
      [1, { ok: true, value: {} as never }],
      [2, { ok: true, value: {} as never }],
    ]),
    0,
  );
  assert.equal(c.mustRead([a, b]), false);
  assert.equal(c.mustRead([a, { ...b, minflt: 21 }]), true, 'a minor fault in one process');
  assert.equal(c.mustRead([a, { ...b, majflt: b.majflt + 1 }]), true, 'a major fault');
  assert.equal(c.mustRead([a, { ...b, rssPages: b.rssPages - 1 }]), true, 'memory unmapped without a fault');
  assert.equal(c.mustRead([a]), true, 'an exit');
  assert.equal(c.mustRead([a, b, stat({ pid: 3 })]), true, 'a start');
  assert.equal(c.mustRead([a, { ...b, starttime: b.starttime + 1 }]), true, 'a reused pid');
  assert.equal(new RollupCache(false).mustRead([]), true, 'disabled: always');
});

test(`RollupCache: a quiet tree is re-read round-robin, a few a tick, none older than ${STALE_MS / 1000} s`, () => {
  const c = new RollupCache();
  const stats = Array.from({ length: 9 }, (_, i) => stat({ pid: i + 1 }));
  const value = { ok: true as const, value: {} as never };
  c.store(stats, new Map(stats.map((s) => [s.pid, value])), 0);
  const lastRead = new Map(stats.map((s) => [s.pid, 0]));
  let worst = 0;
  let reads = 0;
  for (let now = 1000; now <= 60_000; now += 1000) {
    const plan = c.plan(stats, now, 1000);
    assert.equal(plan.all, false, 'nothing moved in the tree');
    const pids = plan.all ? [] : [...plan.pids];
    assert.ok(pids.length <= 3, `${pids.length} re-read at ${now}`);
    reads += pids.length;
    for (const pid of pids) lastRead.set(pid, now);
    c.store(stats, new Map(pids.map((p) => [p, value])), now, false);
    for (const t of lastRead.values()) worst = Math.max(worst, now - t);
  }
  assert.ok(worst <= STALE_MS, `oldest figure ${worst} ms`);
  assert.ok(reads <= 60 * 2, `${reads} reads in 60 ticks of 9 processes: a share, not all (540)`);
  assert.equal(c.oldestMs(60_000) <= STALE_MS, true);
});

test('figures stay identical to a full read across idle ticks, collections, exits, forks and parent writes', async () => {
  // A long report interval keeps the experiment quiet between the steps.
  const e = new Experiment({
    python: 'python3',
    size: 100000,
    workers: 2,
    freeze: false,
    workload: 'idle',
    collectEvery: 5,
    interval: 60_000,
  });
  const sampler = new Sampler(new ProcReader(), e, { watchMinRss: 0 }); // the watch's baselines taken too: they must not change a figure
  const direct = (pid: number) => parseSmapsRollup(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))!;
  const check = async (step: string): Promise<void> => {
    const snap = await sampler.tick();
    for (const p of snap.processes.filter((x) => x.alive)) {
      const d = direct(p.pid);
      const r = p.rollup!;
      // Exact where nothing outside the tree can reach: written (dirty) private pages and RSS.
      // Clean file pages (libpython, .so) turn shared when any other process maps them (another
      // Python starting on a busy machine): those move USS and PSS with no change in the tree,
      // which the 5 s bound covers (the outside-sharer test below), not this one.
      assert.equal(r.privateDirty, d.privateDirty, `${step}: Private_Dirty of ${p.role} ${p.pid}`);
      assert.equal(p.rss, d.rss, `${step}: RSS of ${p.role} ${p.pid}`);
      // Anonymous pages can be shared only within the tree (by fork): their PSS is exact. The file
      // pages' PSS moves whenever another process maps or unmaps the same library, even one
      // whose pages stay Shared_Clean: at most by their share.
      assert.equal(r.pssAnon, d.pssAnon, `${step}: Pss_Anon of ${p.role} ${p.pid}`);
      assert.ok(
        Math.abs(p.uss! - d.uss) <= Math.abs(r.privateClean - d.privateClean),
        `${step}: USS of ${p.role} ${p.pid}: ${p.uss} vs ${d.uss}`,
      );
      const outside = Math.abs(r.privateClean - d.privateClean) + Math.max(r.sharedClean, d.sharedClean) / 2;
      assert.ok(Math.abs(p.pss! - d.pss) <= 8192 + outside, `${step}: PSS of ${p.role} ${p.pid}: ${p.pss} vs ${d.pss}`);
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
    const worker = after.processes.find(
      (p) => p.role === 'worker' && p.alive && before.processes.some((b) => b.pid === p.pid),
    )!;
    const was = before.processes.find((p) => p.pid === worker.pid)!;
    // Two workers still share the pages the parent copied: their PSS (1/3 -> 1/2 a page each) moves.
    assert.ok(worker.pss! - was.pss! > 1048576, `the worker's PSS grew by ${worker.pss! - was.pss!} bytes`);
    assert.ok(
      worker.minflt! - was.minflt! < 50,
      'with (almost) no fault of its own: a per-process rule would have missed it',
    );

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

test(`an outside sharer that exits: the tree's figures follow within ${STALE_MS / 1000} s although nothing in the tree moved`, async () => {
  const { root, ussNow, leave, stop } = await outsideSharer();
  const reader = new ProcReader();
  const sampler = new Sampler(reader, new AttachedTree(root.pid!, reader));
  try {
    await sampler.tick();
    await sleep(500);
    const shown = (await sampler.tick()).processes[0].uss!;
    assert.equal(shown, ussNow(), 'the first figures agree with /proc');
    const before = ussNow();
    await leave();
    const after = ussNow();
    assert.ok(after - before >= SHARED_FILE_GROWTH, `the root's USS grew by the file: ${before} -> ${after}`);
    const reusedBefore = sampler.rollups.reusedTicks;
    const caughtUp = await msToCatchUp(() => sampler.tick(), shown, Date.now(), STALE_MS + 2000);
    assert.ok(sampler.rollups.reusedTicks > reusedBefore, 'the tree was quiet: only the bound could catch this');
    assert.ok(
      caughtUp !== null && caughtUp <= STALE_MS + 600,
      `the figure caught up ${caughtUp} ms after the outsider left`,
    );
  } finally {
    stop();
  }
});

test(`RollupCache: a big tree that moves every tick is read in turns, each row within ${BIG_TREE_REFRESH_MS / 1000} s`, () => {
  const c = new RollupCache();
  const value = { ok: true as const, value: {} as never };
  let stats = Array.from({ length: 1000 }, (_, i) => stat({ pid: i + 1, minflt: 0 }));
  c.store(stats, new Map(stats.map((s) => [s.pid, value])), 0);
  const lastRead = new Map(stats.map((s) => [s.pid, 0]));
  let worst = 0;
  // Ticks a few ms early or late, as a loaded machine runs them: the reads must stay in turns.
  const jitter = [0, 3, -2, 5, 1, -4, 2, 0, 6, -1];
  for (let now = 1000, tick = 0; now <= 20_000; tick++, now += 1000 + jitter[tick % jitter.length]) {
    stats = stats.map((s) => ({ ...s, minflt: s.minflt + 1 })); // every process faults every second
    if (tick === 4) stats = [...stats, stat({ pid: 5000 })]; // a new one is read at once
    const plan = c.plan(stats, now, tick ? 1000 + jitter[tick % jitter.length] : 1000);
    assert.equal(plan.all, false);
    const pids = plan.all ? [] : [...plan.pids];
    assert.ok(pids.length <= 520, `${pids.length} read at ${now}`);
    if (tick === 4) assert.ok(pids.includes(5000), 'the new process is read on its first tick');
    for (const pid of pids) lastRead.set(pid, now);
    c.store(stats, new Map(pids.map((p) => [p, value])), now, false);
    for (const [pid, t] of lastRead) if (pid !== 5000 || tick >= 4) worst = Math.max(worst, now - t);
  }
  // Every second tick: 2 s and the jitter of two ticks at most.
  assert.ok(worst <= BIG_TREE_REFRESH_MS + 12, `oldest row ${worst} ms`);
  const small = new RollupCache();
  const few = stats.slice(0, BIG_TREE);
  small.store(few, new Map(few.map((s) => [s.pid, value])), 0);
  assert.equal(
    small.plan(
      few.map((s) => ({ ...s, minflt: s.minflt + 1 })),
      1000,
      1000,
    ).all,
    true,
    'a tree of up to 300 is read whole when it moves',
  );
});
