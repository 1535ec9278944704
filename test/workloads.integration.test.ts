/** The read and write workloads copy the shared pages even with gc.freeze(): the limit of it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { experimentPids, runCli } from './helpers';

async function growth(workload: string, size = 200_000): Promise<{ heap: number; growth: number[]; copies: any[] }> {
  const r = await runCli([
    '--batch',
    '--map',
    '--duration',
    '3',
    '--size',
    String(size),
    '--workers',
    '2',
    '--freeze',
    '--workload',
    workload,
    '--collect-every',
    '1',
    '--interval',
    '500',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const recs = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const heap = recs.find((x) => x.kind === 'ready').heapBytes;
  const last = recs.filter((x) => x.type === 'sample').pop();
  assert.equal(last.freeze, true);
  const workers = last.processes.filter((p: any) => p.role === 'worker' && p.alive);
  return { heap, growth: workers.map((p: any) => p.ussGrowth), copies: workers.map((p: any) => p.copies) };
}

for (const workload of ['read', 'write']) {
  test(`${workload} workload: frozen workers still copy most of the heap, page by page (--map)`, async () => {
    const { heap, growth: g, copies } = await growth(workload);
    assert.equal(g.length, 2);
    for (const x of g) assert.ok(x > 0.4 * heap, `${workload}: growth ${x} of heap ${heap}`);
    for (const c of copies) {
      // The pagemap's count: read > 40%, write > 90% of the heap, though frozen.
      assert.ok(
        c.copied > (workload === 'write' ? 0.9 : 0.4) * heap,
        `${workload}: copied ${c.copied} of heap ${heap}`,
      );
      // What the copied pages held: read writes refcounts of the records and their lists only;
      // write (r.tags[0] = r.id) also takes a reference to each int, so its pages are copied too.
      const k = c.copiedKinds;
      const total = Object.values(k as Record<string, number>).reduce((a, b) => a + b, 0);
      if (workload === 'read') assert.ok((k.records + k.lists) / total > 0.85, `${workload}: ${JSON.stringify(k)}`);
      else assert.ok(k.ints > 0.1 * total && k.records + k.lists > 0.5 * total, `${workload}: ${JSON.stringify(k)}`);
      assert.ok(
        k['module objects'] < 0.1 * total,
        `${workload}: the imports' objects stay shared: ${JSON.stringify(k)}`,
      );
    }
    assert.deepEqual(experimentPids(), []);
  });
}

test('idle workload with freeze: no growth to speak of (the control)', async () => {
  // 400,000 objects: a frozen worker's start copies ~2 MiB of the interpreter's own pages, all in
  // its first turns (worker.py settles them at once), and its first sample can come before them:
  // 5% of a 200,000-object heap is 1.7 MiB.
  const { heap, growth: g } = await growth('idle', 400_000);
  for (const x of g) assert.ok(x < 0.05 * heap, `idle growth ${x} of heap ${heap}`);
});

test('--tracemalloc: USS grows by pages the collector copied while Python allocated next to nothing', async () => {
  const r = await runCli([
    '--batch',
    '--duration',
    '3',
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
    '--tracemalloc',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const recs = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const last = recs.filter((x) => x.type === 'sample').pop();
  const workers = last.processes.filter((p: any) => p.role === 'worker' && p.alive);
  assert.equal(workers.length, 2);
  for (const w of workers) {
    assert.equal(typeof w.gc.traced.current, 'number');
    assert.ok(w.gc.traced.peak >= w.gc.traced.current);
    assert.ok(w.gc.traced.current < 2 * 1048576, `traced ${w.gc.traced.current}`);
    assert.ok(
      w.ussGrowth > 10 * w.gc.traced.current + 10 * 1048576,
      `USS growth ${w.ussGrowth} vs traced ${w.gc.traced.current}`,
    );
  }
  assert.equal(last.processes.find((p: any) => p.role === 'parent').gc.traced, undefined, 'the parent is not traced');
});

test('--split: half the workers forked before gc.freeze(), half after, side by side', async () => {
  // 400,000 objects: a frozen worker still copies ~2 MiB of the interpreter's own pages from its
  // first sample on (sampled at its fork now), which 200,000 unfrozen objects' copies (~35 MiB)
  // left at the 5% line.
  const r = await runCli([
    '--batch',
    '--duration',
    '3',
    '--split',
    '--size',
    '400000',
    '--workers',
    '4',
    '--workload',
    'collect',
    '--collect-every',
    '1',
    '--interval',
    '500',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const recs = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const forks = recs.filter((x) => x.kind === 'fork');
  assert.deepEqual(
    forks.map((f) => f.freeze),
    [false, false, true, true],
    'unfrozen first, then frozen, from one parent',
  );
  const last = recs.filter((x) => x.type === 'sample').pop();
  assert.equal(last.split, true);
  const mean = (frozen: boolean): number => {
    const ws = last.processes.filter((p: any) => p.role === 'worker' && p.frozen === frozen);
    assert.equal(ws.length, 2);
    return ws.reduce((a: number, p: any) => a + p.ussGrowth, 0) / ws.length;
  };
  assert.ok(mean(true) < 0.05 * mean(false), `frozen ${mean(true)} vs unfrozen ${mean(false)}`);
  assert.deepEqual(experimentPids(), []);
});
