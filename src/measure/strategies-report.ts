/** compare --strategies as a person reads it: a verdict per strategy, a table, or Markdown. */
import { recordsText } from '../experiment/options';
import type { StrategyName } from '../experiment/strategy';
import { markdownTable, textTable } from '../format/tables';
import { formatBytes, formatCount, formatReduction, formatSeconds } from '../format/units';
import { avg, strategyCopied, type StrategiesResult, type StrategyRun } from './strategies';

export function verdict(run: StrategyRun, runs: StrategyRun[], enabler: number | null): string {
  const base = runs.find((r) => r.strategy === 'default');
  const name = run.strategy.split(':')[0] as StrategyName;
  const copied = strategyCopied(run);
  const full = avg(run, (w) => w.fullCollections) ?? 0;
  const garbage = avg(run, (w) => w.garbage);
  const first = avg(run, (w) => w.firstFullAt);
  const vsBase =
    base && base !== run && copied !== null && strategyCopied(base)
      ? ` (${formatReduction(1 - copied / strategyCopied(base)!)} against default)`
      : '';
  const collections = full
    ? `${formatCount(full)} full collection${full === 1 ? '' : 's'} (${formatSeconds(avg(run, (w) => w.fullSeconds))})`
    : 'no full collection';
  switch (name) {
    case 'default':
      return `the baseline: ${collections} in ${formatCount(avg(run, (w) => w.requests))} requests copied ${formatBytes(copied)} per worker of the parent's heap.`;
    case 'disable': {
      const atEnable = avg(run, (w) => w.copiedAtEnable);
      const then =
        enabler !== null && atEnable !== null
          ? ` Until the enabler called gc.enable() (${enabler} s) it had copied ${formatBytes(atEnable)}; then collections ran (${collections}) and copied like default.`
          : '';
      const frozen = runs.find((r) => r.strategy === 'freeze' && !r.skipped);
      const growth = (r: StrategyRun): number | null => avg(r, (w) => w.ussAfter - w.ussBefore);
      const kept =
        frozen && growth(run) !== null && growth(frozen) !== null && growth(run)! > growth(frozen)!
          ? `, holding ~${formatBytes(growth(run)! - growth(frozen)!)} per worker that freeze's workers freed`
          : '';
      return `copies ${formatBytes(copied)} per worker${vsBase}, but never frees a reference cycle: ${formatCount(garbage)} objects of garbage were still there at the end${kept}.${then}`;
    }
    case 'threshold': {
      const baseFirst = base ? avg(base, (w) => w.firstFullAt) : null;
      const ratio = first !== null && baseFirst ? first / baseFirst : null;
      const baseFull = base ? (avg(base, (w) => w.fullCollections) ?? 0) : null;
      // What was measured against default: fewer, as many, or more full collections; later or not.
      const fewer =
        baseFull === null
          ? 'the same collections, held back'
          : full < baseFull
            ? `fewer full collections than default's ${formatCount(baseFull)}`
            : full === baseFull
              ? `as many full collections as default`
              : `more full collections than default's ${formatCount(baseFull)}`;
      if (first === null)
        return `the same collections, later and fewer: none within these requests${baseFirst ? ` (default's first came at request ${formatCount(baseFirst)})` : ''}, so it copied only ${formatBytes(copied)} per worker${vsBase}: the copying is postponed, not prevented.`;
      const later =
        ratio === null
          ? ''
          : ratio > 1
            ? ` at request ${formatCount(first)}, ${ratio.toFixed(1)}x later than default`
            : ` at request ${formatCount(first)}, no later than default's`;
      return `${fewer}: ${collections}, the first${later}; copies ${formatBytes(copied)} per worker${vsBase} once it comes.`;
    }
    case 'freeze':
      return `copies ${formatBytes(copied)} per worker${vsBase}: collections run (${collections}) but never write into the frozen heap, and cycles are still freed (${formatCount(garbage)} objects left).`;
  }
}

/** The result with each run's verdict, against the others measured beside it. */
export function withVerdicts(r: StrategiesResult): StrategiesResult {
  return {
    ...r,
    runs: r.runs.map((run) => (run.skipped ? run : { ...run, verdict: verdict(run, r.runs, r.enabler) })),
  };
}

const HEAD = [
  'strategy',
  'copied/worker',
  'USS growth',
  'peak USS',
  'full colls',
  'full gc time',
  'first full at',
  'garbage kept',
];

function cells(r: StrategyRun): string[] {
  if (r.skipped) return [r.strategy, 'skipped', '', '', '', '', '', ''];
  const first = avg(r, (w) => w.firstFullAt);
  return [
    r.strategy,
    formatBytes(strategyCopied(r)),
    formatBytes(avg(r, (w) => w.ussAfter - w.ussBefore)),
    formatBytes(avg(r, (w) => w.ussPeak)),
    formatCount(avg(r, (w) => w.fullCollections)),
    formatSeconds(avg(r, (w) => w.fullSeconds)),
    first === null ? 'none' : `request ${formatCount(first)}`,
    formatCount(avg(r, (w) => w.garbage)),
  ];
}

function title(r: StrategiesResult): string {
  return `${r.implementation} ${r.version}, ${recordsText(r.size)}, heap ${formatBytes(r.heapBytes)}, ${r.workers} worker${r.workers === 1 ? '' : 's'}, ${formatCount(r.requests)} requests each (serve workload)${r.enabler !== null ? `, enabler after ${r.enabler} s` : ''}`;
}

export function strategiesTable(r: StrategiesResult): string {
  const out = [`cowtop compare --strategies: ${title(r)}`, '', ...textTable([HEAD, ...r.runs.map(cells)]).lines, ''];
  for (const run of r.runs) out.push(`${run.strategy}: ${run.verdict}`);
  if (r.note) out.push('', `note: ${r.note}`);
  return out.join('\n');
}

export function strategiesMarkdown(r: StrategiesResult): string {
  const out = [`**cowtop compare --strategies**: ${title(r)}`, '', ...markdownTable(HEAD, r.runs.map(cells)), ''];
  for (const run of r.runs) out.push(`- **${run.strategy}**: ${run.verdict}`);
  if (r.note) out.push('', `_${r.note}_`);
  return out.join('\n');
}
