/**
 * compare --matrix: each interpreter x the workloads whose cost one pass shows (collect, read,
 * write), without and with gc.freeze(): one row each.
 */
import { type CompareOptions, copiedMean, growth, runCompareExperiment } from './compare';

export const WORKLOADS = ['collect', 'read', 'write'] as const;

export interface MatrixRow {
  python: string;
  implementation: string;
  version: string;
  workload: (typeof WORKLOADS)[number];
  copiedWithout: number; // mean bytes copied per worker during the pass (pagemap; USS growth without the privilege)
  copiedWith: number | null; // null: no gc.freeze in this interpreter
  reduction: number | null;
}

/** The rows of one interpreter, every workload in turn. */
export async function matrixRows(cmd: CompareOptions, python: string): Promise<MatrixRow[]> {
  const rows: MatrixRow[] = [];
  for (const workload of WORKLOADS) {
    const r = await runCompareExperiment({ ...cmd, experiment: { ...cmd.experiment, python } }, cmd.procRoot, workload);
    rows.push({
      python,
      implementation: r.implementation,
      version: r.version,
      workload,
      // Page by page where frames are readable (root), else USS growth.
      copiedWithout: copiedMean(r.runs[0]) ?? growth(r.runs[0]),
      copiedWith: r.runs[1] ? (copiedMean(r.runs[1]) ?? growth(r.runs[1])) : null,
      reduction: r.reduction,
    });
  }
  return rows;
}
