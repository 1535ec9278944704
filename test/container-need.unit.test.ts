/** run --compare's container figures (src/measure/container-need.ts) over recorded snapshots. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { containerLines, containerNeed, PeakWatch } from '../src/measure/container-need';
import type { Snapshot } from '../src/sample/snapshot';

const MiB = 2 ** 20;
const snap = (path: string | null, usage: number | null, outside: number | null, pss: number | null): Snapshot =>
  ({
    totals: { uss: null, pss, rss: null, shared: null },
    cgroups: path
      ? [
          {
            version: 1,
            path,
            usage,
            limit: 512 * MiB,
            outside,
            treeProcesses: 3,
            anon: null,
            file: null,
            shmem: null,
            high: null,
            oomKills: 0,
            limitHits: 0,
            pids: [],
          },
        ]
      : [],
  }) as unknown as Snapshot;

function pass(samples: Snapshot[]) {
  const w = new PeakWatch();
  for (const s of samples) w.observe(s);
  return w.memory;
}

test("the peak is the cgroup's, once the tree is in it alone; a launcher's first cgroup is forgotten", () => {
  const off = pass([
    snap('/runner', 900 * MiB, 40, 10 * MiB), // the launcher, before it entered its cgroup
    snap('/pod/app', 100 * MiB, 0, 90 * MiB),
    snap('/pod/app', 300 * MiB, 0, 280 * MiB),
    snap('/pod/app', 250 * MiB, 0, 240 * MiB),
  ]);
  assert.equal(off.cgroup, '/pod/app');
  assert.equal(off.peakUsage, 300 * MiB);
  assert.equal(off.afterUsage, 250 * MiB);
  const on = pass([snap('/pod/app', 120 * MiB, 0, 110 * MiB), snap('/pod/app', 150 * MiB, 0, 140 * MiB)]);
  const c = containerNeed(off, on);
  assert.equal(c.basis, 'cgroup');
  assert.deepEqual(c.without, { peak: 300 * MiB, after: 250 * MiB, request: 256 * MiB, limit: 376 * MiB });
  assert.deepEqual(c.with, { peak: 150 * MiB, after: 150 * MiB, request: 152 * MiB, limit: 192 * MiB });
  const [first, second] = containerLines(c, (n) => `${n / MiB} MiB`);
  assert.match(first, /^Container memory \(cgroup \/pod\/app, limit 512 MiB; .*\): peak 300 MiB -> 150 MiB \(-50%\)/);
  assert.match(second, /requests\.memory 256Mi \/ limits\.memory 376Mi as it is, 152Mi \/ 192Mi with the recipe/);
});

test('a cgroup shared with other processes at the peak gives way to the tree’s Σ PSS; nothing known, no figure', () => {
  const off = pass([
    snap('/pod', 400 * MiB, 0, 200 * MiB),
    snap('/pod', 500 * MiB, 1, 210 * MiB),
    snap('/pod', 300 * MiB, 0, 205 * MiB),
  ]);
  const on = pass([snap('/pod', 200 * MiB, 0, 100 * MiB)]);
  const c = containerNeed(off, on);
  assert.equal(c.basis, 'pss');
  assert.equal(c.without!.peak, 210 * MiB);
  assert.match(containerLines(c, String)[0], /Σ PSS of the tree: its cgroup \/pod holds other processes too/);
  const none = containerNeed(pass([snap(null, null, null, null)]), pass([snap(null, null, null, null)]));
  assert.equal(none.basis, null);
  assert.equal(none.without, null);
  assert.match(containerLines(none, String)[0], /unknown/);
});
