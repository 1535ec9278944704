/** `cowtop --batch`: the experiment without a screen, one record per sample on stdout. */
import type { LogLine } from '../experiment/experiment';
import type { Report } from '../experiment/protocol';
import { CSV_HEADER, csvRows, eventLine, eventRecord, sampleRecord, tableBlock } from '../format/records';
import { lifecycle } from '../lifecycle';
import { ProcReader } from '../proc/read';
import { startSampling } from '../sample/loop';
import { Sampler } from '../sample/sampler';
import type { Command } from './args';
import { startExperiment } from './start';

export async function runBatch(cmd: Extract<Command, { kind: 'batch' }>, procRoot = '/proc'): Promise<void> {
  const out = process.stdout;
  out.on('error', () => void lifecycle.exit(0)); // reader went away (| head): stop quietly
  const started = Date.now();
  const write = (s: string): void => {
    out.write(s + '\n');
  };
  const onEvent = (r: Report | LogLine): void => {
    const e = eventRecord(Date.now() - started, r);
    if (!e) return;
    if (cmd.format === 'json') write(JSON.stringify(e));
    else if (cmd.format === 'table') write(eventLine(e));
  };
  const { experiment, ready } = await startExperiment(cmd.experiment, onEvent);
  onEvent(ready);
  experiment.on('report', (r: Report) => r.type !== 'ready' && onEvent(r));
  experiment.on('exit', () => void lifecycle.exit(1, 'cowtop: the experiment exited unexpectedly'));
  if (cmd.format === 'csv') write(CSV_HEADER);
  const sampler = new Sampler(new ProcReader(procRoot), experiment);
  const stopSampling = startSampling(
    sampler,
    cmd.experiment.interval,
    (snap) => {
      if (cmd.format === 'json') write(JSON.stringify(sampleRecord(snap)));
      else if (cmd.format === 'csv') csvRows(snap).forEach(write);
      else write(tableBlock(snap));
    },
    (err) => onEvent({ stream: 'stderr', text: `sampling failed: ${(err as Error).message}` }),
  );
  lifecycle.onExit(() => {
    stopSampling();
    sampler.close();
  });
  if (cmd.duration !== null) setTimeout(() => void lifecycle.exit(0), cmd.duration * 1000);
}
