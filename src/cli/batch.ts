/** `cowtop --batch`: the experiment without a screen, one record per sample on stdout. */
import { createWriteStream, type WriteStream } from 'node:fs';
import { OutputError, openOutput } from '../files/output';
import { safeJson, sanitize } from '../format/sanitize';
import type { LogLine } from '../experiment/experiment';
import type { Report } from '../experiment/protocol';
import { CSV_HEADER, csvRows, eventLine, eventRecord, oomRecords, sampleRecord, tableBlock } from '../export/records';
import { lifecycle } from '../lifecycle';
import { UsageError } from '../util/usage-error';
import { sinceStart } from '../util/clock';
import type { Snapshot } from '../sample/snapshot';
import type { BatchOptions } from './args';
import type { Monitor } from '../session/monitor';

function openFile(file: string | null): NodeJS.WritableStream {
  if (file === null) return process.stdout;
  try {
    return createWriteStream('', { fd: openOutput(file) }) as WriteStream;
  } catch (err) {
    if (err instanceof OutputError) throw new UsageError(`cannot write --output ${err.file}: ${err.reason}`);
    throw err;
  }
}

export async function runBatch(monitor: Monitor, cmd: BatchOptions, procRoot: string): Promise<void> {
  const out = openFile(cmd.output);
  // stdout's errors are the lifecycle's (every command writes there); a file's are ours.
  if (out !== process.stdout)
    out.on(
      'error',
      (err: NodeJS.ErrnoException) =>
        void lifecycle.exit(1, `cowtop: cannot write ${cmd.output}: ${err.code ?? err.message}`),
    );
  const write = (s: string): void => {
    out.write(`${s}\n`);
  };
  const onEvent = (r: Report | LogLine): void => {
    const e = eventRecord(sinceStart(), r);
    if (!e) return;
    if (cmd.format === 'json') write(safeJson(e));
    else if (cmd.format === 'table') write(eventLine(e));
  };
  const session = monitor;
  session.on('report', onEvent);
  session.on('log', onEvent);
  // cowtop's own notices: records carry them, and where the records do not reach the user (a
  // file, /dev/null of a sidecar, CSV which has no event rows) stderr does.
  const tell = (text: string): void => {
    onEvent({ stream: 'stderr', text });
    if (out !== process.stdout || cmd.format === 'csv') process.stderr.write(`cowtop: ${sanitize(text)}\n`);
  };
  session.on('memory', tell);
  session.on('notice', tell);
  session.on('died', (why: string) => {
    // An attached server that stops ends the watch; a dead experiment is a failure.
    void lifecycle.exit(monitor.diedExitCode ?? 1, `cowtop: ${why}`);
  });
  let first = true;
  session.on('snapshot', (snap: Snapshot) => {
    if (first && !snap.procAvailable)
      onEvent({
        stream: 'stderr',
        text: `cannot read ${procRoot}: USS, PSS and faults are unknown; RSS and CPU come from pidusage`,
      });
    first = false;
    for (const o of oomRecords(snap)) {
      if (cmd.format === 'json') write(safeJson(o));
      else if (cmd.format === 'table') write(`t=${o.t}ms  oom       ${o.text}`);
    }
    if (cmd.format === 'json') write(safeJson(sampleRecord(snap)));
    else if (cmd.format === 'csv') csvRows(snap).forEach(write);
    else write(tableBlock(snap));
  });
  if (cmd.format === 'csv') write(CSV_HEADER);
  if (cmd.map) session.wantMap(true, 0); // every record its own map
  await session.start();
  if (cmd.duration !== null) setTimeout(() => void lifecycle.exit(0), cmd.duration * 1000);
}
