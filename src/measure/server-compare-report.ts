/** run --compare as a person reads it: a table for the terminal, or Markdown to paste. */
import { markdownTable, textTable } from '../format/tables';
import { formatBytes, formatCount, formatReduction } from '../format/units';
import { mean } from '../util/stats';
import type { ServerCompare } from './server-compare';
import { containerLines } from './container-need';
import type { PassWorker, ServerPass } from './server-pass';

const NO_VERDICT: Record<'false' | 'null', string> = {
  false:
    'With the freeze recipe the workers froze nothing (gc.get_freeze_count() is 0 in each): the recipe did not reach the process that forks them (see the README on wrappers). No verdict.',
  null: 'With the freeze recipe no worker reported its frozen count (no gc agent data): whether they froze is unknown. No verdict.',
};

const full = (w: PassWorker): number | null =>
  w.after.collections && w.before.collections ? (w.after.collections[2] ?? 0) - (w.before.collections[2] ?? 0) : null;
const gens = (w: PassWorker): string =>
  w.after.collections && w.before.collections
    ? w.after.collections.map((c, g) => c - (w.before.collections![g] ?? 0)).join('/')
    : '-';
const bytes = (n: number | null): string => (n === null ? '-' : formatBytes(n));

const HEAD = ['copied', 'USS before', 'USS after', 'PSS after', 'gc 0/1/2'];
const cells = (w?: PassWorker): string[] =>
  w
    ? [bytes(w.after.copied), bytes(w.before.uss), bytes(w.after.uss), bytes(w.after.pss), gens(w)]
    : HEAD.map(() => '');
const meanCells = (p: ServerPass): string[] => {
  const m = (get: (w: PassWorker) => number | null): string =>
    p.workers.every((w) => get(w) !== null) ? formatBytes(mean(p.workers.map((w) => get(w)!))) : '-';
  return [m((w) => w.after.copied), m((w) => w.before.uss), m((w) => w.after.uss), m((w) => w.after.pss), ''];
};
const loadText = (p: ServerPass): string =>
  p.load.command
    ? `${p.load.command}: ${p.load.ok ? 'exit 0' : 'failed'} in ${p.load.seconds.toFixed(1)} s`
    : `${formatCount(p.load.ok)} ok, ${formatCount(p.load.failed)} failed in ${p.load.seconds.toFixed(1)} s (${formatCount(Math.round(p.load.ok / Math.max(0.001, p.load.seconds)))}/s)`;
const fullText = (p: ServerPass): string => formatCount(p.workers.reduce((a, w) => a + (full(w) ?? 0), 0));

export function serverCompareTable(r: ServerCompare): string {
  const [off, on] = r.passes;
  const lines = [
    `cowtop run --compare: ${r.command}`,
    `${off.implementation ?? 'Python'}, ${off.workers.length} workers, the same load each pass: ${r.load}`,
    '',
  ];
  const rows: string[][] = [];
  for (let i = 0; i < Math.max(off.workers.length, on.workers.length); i++)
    rows.push([String(i + 1), ...cells(off.workers[i]), ...cells(on.workers[i])]);
  rows.push(['mean', ...meanCells(off), ...meanCells(on)]);
  const table = textTable([['worker', ...HEAD, ...HEAD], ...rows], 1, [6]);
  const widths = table.widths;
  const leftWidth = widths.slice(0, 6).reduce((a, b) => a + b + 2, 0);
  lines.push(`${''.padEnd(widths[0] + 2)}${'as it is'.padEnd(leftWidth - widths[0] - 2 + 3)}with the freeze recipe`);
  lines.push(...table.lines);
  lines.push('');
  if (!r.frozen) lines.push(NO_VERDICT[String(r.frozen) as 'false' | 'null']);
  else if (r.copied.without === null)
    lines.push(
      'Memory copied since fork: not measurable here (pagemap frame numbers need root or CAP_SYS_ADMIN); USS above is.',
    );
  else
    lines.push(
      `Memory copied since fork, per worker: ${formatBytes(r.copied.without)} -> ${formatBytes(r.copied.with ?? 0)} with the freeze recipe, ${formatReduction(r.copied.reduction)}`,
    );
  lines.push(
    `Σ PSS of the tree: ${formatBytes(off.pss.after)} -> ${formatBytes(on.pss.after)}; Σ RSS ${formatBytes(off.rss.after)} -> ${formatBytes(on.rss.after)}`,
  );
  lines.push(
    `Full collections in the workers during the load: ${fullText(off)} -> ${fullText(on)}; frozen objects per worker with the recipe: ${formatCount(mean(on.workers.map((w) => w.after.frozen ?? 0)))}`,
  );
  if (r.container) lines.push(...containerLines(r.container, formatBytes));
  lines.push(`Load: ${loadText(off)}; ${loadText(on)}`);
  for (const p of r.passes)
    if (p.replaced)
      lines.push(
        `${p.freeze ? 'With the recipe' : 'As it is'}: ${p.replaced} worker(s) exited during the load and are left out`,
      );
  return lines.join('\n');
}

export function serverCompareMarkdown(r: ServerCompare): string {
  const [off, on] = r.passes;
  const lines = [
    `**cowtop run --compare**: \`${r.command}\`, ${off.implementation ?? 'Python'}, ${off.workers.length} workers; the same load each pass: ${r.load}`,
    '',
  ];
  const rows: string[][] = [];
  for (let i = 0; i < Math.max(off.workers.length, on.workers.length); i++)
    rows.push([String(i + 1), ...cells(off.workers[i]), ...cells(on.workers[i])]);
  rows.push(['**mean**', ...meanCells(off), ...meanCells(on)]);
  const titles = ['worker', ...HEAD.map((h) => `${h} (as it is)`), ...HEAD.map((h) => `${h} (freeze)`)];
  lines.push(...markdownTable(titles, rows), '');
  if (!r.frozen) lines.push(NO_VERDICT[String(r.frozen) as 'false' | 'null']);
  else
    lines.push(
      r.copied.without === null
        ? 'Memory copied since fork: not measurable here (pagemap frame numbers need root).'
        : `Memory copied since fork, per worker: ${formatBytes(r.copied.without)} as it is, ${formatBytes(r.copied.with ?? 0)} with the freeze recipe (${formatReduction(r.copied.reduction)}).`,
    );
  lines.push(
    '',
    `Σ PSS: ${formatBytes(off.pss.after)} -> ${formatBytes(on.pss.after)}. Full collections during the load: ${fullText(off)} -> ${fullText(on)}. Load: ${loadText(off)}; ${loadText(on)}.`,
    ...(r.container ? ['', ...containerLines(r.container, formatBytes).map((l) => `${l}.`)] : []),
  );
  return lines.join('\n');
}
