/** --python pypy3 (Debian's pypy3, installed by .ci/run) works end to end: no gc.freeze, gc.hooks. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { collectLines, experimentPids, finished, runCli, startCli } from './helpers';
import { runInPty } from './pty';

const PYPY = '/usr/bin/pypy3';

test('batch under PyPy: collections counted from gc.hooks, freeze reported unavailable', async () => {
  assert.ok(existsSync(PYPY), 'pypy3 is missing: apt-get install pypy3 (.ci/run does)');
  // Until the workers have collected, not for a fixed time: a worker's first major collection
  // takes ~1 s here, and on a busy machine (the other test files) much longer.
  const c = startCli([
    '--batch',
    '--python',
    PYPY,
    '--size',
    '200000',
    '--workers',
    '2',
    '--workload',
    'collect',
    '--collect-every',
    '1',
    '--interval',
    '500',
  ]);
  const done = finished(c, 90_000);
  const majorsOf = (rs: any[]) => rs.filter((x) => x.kind === 'collect' && x.generation === 2);
  const workersOf = (rs: any[]) =>
    (rs.filter((x) => x.type === 'sample').pop()?.processes ?? []).filter((p: any) => p.role === 'worker');
  let recs: any[];
  try {
    recs = await collectLines(
      c,
      (rs) =>
        majorsOf(rs).length >= 4 &&
        workersOf(rs).length === 2 &&
        workersOf(rs).every((w: any) => w.gc?.pypy?.major >= 2),
      60_000,
    );
  } finally {
    c.kill('SIGTERM');
  }
  const r = await done;
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  const ready = recs.find((x) => x.kind === 'ready');
  assert.equal(ready.implementation, 'PyPy');
  assert.equal(ready.freezeSupported, false);
  const majors = majorsOf(recs);
  assert.ok(
    majors.every((m) => typeof m.duration === 'number' && m.duration >= 0),
    'durations from the collection steps',
  );
  for (const w of workersOf(recs)) {
    assert.ok(w.gc.pypy.minor >= 1);
    assert.ok(w.gc.pypy.gcMemory > 1_000_000, 'memory from gc.get_stats()');
    // A major collection marks every old object: the shared heap is copied.
    assert.ok(w.ussGrowth > 10 * 1048576, `USS growth ${w.ussGrowth}`);
  }
  assert.deepEqual(experimentPids(), []);
});

test('compare under PyPy: one run, and the table says why there is no second', async () => {
  const r = await runCli(['compare', '--python', PYPY, '--size', '100000', '--workers', '1']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /PyPy 3\.\d+\.\d+, 100,000 records \(200,000 gc-tracked objects\)/);
  assert.match(r.stdout, /gc\.freeze\(\) unavailable in this interpreter/);
  assert.match(r.stdout, /PyPy has no gc\.freeze\(\)/);
  const j = await runCli(['compare', '--python', PYPY, '--size', '100000', '--workers', '1', '--format', 'json']);
  const res = JSON.parse(j.stdout);
  assert.equal(res.runs.length, 1);
  assert.equal(res.reduction, null);
});

test('dashboard under PyPy: the freeze key says why it does nothing', async () => {
  const run = runInPty(['--python', PYPY, '--size', '50000', '--workers', '1', '--interval', '300'], {
    cols: 100,
    rows: 30,
  });
  try {
    await run.waitFor(/NO gc\.freeze\(\)/, 30_000);
    await run.waitFor(/worker 1\s+\d+\s+[\d.]+/, 30_000);
    assert.doesNotMatch(run.screen()[29], /f freeze/, 'the footer leaves out what does not work');
    run.press('f');
    await run.waitFor(/f: gc\.freeze\(\) is not available in PyPy 3\.\d+/, 3000);
  } finally {
    run.press('q');
    await run.exited;
  }
  assert.deepEqual(experimentPids(), []);
});
