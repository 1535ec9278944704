/**
 * compare --matrix: each interpreter x the workloads whose cost one pass shows (collect, read,
 * write), without and with gc.freeze(), in one table.
 */
import { safeJson } from '../format/sanitize';
import { realpathSync } from 'node:fs';
import { probePython } from '../experiment/python';
import { formatBytes, formatReduction } from '../format/units';
import { lifecycle } from '../lifecycle';
import type { Command } from './args';
import { growth, runCompareExperiment } from './compare';

const WORKLOADS = ['collect', 'read', 'write'] as const;
const CANDIDATES = ['python3', 'pypy3', ...Array.from({ length: 8 }, (_, i) => `python3.${7 + i}`)];

export interface MatrixRow {
  python: string;
  implementation: string;
  version: string;
  workload: (typeof WORKLOADS)[number];
  copiedWithout: number; // mean USS growth per worker, bytes
  copiedWith: number | null; // null: no gc.freeze in this interpreter
  reduction: number | null;
}

/** The interpreters to compare: those given, or every one found on PATH, once each. */
export async function findInterpreters(given: string[]): Promise<string[]> {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const name of given.length ? given : CANDIDATES) {
    try {
      const info = await probePython(name, 10_000);
      const real = realpathSync(info.executable);
      if (seen.has(real)) continue;
      seen.add(real);
      out.push(name);
    } catch (err) {
      if (given.length) throw err; // one the user named must work
    }
  }
  return out;
}

export async function runMatrix(cmd: Extract<Command, { kind: 'compare' }>): Promise<void> {
  const pythons = await findInterpreters(cmd.pythons).catch((err: Error) => lifecycle.exit(2, `cowtop: ${err.message}`));
  const rows: MatrixRow[] = [];
  for (const python of pythons) {
    for (const workload of WORKLOADS) {
      const r = await runCompareExperiment({ ...cmd, experiment: { ...cmd.experiment, python } }, cmd.procRoot, workload);
      rows.push({
        python,
        implementation: r.implementation,
        version: r.version,
        workload,
        copiedWithout: growth(r.runs[0]),
        copiedWith: r.runs[1] ? growth(r.runs[1]) : null,
        reduction: r.reduction,
      });
    }
  }
  const size = cmd.experiment.size;
  if (cmd.format === 'json') {
    process.stdout.write(safeJson({ type: 'matrix', size, workers: cmd.experiment.workers, rows }) + '\n');
  } else {
    const head = ['interpreter', 'workload', 'copied without freeze', 'copied with freeze', 'change'];
    const cells = rows.map((r) => [`${r.implementation} ${r.version}`, r.workload, formatBytes(r.copiedWithout), r.copiedWith === null ? 'no gc.freeze()' : formatBytes(r.copiedWith), formatReduction(r.reduction)]);
    if (cmd.format === 'markdown') {
      const lines = [`| ${head.join(' | ')} |`, '| --- | --- | ---: | ---: | ---: |', ...cells.map((c) => `| ${c.join(' | ')} |`)];
      process.stdout.write(`**cowtop compare --matrix**: ${size.toLocaleString('en-US')} objects, ${cmd.experiment.workers} workers; memory copied per worker by one pass\n\n${lines.join('\n')}\n`);
    } else {
      const all = [head, ...cells];
      const w = head.map((_, i) => Math.max(...all.map((c) => c[i].length)));
      const fmt = (c: string[]): string => c.map((x, i) => (i < 2 ? x.padEnd(w[i]) : x.padStart(w[i]))).join('  ');
      process.stdout.write(`cowtop compare --matrix: ${size.toLocaleString('en-US')} objects, ${cmd.experiment.workers} workers; memory copied per worker by one pass\n\n${all.map(fmt).join('\n')}\n`);
    }
  }
}
