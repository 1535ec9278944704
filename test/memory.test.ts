/** The memory guard: pure checks on made-up rooms, and the real thing refusing and stopping. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableBytes, checkMemory, memoryLow } from '../src/experiment/memory';
import { parseCgroupLimit, parseCgroupPaths, parseVmstatField } from '../src/proc/parse';
import { experimentPids, runCli } from './helpers';

const GiB = 1024 ** 3;

test('availableBytes takes the tighter of MemAvailable and the cgroup room', () => {
  assert.equal(
    availableBytes({ memAvailable: 10 * GiB, memTotal: 24 * GiB, cgroupLimit: null, cgroupUsage: null }),
    10 * GiB,
  );
  assert.equal(
    availableBytes({ memAvailable: 10 * GiB, memTotal: 24 * GiB, cgroupLimit: 4 * GiB, cgroupUsage: 1 * GiB }),
    3 * GiB,
  );
  assert.equal(availableBytes({ memAvailable: null, memTotal: null, cgroupLimit: null, cgroupUsage: null }), null);
});

test('checkMemory: (1 + workers) x heap against 80% of what is available', () => {
  const room = { memAvailable: 10 * GiB, memTotal: 24 * GiB, cgroupLimit: null, cgroupUsage: null };
  assert.equal(checkMemory(200, 1_000_000, 4, room).ok, true); // 1 GB worst case
  const v = checkMemory(200, 10_000_000, 4, room); // 2 GB heap, 10 GB worst
  assert.equal(v.ok, false);
  assert.equal(v.worst, 5 * 200 * 10_000_000);
  assert.match(
    v.message!,
    /--size 10,000,000 with 4 workers could use 9\.31 GiB without freeze \(\(1 \+ 4\) x 1\.86 GiB heap\), more than 80% of the 10\.0 GiB available; .*--force/,
  );
  const cg = checkMemory(200, 10_000_000, 1, { ...room, cgroupLimit: 3 * GiB, cgroupUsage: 0 });
  assert.match(cg.message!, /left in this cgroup/);
});

test('memoryLow: under the given share of memory, and not above it', () => {
  const room = { memAvailable: 2 * GiB, memTotal: 24 * GiB, cgroupLimit: null, cgroupUsage: null };
  assert.match(
    memoryLow(room, 10)!,
    /memory is short: 2\.00 GiB available of 24\.0 GiB \(under 10%\); workers stopped/,
  );
  assert.equal(memoryLow(room, 5), null);
});

test('cgroup and vmstat parsers', () => {
  assert.deepEqual(parseCgroupPaths('0::/user.slice/x.scope\n'), { v2: '/user.slice/x.scope', v1Memory: null });
  assert.deepEqual(parseCgroupPaths('4:memory:/docker/abc\n1:cpu,cpuacct:/\n0::/\n'), {
    v2: '/',
    v1Memory: '/docker/abc',
  });
  assert.equal(parseCgroupLimit('max\n'), null);
  assert.equal(parseCgroupLimit('9223372036854771712\n'), null);
  assert.equal(parseCgroupLimit('1073741824\n'), GiB);
  assert.equal(parseVmstatField('nr_free_pages 12\noom_kill 3\n', 'oom_kill'), 3);
  assert.equal(parseVmstatField('nr_free_pages 12\n', 'oom_kill'), null);
});

test('a size that could not fit is refused with the numbers and --force, exit 2, nothing started', async () => {
  const r = await runCli(['--batch', '--size', '2000000000', '--workers', '8']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    /^cowtop: --size 2,000,000,000 with 8 workers could use [\d.]+ (GiB|TiB) without freeze \(\(1 \+ 8\) x [\d.]+ GiB heap\), more than 80% of the [\d.]+ GiB available; use a smaller --size or --workers, or --force\n$/,
  );
  assert.deepEqual(experimentPids(), []);
});

test('memory short while running: the workers are stopped, the parent stays, the reason is said', async () => {
  // --min-available 100: any machine is "short", so the guard fires at the first sample.
  const r = await runCli([
    '--batch',
    '--duration',
    '2.5',
    '--size',
    '50000',
    '--workers',
    '2',
    '--interval',
    '200',
    '--min-available',
    '100',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const records = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.ok(
    records.some((x) => x.kind === 'log' && /memory is short: .* \(under 100%\); workers stopped/.test(x.text)),
  );
  const exits = records.filter((x) => x.kind === 'exit');
  assert.equal(exits.length, 2);
  const last = records.filter((x) => x.type === 'sample').pop();
  assert.deepEqual(
    last.processes.filter((p: any) => p.alive).map((p: any) => p.role),
    ['parent'],
    'only the parent is left',
  );
  assert.ok(
    last.processes.filter((p: any) => !p.alive).every((p: any) => p.exit.signal === 'SIGTERM'),
    'stopped workers stay as marked rows',
  );
  assert.deepEqual(experimentPids(), []);
});
