/** What parsing the command line gives: one Command, plain data for main.ts to run. */
import type { ExperimentOptions } from '../experiment/options';
import type { StrategyName } from '../experiment/strategy';
import type { PassWorkload } from '../measure/compare';
import type { LoadOptions, RunOptions } from '../session/run-session';
import type { DashboardOptions } from '../ui/dashboard-options';

export interface Common {
  experiment: ExperimentOptions;
  force: boolean;
  minAvailable: number;
  procRoot: string;
}

export interface Prometheus {
  port: number;
  host: string;
}

export interface BatchOptions {
  duration: number | null;
  format: 'json' | 'csv' | 'table';
  output: string | null;
  map?: boolean; // --map: every sample record carries the copy map
}

export type Command =
  | ({ kind: 'dashboard'; prometheus: Prometheus | null; screen: DashboardOptions } & Common)
  | ({ kind: 'batch'; prometheus: Prometheus | null } & BatchOptions & Common)
  | ({
      kind: 'compare';
      format: 'table' | 'json' | 'markdown';
      matrix: boolean;
      strategies: StrategyName[] | null;
      requests: number | null;
      pass: PassWorkload;
      pythons: string[];
    } & Common)
  | {
      kind: 'attach';
      pid: number; // 0 until --match finds it
      match: { pattern: RegExp; waitMs: number } | null;
      name: string;
      interval: number;
      procRoot: string;
      prometheus: Prometheus | null;
      batch: BatchOptions | null;
      screen: DashboardOptions;
    }
  | {
      kind: 'run';
      run: RunOptions;
      prometheus: Prometheus | null;
      batch: BatchOptions | null;
      screen: DashboardOptions;
    }
  | { kind: 'run-compare'; run: RunOptions; load: LoadOptions; format: 'table' | 'json' | 'markdown' }
  | { kind: 'agent-path' }
  | { kind: 'agent-copy'; dest: string };
