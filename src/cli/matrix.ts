/** compare --matrix: every interpreter found (or each --python), said as each finishes, then one table. */
import { findInterpreters } from '../experiment/interpreters';
import { safeJson, sanitize } from '../format/sanitize';
import { formatReduction } from '../format/units';
import { lifecycle } from '../lifecycle';
import { matrixRows, type MatrixRow, WORKLOADS } from '../measure/matrix';
import { matrixText } from '../measure/matrix-report';
import type { Command } from './args';

/** An install found but left out, in one line. Its path is anyone's bytes (a pyenv version's directory name): the one sanitizer. */
export function leftOutLine(s: { python: string; why: string }): string {
  return sanitize(`cowtop: left out ${s.python}: ${s.why.replace(/^.*? is /, 'it is ')}`);
}

export async function runMatrix(cmd: Extract<Command, { kind: 'compare' }>): Promise<void> {
  const found = await findInterpreters(cmd.pythons).catch((err: Error) => lifecycle.exit(2, `cowtop: ${err.message}`));
  const pythons = found.pythons;
  // Left out, each in one line on stderr: the table stays a table.
  for (const s of found.skipped) process.stderr.write(`${leftOutLine(s)}\n`);
  const rows: MatrixRow[] = [];
  const started = Date.now();
  process.stderr.write(
    `cowtop: ${pythons.length} interpreter${pythons.length === 1 ? '' : 's'} x ${WORKLOADS.join(', ')}, without and with gc.freeze(): each is said as it finishes\n`,
  );
  for (const [i, python] of pythons.entries()) {
    rows.push(...(await matrixRows(cmd, python)));
    // Progress on stderr, one line an interpreter: the table on stdout stays whole.
    const mine = rows.slice(-WORKLOADS.length);
    process.stderr.write(
      `${sanitize(`cowtop: [${i + 1}/${pythons.length}, ${Math.round((Date.now() - started) / 1000)} s] ${mine[0].implementation} ${mine[0].version} (${python}): ${mine.map((m) => `${m.workload} ${formatReduction(m.reduction)}`).join(', ')}`)}\n`,
    );
  }
  const size = cmd.experiment.size;
  if (cmd.format === 'json') {
    process.stdout.write(
      `${safeJson({ type: 'matrix', size, workers: cmd.experiment.workers, rows, skipped: found.skipped })}\n`,
    );
  } else {
    process.stdout.write(`${matrixText(rows, size, cmd.experiment.workers, cmd.format)}\n`);
  }
}
