/** compare --matrix as a person reads it, or as Markdown to paste. */
import { recordsText } from '../experiment/options';
import { markdownTable, textTable } from '../format/tables';
import { formatBytes, formatReduction } from '../format/units';
import type { MatrixRow } from './matrix';

/** The matrix as a person reads it (or as Markdown, to paste). */
export function matrixText(rows: MatrixRow[], size: number, workers: number, format: 'table' | 'markdown'): string {
  const head = ['interpreter', 'workload', 'copied without freeze', 'copied with freeze', 'change'];
  const cells = rows.map((r) => [
    `${r.implementation} ${r.version}`,
    r.workload,
    formatBytes(r.copiedWithout),
    r.copiedWith === null ? 'no gc.freeze()' : formatBytes(r.copiedWith),
    formatReduction(r.reduction),
  ]);
  const title = `${recordsText(size)}, ${workers} worker${workers === 1 ? '' : 's'}; memory copied per worker by one pass`;
  if (format === 'markdown')
    return `**cowtop compare --matrix**: ${title}\n\n${markdownTable(head, cells, 2).join('\n')}`;
  return `cowtop compare --matrix: ${title}\n\n${textTable([head, ...cells], 2).lines.join('\n')}`;
}
