/**
 * The outside watch: the frames of a process's file pages and their map counts stand in for a
 * rollup read while nothing moves, and a sharer that comes or goes outside the tree is seen.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AttachedTree } from '../src/attach/tree';
import { Experiment } from '../src/experiment/experiment';
import { kernelMovesPrint, parseStat, type ProcStat } from '../src/proc/parse';
import { ProcReader } from '../src/proc/read';
import { countsOf, OutsideWatch, presentFrames, sameCounts, unionOf } from '../src/sample/outside-watch';
import { RollupCache, STALE_MS } from '../src/sample/rollup-cache';
import { Sampler } from '../src/sample/sampler';
import { firstLine, msToCatchUp, outsideSharer, SHARED_FILE_GROWTH, unprivilegedCopy, waitUntil } from './helpers';

const ROOT = process.getuid?.() === 0;
const f64 = (...xs: number[]) => Float64Array.from(xs);

/** One pagemap entry: present (bit 63), swapped (bit 62), frame number in bits 0-54. */
function entry(frame: number, present = true, swapped = false): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(frame % 4294967296, 0);
  b.writeUInt32LE((Math.floor(frame / 4294967296) | (present ? 0x80000000 : 0) | (swapped ? 0x40000000 : 0)) >>> 0, 4);
  return b;
}

test('presentFrames: present pages only, 55-bit frame numbers, ascending and once each', () => {
  const big = 2 ** 40 + 7; // above 32 bits: the high word counts
  const a = Buffer.concat([entry(9), entry(3), entry(0, false), entry(5, false, true), entry(big)]);
  const b = Buffer.concat([entry(3), entry(12)]);
  assert.deepEqual([...presentFrames([a, b])], [3, 9, 12, big]);
  assert.deepEqual([...presentFrames([])], []);
});

test('unionOf, countsOf and sameCounts: a count that moved, or a frame gone from the reading, is a change', () => {
  const u = unionOf([f64(1, 5, 9), f64(5, 7), f64()]);
  assert.deepEqual([...u], [1, 5, 7, 9]);
  const reading = f64(2, 3, 1, 4); // counts of 1, 5, 7, 9
  const mine = f64(5, 9);
  const base = { frames: mine, counts: countsOf(mine, u, reading) };
  assert.deepEqual([...base.counts], [3, 4]);
  assert.equal(sameCounts(base, u, reading), true);
  assert.equal(sameCounts(base, u, f64(2, 3, 1, 5)), false, 'a sharer of frame 9 came or went');
  assert.equal(sameCounts(base, u, f64(9, 3, 9, 4)), true, 'frames that are not its own do not count');
  assert.equal(sameCounts(base, f64(1, 5, 7), f64(2, 3, 1)), false, 'its frame 9 missing from the reading');
});

test('kernelMovesPrint: the counters of what the kernel does to pages on its own, and KSM scans', () => {
  const vmstat = 'nr_free_pages 100\npgmigrate_success 4\nthp_collapse_alloc 2\npswpout 0\npglazyfreed 1\n';
  assert.equal(kernelMovesPrint(vmstat, '7\n'), '4 2 0 - 1 7');
  assert.equal(
    kernelMovesPrint(vmstat.replace('pgmigrate_success 4', 'pgmigrate_success 5'), '7\n') === '4 2 0 - 1 7',
    false,
  );
  assert.equal(kernelMovesPrint('', null), '- - - - - -');
});

const stat = (over: Partial<ProcStat>): ProcStat => ({
  ...parseStat(readFileSync('/proc/self/stat', 'utf8'))!,
  ...over,
});

test(`RollupCache: processes the watch vouches for are not re-read; all are asked about once one is due, within ${STALE_MS / 1000} s`, () => {
  const c = new RollupCache();
  const stats = Array.from({ length: 9 }, (_, i) => stat({ pid: i + 1 }));
  const value = { ok: true as const, value: {} as never };
  c.store(stats, new Map(stats.map((s) => [s.pid, value])), 0);
  const watched = (pid: number) => pid <= 6; // 7 to 9: too small, or no baseline
  const seen = new Map(stats.map((s) => [s.pid, 0]));
  let worst = 0;
  let asks = 0;
  for (let now = 1000; now <= 30_000; now += 1000) {
    const plan = c.plan(stats, now, 1000, watched);
    assert.equal(plan.all, false);
    if (plan.all) continue;
    for (const pid of plan.pids) assert.ok(!watched(pid), `${pid} is vouched for, not read`);
    if (plan.verify.size) {
      asks++;
      assert.deepEqual([...plan.verify].sort(), [1, 2, 3, 4, 5, 6], 'asked about together');
    }
    for (const pid of [...plan.pids, ...plan.verify]) seen.set(pid, now);
    c.store(stats, new Map([...plan.pids].map((p) => [p, value])), now, false, plan.verify);
    for (const t of seen.values()) worst = Math.max(worst, now - t);
  }
  assert.ok(worst <= STALE_MS, `oldest figure ${worst} ms`);
  assert.ok(asks >= 6 && asks <= 8, `${asks} checks in 30 s: about one per ${STALE_MS / 1000} s`);
  assert.equal(c.vouchedReads, asks * 6);
  assert.ok(c.oldestMs(30_000) <= STALE_MS);
  // A tree that moved is read whole: nothing is vouched for.
  assert.equal(
    c.plan([{ ...stats[0], minflt: stats[0].minflt + 1 }, ...stats.slice(1)], 31_000, 1000, watched).all,
    true,
  );
});

test('without CAP_SYS_ADMIN (no kpagecount): the watch stays off and the bound re-reads rollups', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cowtop-nokpage-'));
  try {
    const w = new OutsideWatch(new ProcReader(dir), 0);
    await w.prepare(process.pid);
    assert.equal(w.active, false);
    assert.equal(w.eligible(stat({ pid: process.pid, rssPages: 1 << 20 })), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('as nobody, /proc/kpagecount is closed: the reader says so instead of reading zeros', {
  skip: !ROOT && 'needs root to become nobody',
}, () => {
  // From a copy nobody can read: the checkout may sit under a private directory.
  const code = `const { ProcReader } = require(${JSON.stringify(join(unprivilegedCopy(), 'dist/src/proc/read.js'))}); new ProcReader().kpagecount([0]).then((r) => console.log(r === null ? 'null' : 'read'))`;
  const r = spawnSync(
    'setpriv',
    ['--reuid=65534', '--regid=65534', '--clear-groups', '--', process.execPath, '-e', code],
    { encoding: 'utf8' },
  );
  assert.equal(r.stdout.trim(), 'null', r.stderr);
});

test('the watch vouches for a quiet process only while its rollup stays the same, and sees an outside sharer of its file pages leave', {
  skip: !ROOT && 'frame numbers and kpagecount need root',
}, async () => {
  const { root, leave, stop } = await outsideSharer();
  const pid = root.pid!;
  const reader = new ProcReader();
  const w = new OutsideWatch(reader, 0);
  const rollup = async () => {
    const r = await reader.smapsRollup(pid);
    assert.ok(r.ok);
    return r.value;
  };
  try {
    await w.prepare(pid);
    assert.equal(w.active, true, "the root exec'd: its anonymous pages are its own");
    // A baseline around a read, a second read, then a check. Whether the check vouches depends on
    // the machine: a process mapping or unmapping a page of the root's libraries (one starting or
    // ending, or calling into a part of libc it had not used) moves the counts, and the watch
    // rightly says changed. What must hold: whenever it vouches, the rollup did not move.
    let vouched = 0;
    const end = Date.now() + 20_000;
    while (vouched < 3 && Date.now() < end) {
      const first = await w.around([pid], rollup);
      if (!w.has(pid)) continue;
      const second = await rollup();
      if ((await w.changed([pid])).size) continue;
      vouched++;
      assert.deepEqual(second, first, 'the watch vouched for a rollup that had moved');
    }
    assert.ok(vouched > 0, 'the watch never vouched in 20 s');
    await waitUntil(
      async () => {
        await w.around([pid], rollup);
        return w.has(pid);
      },
      10_000,
      'a baseline',
    );
    await leave();
    assert.deepEqual([...(await w.changed([pid]))], [pid], "the file's frames lost a sharer");
    assert.equal(w.has(pid), false, 'the baseline is dropped: the next read takes a new one');
  } finally {
    stop();
  }
});

test(`a sampler with the watch: a quiet process is re-read only when a check says so, and an outside sharer's exit shows within ${STALE_MS / 1000} s`, {
  skip: !ROOT && 'frame numbers and kpagecount need root',
}, async () => {
  const { root, ussNow, leave, stop } = await outsideSharer();
  const reader = new ProcReader();
  const sampler = new Sampler(reader, new AttachedTree(root.pid!, reader), { watchMinRss: 0 });
  try {
    await sampler.tick();
    // A baseline: from now on only a check of the watch re-reads this rollup. (Whether a check
    // vouches depends on the machine: any process starting elsewhere moves libc's counts.)
    await waitUntil(
      async () => {
        await sampler.tick();
        return sampler.watch.has(root.pid!);
      },
      20_000,
      'a baseline',
    );
    const shown = sampler.previous!.processes[0].uss!;
    assert.equal(shown, ussNow(), 'the figures agree with /proc');
    const before = ussNow();
    await leave();
    assert.ok(ussNow() - before >= SHARED_FILE_GROWTH, "the root's USS grew by the file");
    const checks = sampler.watch.checks;
    const caughtUp = await msToCatchUp(() => sampler.tick(), shown, Date.now(), STALE_MS + 2000);
    const stats = {
      checks: sampler.watch.checks - checks,
      vouched: sampler.watch.vouched,
      captures: sampler.watch.captures,
      shown: sampler.previous!.processes[0].uss,
      proc: ussNow(),
      before,
    };
    assert.ok(
      caughtUp !== null && caughtUp <= STALE_MS + 600,
      `the figure caught up ${caughtUp} ms after the outsider left: ${JSON.stringify(stats)}`,
    );
    assert.ok(sampler.watch.checks > checks, 'a check of the watch, not a round-robin read, found it');
  } finally {
    stop();
  }
});

test("a member that leaves the tree alive as a fork of its memory stops the watch; one that exec'd does not", {
  skip: !ROOT && 'frame numbers and kpagecount need root',
}, async () => {
  // The root forks two children; each forks a grandchild: one exec's sleep, one stays a fork.
  // Killing a child re-parents its grandchild out of the tree.
  const code = [
    'import os, sys, time',
    'def child(execs):',
    '    a = os.fork()',
    '    if a: return a',
    '    b = os.fork()',
    '    if b == 0:',
    '        if execs: os.execvp("sleep", ["sleep", "120"])',
    '        time.sleep(120); os._exit(0)',
    '    time.sleep(120); os._exit(0)',
    'print(child(True), child(False), flush=True)',
    'time.sleep(120)',
  ].join('\n');
  const p = spawn('python3', ['-c', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const kids = (await firstLine(p.stdout!)).trim().split(' ').map(Number);
  const reader = new ProcReader();
  const sampler = new Sampler(reader, new AttachedTree(p.pid!, reader), { watchMinRss: 0 });
  const grandchildren: number[] = [];
  try {
    await waitUntil(
      async () => (await sampler.tick()).processes.filter((x) => x.alive).length === 5,
      10_000,
      'the tree of five',
    );
    for (const x of sampler.previous!.processes) if (x.ppid != null && kids.includes(x.ppid)) grandchildren.push(x.pid);
    assert.equal(sampler.watch.active, true);
    const comm = (pid: number) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    await waitUntil(() => grandchildren.some((g) => comm(g) === 'sleep'), 10_000, 'the exec');
    process.kill(kids[0], 'SIGKILL'); // its grandchild exec'd sleep: nothing of the tree's memory leaves
    await waitUntil(
      async () => (await sampler.tick()).processes.filter((x) => x.alive).length === 3,
      10_000,
      'two left',
    );
    assert.equal(sampler.watch.active, true, "an exec'd process shares no anonymous page with the tree");
    process.kill(kids[1], 'SIGKILL'); // its grandchild is a fork of the root's memory
    await waitUntil(
      async () => (await sampler.tick()).processes.filter((x) => x.alive).length === 1,
      10_000,
      'two more left',
    );
    assert.equal(
      sampler.watch.active,
      false,
      'a fork of the tree lives on outside it: the bound re-reads rollups again',
    );
  } finally {
    p.kill('SIGKILL');
    for (const g of grandchildren) {
      try {
        process.kill(g, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
});

test('the read that finds every worker the experiment asked for takes the baselines; without that count, a read while processes join takes none', {
  skip: !ROOT && 'frame numbers and kpagecount need root',
}, async () => {
  // Processes still joining (a fork phase: more may come) would pay ~4 ms each a tick for
  // baselines the next join drops. Once the tree holds what the experiment asked for, the full
  // read takes them, and the 5 s bound need not read every rollup again to take them.
  const e = new Experiment({
    python: 'python3',
    size: 100000,
    workers: 2,
    freeze: true,
    workload: 'idle',
    collectEvery: 5,
    interval: 60_000,
  });
  // What each sampler asks the watch to take around its read. Whether the watch keeps a baseline
  // is its own test's: it drops one whose counts moved during the read (a worker still starting,
  // or another test's Python mapping libpython), which a clean-clone run here saw.
  const asked = (s: Sampler): number[] => {
    const pids: number[] = [];
    const around = s.watch.around.bind(s.watch);
    s.watch.around = (ps, read) => {
      pids.push(...ps);
      return around(ps, read);
    };
    return pids;
  };
  const told = new Sampler(new ProcReader(), e, { watchMinRss: 0 });
  // The same tree as an attached one sees it: no count of the workers to come.
  const blind = new Sampler(
    new ProcReader(),
    new Proxy(e, { get: (t, k) => (k === 'expectedWorkers' ? undefined : Reflect.get(t, k)) }),
    { watchMinRss: 0 },
  );
  const toldAsked = asked(told);
  const blindAsked = asked(blind);
  try {
    await e.ready;
    await waitUntil(() => e.workers.size === 2, 20_000, 'the fork reports');
    const pids = [e.pid, ...e.workers.keys()].sort();
    const seen = (await told.tick()).processes.filter((p) => p.alive).map((p) => p.pid);
    assert.deepEqual(seen.sort(), pids, 'one read found the whole tree');
    assert.ok(told.watch.active, 'the watch is on (root)');
    assert.deepEqual([...toldAsked].sort(), pids, 'baselines asked for every process, by the read that found them all');
    await blind.tick();
    assert.deepEqual(blindAsked, [], 'none while processes join');
  } finally {
    await e.stop();
  }
});
