/** What the experiment is asked to do; shared by every command. */
export interface ExperimentOptions {
  python: string;
  size: number;
  workers: number;
  freeze: boolean;
  workload: string;
  collectEvery: number; // seconds
  interval: number; // ms
}

export const WORKLOADS = ['idle', 'collect'] as const;
export const MAX_WORKERS = 64;
export const DEFAULTS = {
  size: 1_000_000,
  workers: 4,
  freeze: false,
  workload: 'idle',
  collectEvery: 5,
  interval: 1000,
};

export const EXPERIMENT_SCRIPT = require('node:path').join(__dirname, '..', '..', '..', 'python', 'cowtop_experiment.py') as string;

/** The directory holding cowtop_agent.py: what goes on an application's PYTHONPATH. */
export const AGENT_DIR = require('node:path').join(__dirname, '..', '..', '..', 'python') as string;
