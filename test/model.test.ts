/** The dashboard model with plain unit tests: what lands on the events timeline. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseReport, type Report } from '../src/experiment/protocol';
import { DashboardModel } from '../src/ui/model';

const report = (r: object): Report => {
  const parsed = parseReport(JSON.stringify(r));
  assert.ok(parsed, JSON.stringify(r));
  return parsed;
};
const ready = { type: 'ready', pid: 10, implementation: 'CPython', version: '3.11.7', size: 1000, freeze: false, freezeSupported: true, workload: 'idle', workloads: ['idle', 'collect'], buildSeconds: 0.1, heapBytes: 1e6, modules: [], executable: '/usr/bin/python3' };
const refork = (freeze: boolean, workload: string) => report({ type: 'refork', freeze, workload, workers: [11], generation: 1, seconds: 0.03 });

test('an unexpected exit wins its timeline cell over anything else in the same tick', () => {
  const m = new DashboardModel(0);
  m.onReport(report(ready));
  m.onReport(report({ type: 'collection', pid: 11, generation: 2, duration: 1, collected: 0, uncollectable: 0, explicit: false }));
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
