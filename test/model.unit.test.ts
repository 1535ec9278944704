/** The dashboard model with plain unit tests: what lands on the events timeline. */
import { processSample } from './samples';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseReport, type Report } from '../src/experiment/protocol';
import { DashboardModel } from '../src/ui/model';
import { windowTop } from '../src/ui/render/table';
import { orderRows } from '../src/ui/rows';
import { SIGNALS } from '../src/proc/signal';
import type { ProcessSample } from '../src/sample/snapshot';

const report = (r: object): Report => {
  const parsed = parseReport(JSON.stringify(r));
  assert.ok(parsed, JSON.stringify(r));
  return parsed;
};
const ready = {
  type: 'ready',
  pid: 10,
  implementation: 'CPython',
  version: '3.11.7',
  size: 1000,
  freeze: false,
  freezeSupported: true,
  workload: 'idle',
  workloads: ['idle', 'collect'],
  buildSeconds: 0.1,
  heapBytes: 1e6,
  modules: [],
  executable: '/usr/bin/python3',
};
const refork = (freeze: boolean, workload: string) =>
  report({ type: 'refork', freeze, workload, workers: [11], generation: 1, seconds: 0.03 });

test('an unexpected exit wins its timeline cell over anything else in the same tick', () => {
  const m = new DashboardModel(0);
  m.onReport(report(ready));
  m.onReport(
    report({
      type: 'collection',
      pid: 11,
      generation: 2,
      duration: 1,
      collected: 0,
      uncollectable: 0,
      explicit: false,
    }),
  );
  m.onReport(report({ type: 'exit', pid: 11, requested: false, signal: 9, signalName: 'SIGKILL' }));
  m.onReport(refork(true, 'idle'));
  assert.equal(m.pendingMarker, 'x');
});

test('a workload change marks w, a freeze toggle F or f', () => {
  const m = new DashboardModel(0);
  m.onReport(report(ready));
  m.onReport(refork(false, 'collect'));
  assert.equal(m.pendingMarker, 'w');
  const n = new DashboardModel(0);
  n.onReport(report(ready));
  n.onReport(refork(true, 'idle'));
  assert.equal(n.pendingMarker, 'F');
  const o = new DashboardModel(0);
  o.onReport(report(ready));
  o.onReport(refork(false, 'idle'));
  assert.equal(o.pendingMarker, 'f');
});

test('the selection moves along the rows in screen order, a page at a time, to either end', () => {
  const m = new DashboardModel(0);
  const keys = Array.from({ length: 20 }, (_, i) => `${100 + i}:7`);
  m.view.table.height = 6; // a page: 5 rows (one stays in view)
  m.moveSelection(keys, 1);
  assert.equal(m.view.table.selected, '100:7', 'the first move selects the first row');
  m.moveSelection(keys, 'pagedown');
  assert.equal(m.view.table.selected, '105:7');
  m.moveSelection(keys, 'end');
  assert.equal(m.view.table.selected, '119:7');
  m.moveSelection(keys, 3);
  assert.equal(m.view.table.selected, '119:7', 'clamped at the last row');
  m.moveSelection(keys, 'home');
  assert.equal(m.view.table.selected, '100:7');
  // Re-sorted: the same process stays selected wherever it went.
  m.moveSelection(keys, 2);
  const resorted = [...keys].reverse();
  m.moveSelection(resorted, 1);
  assert.equal(m.view.table.selected, '101:7', 'one row down from 102 in the new order');
  const n = new DashboardModel(0);
  n.moveSelection(keys, -1);
  assert.equal(n.view.table.selected, '119:7', 'going up first selects the last row');
});

test('the window keeps the selected row in view and never scrolls past the end', () => {
  assert.equal(windowTop(20, 0, 0, 8), 0);
  assert.equal(windowTop(20, 10, 0, 8), 3, 'scrolls down just enough');
  assert.equal(windowTop(20, 2, 5, 8), 2, 'scrolls up to it');
  assert.equal(windowTop(20, -1, 30, 8), 12, 'no selection: clamped to the last page');
  assert.equal(windowTop(5, 4, 0, 8), 0, 'all fit: no scroll');
});

test('pause freezes the whole screen: table, charts, events and clock stay while sampling goes on', () => {
  const m = new DashboardModel(0);
  const snap = (t: number): any => ({
    seq: t,
    t,
    at: t,
    elapsedMs: 1000,
    freeze: false,
    strategy: 'default',
    split: false,
    workload: 'idle',
    procAvailable: true,
    processes: [],
    totals: { uss: 0, pss: 0, rss: 0, shared: 0 },
    denied: 0,
    tickMs: 1,
  });
  m.pushSnapshot(snap(1000));
  m.addEvent('info', 'before', 1000);
  m.setPaused(true, 1500);
  m.pushSnapshot(snap(2000));
  m.addEvent('info', 'during', 2000);
  assert.equal(m.shown!.t, 1000);
  assert.equal(m.latest!.t, 2000, 'sampling went on');
  assert.deepEqual(
    m.shownHistory(10).map((p) => p.t),
    [1000],
  );
  assert.deepEqual(
    m.shownEvents(10).map((e) => e.text),
    ['before'],
  );
  assert.equal(m.shownTime(9999), 1500);
  m.setPaused(false);
  assert.deepEqual(
    m.shownHistory(10).map((p) => p.t),
    [1000, 2000],
    'resumed: all of it, nothing lost',
  );
  assert.deepEqual(
    m.shownEvents(10).map((e) => e.text),
    ['before', 'during'],
  );
  assert.equal(m.shownTime(9999), 9999);
});

test('after a re-fork the header says so until a sample shows the new workers', () => {
  const m = new DashboardModel(0);
  const snap = (pids: number[]): any => ({
    seq: 1,
    t: 1,
    at: 1,
    elapsedMs: 1000,
    freeze: true,
    strategy: 'freeze',
    split: false,
    workload: 'idle',
    procAvailable: true,
    processes: pids.map((pid) => ({
      pid,
      role: pid === 10 ? 'parent' : 'worker',
      index: 0,
      alive: true,
      uss: 1,
      minfltDelta: 0,
      frozen: null,
    })),
    totals: { uss: 0, pss: 0, rss: 0, shared: 0 },
    denied: 0,
    tickMs: 1,
  });
  m.onReport(report(ready));
  m.onReport(
    report({ type: 'refork', freeze: true, workload: 'idle', workers: [21, 22], generation: 1, seconds: 0.03 }),
  );
  assert.match(m.view.pending ?? '', /re-forked: reading the new workers/);
  m.pushSnapshot(snap([10, 11, 12])); // a sample of the old workers
  assert.notEqual(m.view.pending, null);
  m.onReport(report({ type: 'exit', pid: 22, requested: false, signal: 9 }));
  m.pushSnapshot(snap([10, 21]));
  assert.equal(m.view.pending, null, 'one new worker shown, the other died: done');
});

const row = (
  pid: number,
  ppid: number | null,
  role: 'parent' | 'master' | 'worker' | 'grandchild',
  index: number | null,
  command: string,
  uss = pid,
): ProcessSample =>
  processSample({ pid, ppid, role, index, command, uss, rss: uss, pss: uss, shared: 0, starttime: 7 });

test('sorting: a size sorts biggest first, pid and role ascending, the same key again reverses', () => {
  const m = new DashboardModel(0);
  m.sortBy('uss');
  assert.deepEqual(m.view.sort, { column: 'uss', desc: true });
  m.sortBy('uss');
  assert.deepEqual(m.view.sort, { column: 'uss', desc: false });
  m.sortBy('pid');
  assert.deepEqual(m.view.sort, { column: 'pid', desc: false });
});

test('the filter narrows rows by pid, role or command as typed; Esc clears it', () => {
  const m = new DashboardModel(0);
  const rows = [
    row(100, 1, 'master', null, 'gunicorn: master [app]'),
    row(101, 100, 'worker', 0, 'gunicorn: worker [app]'),
    row(102, 100, 'worker', 1, 'gunicorn: worker [app]'),
    row(200, 101, 'grandchild', null, 'sleep 60'),
  ];
  const ctx = { units: 'MiB' as const, heapBytes: null, elapsedMs: 1000 };
  m.startFilter();
  assert.equal(m.view.mode, 'filter');
  for (const ch of 'SLE') m.filterKey(ch, ch);
  assert.deepEqual(
    orderRows(rows, m.view, ctx).map((r) => r.p.pid),
    [200],
    'command, case-insensitive',
  );
  m.filterKey('backspace');
  m.filterKey('backspace');
  m.filterKey('backspace');
  m.filterKey('1', '1');
  m.filterKey('0', '0');
  m.filterKey('2', '2');
  assert.deepEqual(
    orderRows(rows, m.view, ctx).map((r) => r.p.pid),
    [102],
    'pid',
  );
  m.filterKey('enter');
  assert.equal(m.view.mode, 'normal');
  assert.equal(m.view.table.filter, '102', 'Enter keeps it');
  m.clearFilter();
  assert.equal(m.view.table.filter, '');
  m.view.table.filter = 'worker 2';
  assert.deepEqual(
    orderRows(rows, m.view, ctx).map((r) => r.p.pid),
    [102],
    'role as the table names it',
  );
});

test('the tree view nests children under parents, siblings in the sort order, with branch lines', () => {
  const m = new DashboardModel(0);
  const rows = [
    row(100, 1, 'master', null, 'master'),
    row(101, 100, 'worker', 0, 'w1', 5),
    row(102, 100, 'worker', 1, 'w2', 9),
    row(200, 101, 'grandchild', null, 'child'),
  ];
  const ctx = { units: 'MiB' as const, heapBytes: null, elapsedMs: 1000 };
  m.toggleTree();
  m.sortBy('uss'); // biggest first: w2 before w1
  const shown = orderRows(rows, m.view, ctx);
  assert.deepEqual(
    shown.map((r) => [r.p.pid, r.prefix]),
    [
      [100, ''],
      [102, '├─ '],
      [101, '└─ '],
      [200, '   └─ '],
    ],
  );
  // A filtered-out parent leaves its children at the top level, not lost.
  m.view.table.filter = 'child';
  assert.deepEqual(
    orderRows(rows, m.view, ctx).map((r) => [r.p.pid, r.prefix]),
    [[200, '']],
  );
});

test('k asks first with SIGTERM picked; arrows wrap; the interval steps through INTERVALS', () => {
  const m = new DashboardModel(0);
  m.askSignal({ key: '101:7', pid: 101, starttime: 7, what: 'worker 1' });
  assert.equal(m.view.mode, 'confirm');
  assert.equal(SIGNALS[m.view.confirm!.signal], 'SIGTERM');
  m.pickSignal(-1, SIGNALS.length);
  assert.equal(SIGNALS[m.view.confirm!.signal], 'SIGCONT');
  m.closeOverlay();
  assert.equal(m.view.confirm, null);
  assert.equal(DashboardModel.nextInterval(1000, -1), 500);
  assert.equal(DashboardModel.nextInterval(1000, 1), 2000);
  assert.equal(DashboardModel.nextInterval(100, -1), 100);
  assert.equal(DashboardModel.nextInterval(1500, -1), 1000, 'an interval from --interval steps to its neighbour');
});

test('the ready event says the build time and, apart, the imports before it, as the experiment timed them', () => {
  const m = new DashboardModel(0);
  m.onReport(
    parseReport(JSON.stringify({ ...ready, size: 1_000_000, buildSeconds: 1.07, importSeconds: 0.291 }))!,
    1000,
  );
  assert.ok(
    m.events
      .last(50)
      .some((e) =>
        /built 1,000,000 records \(2,000,000 gc-tracked objects\) in 1\.07 s, after 291 ms of imports/.test(e.text),
      ),
  );
});
