/**
 * Records a short real session (reports, log lines and snapshots, with their times) into a
 * fixture that the renderer tests replay without any process:
 *   node dist/test/tools/record-session.js test/fixtures/session.json
 */
import { writeFileSync } from 'node:fs';
import { Experiment } from '../../src/experiment/experiment';
import type { Report } from '../../src/experiment/protocol';
import { ProcReader } from '../../src/proc/read';
import { Sampler } from '../../src/sample/sampler';
import { sleep } from '../helpers';

export interface RecordedItem {
  at: number;
  kind: 'snapshot' | 'report' | 'log';
  data: any;
}

(async () => {
  const out = process.argv[2] ?? 'test/fixtures/session.json';
  const startedAt = Date.now();
  const items: RecordedItem[] = [];
  const e = new Experiment({
    python: 'python3',
    size: 200000,
    workers: 3,
    freeze: false,
    workload: 'idle',
    collectEvery: 5,
    interval: 500,
  });
  e.on('report', (r: Report) => r.type !== 'gc' && items.push({ at: Date.now(), kind: 'report', data: r }));
  e.on('log', (l) => items.push({ at: Date.now(), kind: 'log', data: l }));
  await e.ready;
  const sampler = new Sampler(new ProcReader(), e);
  const tick = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) {
      items.push({ at: Date.now(), kind: 'snapshot', data: await sampler.tick() });
      await sleep(500);
    }
  };
  await sleep(700);
  await tick(4);
  e.send({ cmd: 'collect' });
  await tick(5);
  e.send({ cmd: 'refork', freeze: true });
  await tick(3);
  e.send({ cmd: 'collect' });
  await tick(5);
  e.removeAllListeners('report');
  e.removeAllListeners('log');
  await e.stop();
  writeFileSync(out, JSON.stringify({ startedAt, items }));
  console.log(`recorded ${items.length} items to ${out}`);
})();
