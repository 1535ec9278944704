/**
 * The real Python, the real /proc: the experiment does what the domain notes say, and what
 * cowtop reports equals what the kernel says.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Experiment } from '../src/experiment/experiment';
import type { Report } from '../src/experiment/protocol';
import { parseSmapsRollup, parseStat } from '../src/proc/parse';
import { ProcReader } from '../src/proc/read';
import { Sampler } from '../src/sample/sampler';
import type { CompareResult } from '../src/measure/compare';
import { alive, BIN, experimentPids, finished, ROOT, runCli, waitUntil } from './helpers';

const PAGE = 4096;
const base = { python: process.env.COWTOP_PYTHON || 'python3', collectEvery: 5, interval: 200, workload: 'idle' };

async function started(e: Experiment, workers: number): Promise<void> {
  await e.ready;
  await waitUntil(
    () => e.workers.size === workers && [...e.workers.keys()].every((p) => e.gc.has(p)),
    30_000,
    'workers running',
  );
}

test('compare: a collection copies the heap into each unfrozen worker; freeze prevents it', async () => {
  const r = await runCli(['compare', '--size', '200000', '--workers', '2', '--format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout) as CompareResult;
  assert.equal(res.type, 'compare');
  assert.equal(res.size, 200000);
  assert.equal(res.runs.length, 2);
  const [off, on] = res.runs;
  assert.equal(off.freeze, false);
  assert.equal(on.freeze, true);
  assert.equal(off.workers.length, 2);
  const offGrowth = off.workers.map((w) => w.ussAfter - w.ussBefore);
  for (const [i, w] of off.workers.entries()) {
    assert.ok(offGrowth[i] >= res.heapBytes / 2, `worker ${w.pid} grew ${offGrowth[i]}, heap ${res.heapBytes}`);
    // Each copy-on-write break is one minor fault of one page.
    const byFaults = w.minfltDelta * PAGE;
    assert.ok(
      Math.abs(byFaults - offGrowth[i]) <= 0.3 * offGrowth[i],
      `faults x page ${byFaults} vs growth ${offGrowth[i]}`,
    );
    assert.ok(w.gcSeconds > 0);
  }
  const meanOff = offGrowth.reduce((a, b) => a + b) / offGrowth.length;
  for (const w of on.workers)
    assert.ok(w.ussAfter - w.ussBefore < 0.05 * meanOff, `frozen worker grew ${w.ussAfter - w.ussBefore}`);
  assert.ok(res.reduction! > 0.95 && res.reduction! <= 1, `reduction ${res.reduction}`);
  // Page by page (pagemap): the pages copied are the USS growth, most of the heap unfrozen, almost none frozen.
  for (const [i, w] of off.workers.entries()) {
    assert.ok(
      Math.abs(w.copied! - offGrowth[i]) <= 0.05 * offGrowth[i],
      `copied ${w.copied} vs USS growth ${offGrowth[i]}`,
    );
    assert.ok(w.copied! >= 0.6 * res.heapBytes, `copied ${w.copied} of a ${res.heapBytes} heap`);
  }
  for (const w of on.workers) assert.ok(w.copied! < 0.01 * res.heapBytes, `frozen worker copied ${w.copied}`);
  for (const w of [...off.workers, ...on.workers]) assert.equal(alive(w.pid), false, `worker ${w.pid} still running`);
  assert.deepEqual(experimentPids(), []);
});

test('compare prints the table a person reads, with the reduction', async () => {
  const r = await runCli(['compare', '--size', '100000', '--workers', '1']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /without freeze\s+with gc\.freeze\(\)/);
  assert.match(r.stdout, /USS after gc: [\d.]+ MiB -> [\d.]+ (MiB|KiB) per worker, -\d+\.\d%/);
  assert.match(r.stdout, /Memory copied by the collection: .* -9\d\.\d%/);
  assert.match(
    r.stdout,
    /Pages copied from the parent during the pass \(pagemap, page by page\): [\d.]+ MiB -> [\d.]+ \S+ per worker/,
  );
  assert.match(
    r.stdout,
    /^cowtop compare: CPython [\d.]+, 100,000 records \(200,000 gc-tracked objects\), heap [\d.]+ MiB, 1 worker, one gc\.collect\(\) in each$/m,
    'one worker, not "1 workers"; records, and the objects they make',
  );
  assert.match(r.stdout, /^modules imported before fork: json, email/m);
  assert.deepEqual(experimentPids(), []);
});

test("compare --workload write measures that workload's pass: freeze or not, every page is copied", async () => {
  const r = await runCli(['compare', '--size', '100000', '--workers', '1', '--workload', 'write', '--format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.workload, 'write');
  const growth = (run: any): number => run.workers[0].ussAfter - run.workers[0].ussBefore;
  assert.equal(out.runs.length, 2);
  for (const run of out.runs)
    assert.ok(growth(run) > 0.5 * out.heapBytes, `freeze=${run.freeze}: ${growth(run)} of ${out.heapBytes}`);
  assert.ok(out.reduction < 0.1, 'freeze does not help a workload that writes');
});

test('sampler figures equal a direct read of smaps_rollup and stat, per process', async () => {
  const e = new Experiment({ ...base, size: 100000, workers: 2, freeze: false });
  try {
    await started(e, 2);
    const sampler = new Sampler(new ProcReader(), e);
    await sampler.tick();
    const direct = (pid: number) => parseSmapsRollup(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))!;
    const pids = [e.pid, ...e.workers.keys()];
    const before = new Map(pids.map((p) => [p, direct(p)]));
    const snap = await sampler.tick();
    const after = new Map(pids.map((p) => [p, direct(p)]));
    assert.deepEqual(snap.processes.map((p) => p.pid).sort(), [...pids].sort(), 'the parent and exactly its workers');
    const children = readFileSync(`/proc/${e.pid}/task/${e.pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number)
      .sort();
    assert.deepEqual(
      snap.processes
        .filter((p) => p.role === 'worker')
        .map((p) => p.pid)
        .sort(),
      children,
    );
    for (const p of snap.processes) {
      const b = before.get(p.pid)!;
      const a = after.get(p.pid)!;
      for (const key of ['uss', 'pss', 'rss'] as const) {
        // A file page's PSS moves whenever another process maps the same library (another test
        // file's Python starting): by at most half a page each, over the pages shared clean.
        const slack = key === 'pss' ? Math.max(b.sharedClean, a.sharedClean) / 2 : 0;
        const lo = Math.min(b[key], a[key]) - PAGE - slack;
        const hi = Math.max(b[key], a[key]) + PAGE + slack;
        assert.ok(p[key]! >= lo && p[key]! <= hi, `${key} of ${p.role} ${p.pid}: ${p[key]} not in [${lo}, ${hi}]`);
      }
      // Anonymous pages are shared only within the tree (by fork): their PSS has no such slack.
      const lo = Math.min(b.pssAnon!, a.pssAnon!) - PAGE;
      const hi = Math.max(b.pssAnon!, a.pssAnon!) + PAGE;
      assert.ok(
        p.rollup!.pssAnon! >= lo && p.rollup!.pssAnon! <= hi,
        `Pss_Anon of ${p.role} ${p.pid}: ${p.rollup!.pssAnon} not in [${lo}, ${hi}]`,
      );
      const stat = readFileSync(`/proc/${p.pid}/stat`, 'utf8').split(') ')[1].split(' ');
      assert.ok(p.minflt! <= Number(stat[7]) && p.minflt! >= Number(stat[7]) - 200, 'minflt from stat');
      assert.ok(p.gc, `gc state for ${p.pid}`);
      assert.equal(p.gc!.counts!.length, 3);
      assert.equal(p.gc!.stats!.length, 3);
    }
    assert.equal(
      snap.totals.uss,
      snap.processes.reduce((a, p) => a + p.uss!, 0),
    );
    // A collection shows up as faults in the next snapshot, and in the gc stats.
    const collected = new Set<number>();
    const done = e.waitFor((r: Report) => r.type === 'collected' && collected.add(r.pid).size === 2, 30_000);
    e.send({ cmd: 'collect' });
    await done;
    await waitUntil(
      () => [...e.workers.keys()].every((p) => (e.gc.get(p)?.stats?.[2].collections ?? 0) >= 1),
      5000,
      'gc stats after collect',
    );
    const later = await sampler.tick();
    for (const w of later.processes.filter((p) => p.role === 'worker')) {
      assert.ok(w.minfltDelta! > 1000, `minfltDelta ${w.minfltDelta}`);
      assert.ok(w.ussGrowth! > 10 * 1048576, `ussGrowth ${w.ussGrowth}`);
      assert.ok(w.gc!.stats![2].collections >= 1);
      assert.equal(w.lastCollection?.generation, 2);
    }
  } finally {
    await e.stop();
  }
  assert.deepEqual(experimentPids(), []);
});

test('re-fork with freeze replaces the workers without rebuilding the heap, in well under a second', async () => {
  const e = new Experiment({ ...base, size: 1_000_000, workers: 4, freeze: false });
  try {
    await started(e, 4);
    const old = [...e.workers.keys()];
    const t0 = Date.now();
    const reforked = e.waitFor((r: Report) => r.type === 'refork', 10_000);
    e.send({ cmd: 'refork', freeze: true });
    const r = (await reforked) as Extract<Report, { type: 'refork' }>;
    const ms = Date.now() - t0;
    assert.ok(r.seconds < 0.5, `re-fork took ${r.seconds} s in Python`);
    assert.ok(ms < 1000, `re-fork took ${ms} ms end to end`);
    assert.equal(r.freeze, true);
    assert.equal(r.workers.length, 4);
    for (const p of r.workers) assert.ok(!old.includes(p));
    for (const p of old) assert.equal(alive(p), false);
    await waitUntil(() => r.workers.every((p) => e.gc.has(p)), 5000, 'new workers report');
    for (const p of r.workers) assert.ok(e.gc.get(p)!.frozen! >= 2_000_000, 'records and their lists are frozen');
    for (const p of old)
      assert.ok(!e.workers.has(p) && !e.exits.has(p), 'replaced workers leave the table at the next fork');
    // Worker count changes without a re-fork.
    const scaled = e.waitFor((x: Report) => x.type === 'scale', 10_000);
    e.send({ cmd: 'scale', workers: 2 });
    assert.equal(((await scaled) as Extract<Report, { type: 'scale' }>).workers.length, 2);
    // And back without freeze: the count the workers report (kept, not walked: report.FrozenCount)
    // is the parent's after its gc.unfreeze(), Python's own 0.
    const unfrozen = e.waitFor((x: Report) => x.type === 'refork', 10_000);
    e.send({ cmd: 'refork', freeze: false });
    const u = (await unfrozen) as Extract<Report, { type: 'refork' }>;
    await waitUntil(() => u.workers.every((p) => e.gc.has(p)), 5000, 'the unfrozen workers report');
    for (const p of u.workers) assert.equal(e.gc.get(p)!.frozen, 0, `worker ${p} after gc.unfreeze()`);
  } finally {
    await e.stop();
  }
  assert.deepEqual(experimentPids(), []);
});

test('CPU% comes from stat utime + stime over the interval', async () => {
  const e = new Experiment({
    ...base,
    size: 200000,
    workers: 1,
    freeze: false,
    workload: 'collect',
    collectEvery: 0.2,
  });
  try {
    await started(e, 1);
    const sampler = new Sampler(new ProcReader(), e);
    const worker = [...e.workers.keys()][0];
    const ticks = (): number => {
      const f = readFileSync(`/proc/${worker}/stat`, 'utf8').split(') ')[1].split(' ');
      return Number(f[11]) + Number(f[12]);
    };
    await sampler.tick();
    const t0 = ticks();
    const w0 = Date.now();
    await new Promise((r) => setTimeout(r, 1500));
    const snap = await sampler.tick();
    const expected = (((ticks() - t0) / 100) * 100) / ((Date.now() - w0) / 1000);
    const cpu = snap.processes.find((p) => p.pid === worker)!.cpu!;
    assert.ok(cpu > 5, `a collecting worker uses CPU: ${cpu}%`);
    assert.ok(Math.abs(cpu - expected) < 15, `cpu ${cpu}% vs stat ${expected}%`);
  } finally {
    await e.stop();
  }
});

test('the experiment runs niced, and so does its scheduler autogroup where the kernel has them (else 8 collecting workers weigh as much as cowtop)', async () => {
  const e = new Experiment({ ...base, size: 20000, workers: 1, freeze: false });
  try {
    await started(e, 1);
    const nice = (pid: number | 'self') =>
      Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[16]);
    const [worker] = e.workers.keys();
    assert.equal(nice(e.pid), Math.max(10, nice('self')), 'the parent');
    assert.equal(nice(worker), nice(e.pid), 'its worker, by inheritance');
    if (
      existsSync('/proc/self/autogroup') &&
      readFileSync('/proc/sys/kernel/sched_autogroup_enabled', 'utf8').trim() === '1'
    ) {
      const group = readFileSync(`/proc/${e.pid}/autogroup`, 'utf8');
      assert.match(group, /nice 10$/m, 'its own session is its own autogroup: niced as a whole');
      assert.notEqual(group.split(' ')[0], readFileSync('/proc/self/autogroup', 'utf8').split(' ')[0]);
      assert.equal(readFileSync(`/proc/${worker}/autogroup`, 'utf8'), group, 'the workers are in it');
    }
  } finally {
    await e.stop();
  }
});

test('a command sent while the memory guard holds the build is run once the workers are forked, without waiting for another', async () => {
  const e = new Experiment({ ...base, size: 20000, workers: 1, freeze: false, guard: true });
  try {
    await e.measured;
    // A key pressed during the start: it reaches the experiment before the build command.
    e.send({ cmd: 'scale', workers: 2 });
    e.send({ cmd: 'build' });
    await started(e, 2);
  } finally {
    await e.stop();
  }
  assert.deepEqual(experimentPids(), []);
});

test('after a fork the experiment settles its loops at once, then an idle frozen tree copies no page', async (t) => {
  // CPython 3.11+ specializes code after a few runs, writing into code objects, dicts and types
  // shared with the parent; the allocators' first reuses after fork write into shared pages too.
  // The experiment does both before its loops run at their pace (parent.py, warm_up), so a fault
  // after that is the workload's or the collector's, never the reports'. Here there is neither:
  // any minor fault in the window below is the experiment's own, and would make cowtop read
  // every process of the tree again. That includes the kernel's: the first time a process moves
  // to another CPU after the fork, the kernel writes the CPU into its rseq area (glibc 2.35+),
  // a fault on that page; it came in ~1 run of 4 on 2 cores, so each process moves once at its
  // start (signals.py, move_across_cpus).
  const SETTLE = 16; // worker.py SETTLE_TURNS: the first turns after a fork run at once, a report each
  const WINDOW = 16; // turns at their pace after those: code that only they run shows in the first
  const interval = 500;
  const e = new Experiment({ ...base, interval, size: 100_000, workers: 2, freeze: true });
  const stat = (pid: number) => parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'))!;
  // A report arrives while its process may still run the rest of that turn (a busy machine
  // deschedules it right after the write): the window starts once it sleeps in its paced wait,
  // the first time it blocks after the settling turns, which never do.
  const asleep = async (pid: number): Promise<number> => {
    const until = Date.now() + 5000;
    for (;;) {
      const st = stat(pid);
      if (st.state === 'S') return st.minflt;
      if (Date.now() > until) throw new Error(`process ${pid} never slept after settling (state ${st.state})`);
      await new Promise((r) => setTimeout(r, 1)); // not a spin: the process waited for shares these 2 cores
    }
  };
  const seen = new Map<
    number,
    { reports: number; first: number; settledMs?: number; before?: Promise<number>; after?: number }
  >();
  e.on('report', (r: Report) => {
    if (r.type !== 'gc') return;
    const p = seen.get(r.pid) ?? { reports: 0, first: Date.now() };
    seen.set(r.pid, p);
    p.reports += 1;
    // The next turn at their pace is 500 ms away.
    if (p.reports === SETTLE) {
      p.before = asleep(r.pid);
      p.before.catch(() => {}); // awaited below
      p.settledMs = Date.now() - p.first;
    }
    if (p.reports === SETTLE + WINDOW) p.after = stat(r.pid).minflt;
  });
  try {
    if ((await e.ready).implementation !== 'CPython') {
      t.skip('PyPy has no gc.freeze(), and its own collector moves what the reports allocate into older pages');
      return;
    }
    await started(e, 2);
    const pids = [e.pid, ...e.workers.keys()];
    await waitUntil(() => pids.every((p) => seen.get(p)?.after !== undefined), 30_000, 'the window of every process');
    for (const pid of pids) {
      const p = seen.get(pid)!;
      const who = `process ${pid} (${pid === e.pid ? 'parent' : 'worker'})`;
      // At their pace the settling turns take 7.5 s; at once a few ms, a second or two when starved.
      assert.ok(p.settledMs! < ((SETTLE - 1) * interval) / 2, `${who}: the settling turns took ${p.settledMs} ms`);
      assert.equal(p.after! - (await p.before!), 0, `${who} faulted after settling`);
    }
  } finally {
    await e.stop();
  }
});

test("the frozen count: the experiment's is refreshed by its own freeze and unfreeze; elsewhere it is walked again within 5 s", () => {
  // gc.get_freeze_count() walks the permanent generation (32 ms for 4,000,000 objects): read at
  // every report it cost each worker ~0.5 s after a fork. report.FrozenCount reads it when it can
  // have changed. Run by the real CPython, with small bounds so that the test is quick.
  const script = `
import gc, json, sys, time
sys.path.insert(0, sys.argv[1])
from cowtop_experiment.gc_state import FrozenCount
keep = [[] for _ in range(100000)]
out = {}
f = FrozenCount()
f.MAX_AGE, f.COST_FACTOR = 0.3, 1e9  # the age bound alone
out["before"] = f.get()
gc.freeze()
out["stale"] = f.get()
start = time.monotonic()
while f.get() == out["before"] and time.monotonic() - start < 10:
    pass
out["freshAfter"] = time.monotonic() - start
out["fresh"], out["real"] = f.get(), gc.get_freeze_count()
c = FrozenCount()
c.MAX_AGE, c.COST_FACTOR = 1e9, 0  # the cost bound alone: 0 times a walk, so every read walks
c.get()
gc.unfreeze()
out["costWalked"] = c.get()
k = FrozenCount()
k.MAX_AGE, k.COST_FACTOR = 1e9, 1e9  # neither bound: only changed() makes it read again
k.get()
gc.freeze()
out["keptStale"] = k.get()
k.changed()  # what the agent calls after its own gc.freeze()
out["afterChanged"], out["realAgain"] = k.get(), gc.get_freeze_count()
gc.unfreeze()
e = FrozenCount()
e.exact = True
gc.freeze()
e.refresh()
gc.unfreeze()
time.sleep(0.4)
out["exactKept"] = e.get()  # the owner refreshes it: never walked on its own
e.refresh()
out["exactRefreshed"] = e.get()
print(json.dumps(out))
`;
  const r = spawnSync('python3', ['-c', script, join(ROOT, 'python')], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.before, 0);
  assert.equal(out.stale, 0, 'read again only when older than its bound');
  assert.ok(out.real >= 100_000, `frozen ${out.real}`);
  assert.equal(out.fresh, out.real, 'then the real count');
  assert.ok(out.freshAfter < 5, `${out.freshAfter} s to see gc.freeze()`);
  assert.equal(out.costWalked, 0, 'the cost bound alone walks again');
  assert.equal(out.keptStale, 0);
  assert.ok(out.realAgain >= 100_000);
  assert.equal(out.afterChanged, out.realAgain, 'changed(): read again at once');
  assert.ok(out.exactKept >= 100_000, 'exact: what the owner refreshed, though it unfroze since');
  assert.equal(out.exactRefreshed, 0);
});

// `python3` is the user's: the experiment runs from its own directory (so the user's files
// cannot shadow the standard library), and pyenv is told the user's (PYENV_DIR), so that its
// shim picks the interpreter for that directory, as `python3` typed there would.
const PYENV_ROOT = process.env.PYENV_ROOT ?? join(process.env.HOME ?? '/root', '.pyenv');
const SHIM = join(PYENV_ROOT, 'shims', 'python3');
/** A pyenv version the experiment can run that is not the one pyenv picks with no local file. */
function otherPyenvVersion(): string | null {
  if (!existsSync(SHIM)) return null;
  const env = { ...process.env, PYENV_VERSION: undefined };
  const usual = spawnSync(SHIM, ['-c', 'import platform; print(platform.python_version())'], {
    cwd: '/',
    env,
    encoding: 'utf8',
    timeout: 30_000,
  }).stdout.trim();
  const versions = existsSync(join(PYENV_ROOT, 'versions')) ? readdirSync(join(PYENV_ROOT, 'versions')) : [];
  return (
    versions.find(
      (v) =>
        /^3\.(?:[7-9]|\d\d)\.\d+$/.test(v) &&
        v !== usual &&
        existsSync(join(PYENV_ROOT, 'versions', v, 'bin', 'python3')),
    ) ?? null
  );
}
const OTHER = otherPyenvVersion();

test("pyenv's .python-version in the user's directory picks python3 for the experiment, and that directory's json.py shadows nothing", {
  skip: OTHER ? false : `no pyenv shim and second version under ${PYENV_ROOT}`,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cowtop-cwd-'));
  try {
    writeFileSync(join(dir, '.python-version'), `${OTHER}\n`);
    for (const m of ['json', 'gc', 'signal'])
      writeFileSync(join(dir, `${m}.py`), 'raise SystemExit("the user\'s file was imported")\n');
    const env = {
      ...process.env,
      PATH: `${dirname(SHIM)}:${process.env.PATH}`,
      PYENV_VERSION: undefined,
      COWTOP_PYTHON: undefined,
    };
    const r = await finished(
      spawn(process.execPath, [BIN, '--batch', '--size', '20000', '--workers', '1', '--duration', '1'], {
        cwd: dir,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
      60_000,
    );
    assert.equal(r.code, 0, r.stderr);
    const ready = r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .find((x) => x.kind === 'ready');
    assert.equal(ready?.version, OTHER, 'the version pyenv picks in that directory');
    assert.doesNotMatch(r.stdout + r.stderr, /the user's file was imported/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the experiment runs with PYTHONSAFEPATH=1 (Python 3.11+ then puts no working directory on sys.path)', async (t) => {
  const v = spawnSync(base.python, ['-c', 'import sys; print(sys.version_info >= (3, 11))'], {
    encoding: 'utf8',
  }).stdout.trim();
  if (v !== 'True') return t.skip(`${base.python} is older than 3.11`);
  const r = await runCli(
    ['--batch', '--size', '20000', '--workers', '1', '--duration', '1'],
    { PYTHONSAFEPATH: '1' },
    60_000,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /"kind":"ready"/);
});
