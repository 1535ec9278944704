/** compare's result as a person reads it: a table for the terminal, or Markdown to paste. */
import { recordsText } from '../experiment/options';
import { type CompareResult, type CompareRun, type CompareWorker, copiedMean, growth, mean } from './compare';
import { kindsText } from '../sample/copy-map';
import { markdownTable, textTable } from '../format/tables';
import { formatBytes, formatCount, formatReduction, formatSeconds } from '../format/units';

const workersText = (n: number): string => `${n} worker${n === 1 ? '' : 's'}`;
const passText = (r: CompareResult): string =>
  r.workload === 'collect' ? 'one gc.collect()' : `one pass of the ${r.workload} workload`;

/** How the table names what each worker did: a collection, or a workload's pass (no collection in it). */
function passLabels(workload: string): { took: string; after: string; copiedBy: string } {
  if (workload === 'collect') return { took: 'gc took', after: 'USS after gc', copiedBy: 'the collection' };
  return { took: 'pass took', after: `USS after the ${workload} pass`, copiedBy: `the ${workload} pass` };
}

const meanCells = (run: CompareRun): string[] => [
  formatBytes(mean(run.workers.map((w) => w.ussBefore))),
  formatBytes(mean(run.workers.map((w) => w.ussAfter))),
  formatCount(mean(run.workers.map((w) => w.minfltDelta))),
  formatSeconds(mean(run.workers.map((w) => w.gcSeconds))),
];

export function compareTable(r: CompareResult): string {
  const [off, on] = r.runs;
  const lines: string[] = [];
  lines.push(
    `cowtop compare: ${r.implementation} ${r.version}, ${recordsText(r.size)}, heap ${formatBytes(r.heapBytes)}, ${workersText(r.workers)}, ${passText(r)} in each`,
  );
  lines.push(`modules imported before fork: ${r.modules.join(', ') || 'none'}`);
  lines.push('');
  const label = passLabels(r.workload);
  const head = ['worker', 'USS before', 'USS after', 'faults', label.took];
  const cells = (w?: CompareWorker): string[] =>
    w
      ? [formatBytes(w.ussBefore), formatBytes(w.ussAfter), formatCount(w.minfltDelta), formatSeconds(w.gcSeconds)]
      : ['', '', '', ''];
  const rows: string[][] = [];
  for (let i = 0; i < Math.max(off.workers.length, on?.workers.length ?? 0); i++)
    rows.push([String(i + 1), ...cells(off.workers[i]), ...cells(on?.workers[i])]);
  const avg = (run?: CompareRun): string[] => (run ? meanCells(run) : ['', '', '', '']);
  rows.push(['mean', ...avg(off), ...avg(on)]);
  const table = textTable([[head[0], ...head.slice(1), ...head.slice(1)], ...rows], 1, [5]);
  const widths = table.widths;
  const leftWidth = widths.slice(0, 5).reduce((a, b) => a + b + 2, 0);
  lines.push(
    `${''.padEnd(widths[0] + 2)}${'without freeze'.padEnd(leftWidth - widths[0] - 2 + 3)}${on ? 'with gc.freeze()' : 'gc.freeze() unavailable in this interpreter'}`,
  );
  lines.push(...table.lines);
  lines.push('');
  const afterOff = mean(off.workers.map((w) => w.ussAfter));
  if (on) {
    const afterOn = mean(on.workers.map((w) => w.ussAfter));
    lines.push(
      `${label.after}: ${formatBytes(afterOff)} -> ${formatBytes(afterOn)} per worker, ${formatReduction(r.reductionAfter)} (USS after, as the original experiment measured)`,
    );
    lines.push(
      `Memory copied by ${label.copiedBy}: ${formatBytes(growth(off))} -> ${formatBytes(growth(on))} per worker, ${formatReduction(r.reduction)} (USS growth: the headline)`,
    );
    lines.push(copiedLine(off, on));
  } else {
    lines.push(`${label.after}: ${formatBytes(afterOff)} per worker; ${r.implementation} has no gc.freeze()`);
    lines.push(copiedLine(off, on));
  }
  return lines.join('\n');
}

/** The page-by-page figure beside USS growth: what the copy map saw copied during the pass. */
function copiedLine(off: CompareRun, on?: CompareRun): string {
  const a = copiedMean(off);
  if (a === null)
    return 'Pages copied from the parent (pagemap): not measurable here (frame numbers need root or CAP_SYS_ADMIN)';
  const b = on ? copiedMean(on) : null;
  const k = off.workers[0]?.copiedKinds;
  const held = k
    ? kindsText({
        total: { copied: 1, shared: 0, new: 0, swapped: 0 },
        copiedKinds: Object.entries(k).map(([kind, bytes]) => ({ kind, bytes })),
      })
    : null;
  return `Pages copied from the parent during the pass (pagemap, page by page): ${formatBytes(a)}${on ? ` -> ${formatBytes(b)}` : ''} per worker${held ? `\nWhat the copied pages held (worker 1, no freeze, since fork): ${held}` : ''}`;
}

/** The same comparison as a Markdown table, to paste into an issue or a pull request. */
export function compareMarkdown(r: CompareResult): string {
  const [off, on] = r.runs;
  const label = passLabels(r.workload);
  const head = ['worker', 'USS before', 'USS after', 'minor faults', label.took];
  const cells = (w?: CompareWorker): string[] =>
    w
      ? [formatBytes(w.ussBefore), formatBytes(w.ussAfter), formatCount(w.minfltDelta), formatSeconds(w.gcSeconds)]
      : ['', '', '', ''];
  const lines = [
    `**cowtop compare**: ${r.implementation} ${r.version}, ${recordsText(r.size)}, heap ${formatBytes(r.heapBytes)}, ${workersText(r.workers)}, ${passText(r).replace('gc.collect()', '`gc.collect()`')} in each`,
    '',
    `Modules imported before fork: ${r.modules.join(', ') || 'none'}.`,
    '',
  ];
  const titles = [
    head[0],
    ...head.slice(1).map((h) => `${h} (no freeze)`),
    ...(on ? head.slice(1).map((h) => `${h} (freeze)`) : []),
  ];
  const rows = off.workers.map((w, i) => [String(i + 1), ...cells(w), ...(on ? cells(on.workers[i]) : [])]);
  rows.push(['**mean**', ...meanCells(off), ...(on ? meanCells(on) : [])]);
  lines.push(...markdownTable(titles, rows), '');
  const copied = (run: CompareRun): string => formatBytes(growth(run));
  const after = (run: CompareRun): string => formatBytes(mean(run.workers.map((w) => w.ussAfter)));
  if (on)
    lines.push(
      `${label.after}, per worker: ${after(off)} without freeze, ${after(on)} with \`gc.freeze()\` (${formatReduction(r.reductionAfter)}; USS after, as the original experiment measured).`,
      '',
    );
  lines.push(
    on
      ? `Memory copied by ${label.copiedBy}, per worker: ${copied(off)} without freeze, ${copied(on)} with \`gc.freeze()\` (${formatReduction(r.reduction)}; USS growth: the headline).`
      : `Memory copied by ${label.copiedBy}, per worker: ${copied(off)}; ${r.implementation} has no \`gc.freeze()\`.`,
  );
  lines.push('', copiedLine(off, on));
  return lines.join('\n');
}
