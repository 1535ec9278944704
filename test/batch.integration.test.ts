/** `cowtop --batch` run for real: its records, its formats, and that it never leaves a process. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Experiment } from '../src/experiment/experiment';
import { ProcReader } from '../src/proc/read';
import { Sampler } from '../src/sample/sampler';
import { alive, collectLines, experimentPids, finished, runCli, startCli, waitUntil } from './helpers';

const SMALL = ['--size', '50000', '--workers', '2', '--interval', '200'];

test('--batch --duration 3: JSON samples and events, then exit 0 with nothing left', async () => {
  const t0 = Date.now();
  const r = await runCli(['--batch', '--duration', '3', ...SMALL]);
  assert.equal(r.code, 0, r.stderr);
  const records = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const samples = records.filter((x) => x.type === 'sample');
  const events = records.filter((x) => x.type === 'event');
  assert.ok(samples.length >= 10 && samples.length <= 17, `${samples.length} samples at 200 ms for 3 s`);
  const ready = events.find((x) => x.kind === 'ready');
  assert.equal(ready.size, 50000);
  const forks = events.filter((x) => x.kind === 'fork');
  assert.equal(forks.length, 2);
  const last = samples[samples.length - 1];
  assert.equal(last.freeze, false);
  const parent = last.processes.find((p: any) => p.role === 'parent');
  assert.equal(parent.pid, ready.pid);
  assert.deepEqual(
    last.processes
      .filter((p: any) => p.role === 'worker')
      .map((p: any) => p.pid)
      .sort(),
    forks.map((f) => f.pid).sort(),
  );
  for (const p of last.processes) {
    for (const k of ['pid', 'rss', 'pss', 'uss', 'swap', 'minflt', 'majflt', 'minfltDelta', 'majfltDelta'])
      assert.equal(typeof p[k], 'number', `${k} of ${p.role}`);
    assert.ok(p.minfltDelta >= 0 && p.majfltDelta >= 0);
    assert.ok(p.uss <= p.pss && p.pss <= p.rss, 'USS <= PSS <= RSS');
    assert.deepEqual(Object.keys(p.gc).slice(0, 4), ['counts', 'collections', 'collected', 'uncollectable']);
    assert.equal(typeof p.gc.frozen, 'number');
  }
  for (let i = 1; i < samples.length; i++) assert.ok(samples[i].t > samples[i - 1].t);
  // One clock for samples and events (ms since cowtop started), and the wall clock beside it:
  // every record's time minus its t is the same start, give or take the rounding.
  const starts = records.map((x) => Date.parse(x.time) - x.t);
  assert.ok(
    Math.max(...starts) - Math.min(...starts) <= 2,
    `t and time disagree by ${Math.max(...starts) - Math.min(...starts)} ms`,
  );
  for (let i = 1; i < records.length; i++)
    assert.ok(records[i].t >= records[i - 1].t - 1, 'records come in clock order');
  assert.ok(Array.isArray(ready.modules) && ready.modules.includes('json'), 'the modules imported for sharing');
  // A worker's COLLS are its own: it inherits the parent's gc.get_stats() history at fork.
  const parentColls = parent.gc.collections;
  for (const w of last.processes.filter((p: any) => p.role === 'worker')) {
    assert.equal(w.gc.collectionsSinceFork.length, 3);
    assert.equal(w.gc.collectionsSinceFork[2], 0, 'an idle worker ran no full collection of its own');
    assert.ok(
      w.gc.collections[2] >= parentColls[2] - 1 && w.gc.collections[2] > 0,
      "while its stats carry the parent's history",
    );
  }
  assert.equal(parent.gc.collectionsSinceFork, null);
  assert.ok(Date.now() - t0 < 15_000);
  for (const pid of [ready.pid, ...forks.map((f) => f.pid)]) assert.equal(alive(pid), false);
  assert.deepEqual(experimentPids(), []);
});

test('--batch --workload collect reports each collection as an event', async () => {
  const r = await runCli([
    '--batch',
    '--duration',
    '2.5',
    ...SMALL,
    '--workload',
    'collect',
    '--collect-every',
    '0.5',
    '--freeze',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const records = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const collects = records.filter((x) => x.kind === 'collect' && x.generation === 2);
  assert.ok(collects.length >= 4, `${collects.length} full collections`);
  const last = records.filter((x) => x.type === 'sample').pop();
  assert.equal(last.freeze, true);
  for (const w of last.processes.filter((p: any) => p.role === 'worker')) {
    assert.ok(w.gc.collections[2] >= 2, 'gen 2 collections counted');
    assert.ok(w.gc.frozen > 100000);
  }
});

test('--batch --format csv and table', async () => {
  const csv = await runCli(['--batch', '--duration', '1', ...SMALL, '--format', 'csv']);
  assert.equal(csv.code, 0, csv.stderr);
  const lines = csv.stdout.trim().split('\n');
  assert.match(lines[0], /^t,freeze,pid,role,alive,rss,pss,uss/);
  const cols = lines[0].split(',').length;
  assert.ok(lines.length >= 4);
  for (const l of lines.slice(1)) assert.equal(l.split(',').length, cols);
  const table = await runCli(['--batch', '--duration', '1', ...SMALL, '--format', 'table']);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /FREEZE OFF/);
  assert.match(table.stdout, /ROLE\s+PID\s+RSS\s+PSS\s+USS/);
  assert.match(table.stdout, /parent\s+\d+\s+[\d.]+ MiB/);
  assert.match(
    table.stdout,
    /ready +.* buildSeconds=\d+(ms|us|\.\d\ds) heapBytes=[\d.]+MiB/,
    'seconds and bytes with their unit, not raw floats',
  );
  // The imports before the heap, as the experiment timed them (the event log says them too).
  assert.match(table.stdout, /ready +.* modules=\S*json\S* importSeconds=\d+(ms|us|\.\d\ds)/);
  assert.doesNotMatch(table.stdout, /\d\.\d{5,}/, 'no raw float anywhere');
  assert.deepEqual(experimentPids(), []);
});

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGKILL'] as const) {
  test(`${sig} to cowtop --batch leaves no experiment process`, async () => {
    const child = startCli(['--batch', ...SMALL]);
    // The parent and both workers, by their own reports: a sample finds a worker in /proc's
    // children before the parent's fork report about it has been read.
    const started = (rs: any[]) =>
      rs.filter((r) => r.kind === 'ready' || r.kind === 'fork').map((r) => r.pid as number);
    let records: any[];
    try {
      records = await collectLines(child, (rs) => started(rs).length === 3, 30_000);
    } catch (err) {
      child.kill('SIGKILL'); // its experiment goes with it (the pipe's end): nothing may outlive the test
      throw err;
    }
    const pids = started(records);
    const done = finished(child, 30_000);
    child.kill(sig);
    const r = await done;
    if (sig === 'SIGKILL') assert.equal(r.signal, 'SIGKILL');
    else assert.equal(r.code, { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 }[sig]);
    await waitUntil(() => pids.every((p) => !alive(p)), 5000, `experiment processes to end after ${sig}`);
    assert.deepEqual(experimentPids(), []);
  });
}

test('a reader that goes away (| head) ends the run quietly', async () => {
  const child = startCli(['--batch', ...SMALL]);
  await collectLines(child, (rs) => rs.length >= 3, 30_000);
  const done = finished(child, 30_000);
  child.stdout!.destroy();
  const r = await done;
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  await waitUntil(() => experimentPids().length === 0, 5000, 'no experiment process');
});

test('without /proc the sampler still reports RSS and CPU (pidusage) and gc state; USS/PSS/faults are null', async () => {
  const e = new Experiment({
    python: 'python3',
    size: 20000,
    workers: 2,
    freeze: false,
    workload: 'idle',
    collectEvery: 5,
    interval: 200,
  });
  const sampler = new Sampler(new ProcReader('/nonexistent-proc-root'), e);
  try {
    await e.ready;
    await waitUntil(() => e.workers.size === 2 && [...e.workers.keys()].every((p) => e.gc.has(p)), 20_000, 'workers');
    await sampler.tick();
    const snap = await sampler.tick();
    assert.equal(snap.procAvailable, false);
    assert.equal(snap.processes.length, 3);
    for (const p of snap.processes) {
      const statm = Number(readFileSync(`/proc/${p.pid}/statm`, 'utf8').split(' ')[1]) * 4096;
      assert.ok(Math.abs(p.rss! - statm) < 2 * 1048576, `rss ${p.rss} vs statm ${statm}`);
      assert.equal(typeof p.cpu, 'number');
      assert.equal(p.uss, null);
      assert.equal(p.pss, null);
      assert.equal(p.minfltDelta, null);
      assert.ok(p.gc && p.gc.counts!.length === 3);
    }
  } finally {
    sampler.close();
    await e.stop();
  }
});
