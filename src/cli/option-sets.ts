/**
 * The options cowtop's commands share, as yargs reads them (for --help and for the words it
 * accepts). Their values are checked in settings.ts and values.ts, not here.
 */
import type { Options } from 'yargs';
import { DEFAULTS, MAX_WORKERS, TRACKED_PER_RECORD, WORKLOAD_HELP, WORKLOADS } from '../experiment/options';
import { STRATEGY_HELP } from '../experiment/strategy';

/** An option that takes a value (read as text: the checks are cowtop's). */
export const valued = (describe: string, group?: string, def?: unknown): Options => ({
  requiresArg: true,
  describe,
  ...(group ? { group } : {}),
  ...(def !== undefined ? { default: def } : {}),
});

/** A file name or other text. */
export const text = (describe: string, group?: string, def?: string): Options => ({
  ...valued(describe, group, def),
  type: 'string',
});

/** A flag: true, false, --no-X. */
export const flag = (describe: string, group?: string, def = false): Options => ({
  type: 'boolean',
  default: def,
  describe,
  ...(group ? { group } : {}),
});

const EXPERIMENT = 'Experiment:';
const gcHelp = Object.entries(STRATEGY_HELP)
  .map(([n, h]) => `  ${n === 'threshold' ? 'threshold:N[,N1,N2]' : n}: ${h}`)
  .join('\n');

/** What the experiment is: the dashboard, --batch, demo and compare take these. */
export const EXPERIMENT_OPTIONS: Record<string, Options> = {
  size: valued(
    `records the parent builds and shares before fork; each is ${TRACKED_PER_RECORD} gc-tracked objects (a small object and its list)`,
    EXPERIMENT,
    DEFAULTS.size,
  ),
  workers: valued(`workers to fork (1-${MAX_WORKERS})`, EXPERIMENT, DEFAULTS.workers),
  freeze: flag(
    'gc.freeze() before fork (--no-freeze: leave the gc alone); the same as --gc freeze',
    EXPERIMENT,
    DEFAULTS.freeze,
  ),
  gc: text(`the workers' gc strategy:\n${gcHelp}\n[default: default]`, EXPERIMENT),
  enabler: valued(
    'with --gc disable: each worker calls gc.enable() after S seconds, as a library that imports late would',
    EXPERIMENT,
  ),
  workload: {
    ...text(`what workers do:\n${WORKLOADS.map((w) => `  ${w}: ${WORKLOAD_HELP[w]}`).join('\n')}`, EXPERIMENT),
    requiresArg: false,
    default: DEFAULTS.workload,
  },
  'collect-every': valued('seconds between gc.collect() calls (collect workload)', EXPERIMENT, DEFAULTS.collectEvery),
  python: {
    type: 'string',
    describe: 'interpreter to run the experiment [default: $COWTOP_PYTHON or python3]',
    group: EXPERIMENT,
  },
  interval: valued('sample interval in ms (100 to 3600000)', EXPERIMENT, DEFAULTS.interval),
  split: flag('half the workers forked before gc.freeze(), half right after: both side by side', EXPERIMENT),
  tracemalloc: flag(
    "workers report tracemalloc's current and peak, shown beside USS: pages copied with no Python allocation behind them",
    EXPERIMENT,
  ),
  force: flag(
    'start even if the worst case (every worker copying the heap) exceeds 80% of available memory',
    'Safety:',
  ),
  'min-available': valued('stop the workers when available memory falls under this % while running', 'Safety:', 10),
};

/** Where what is watched goes: --batch records, Prometheus, a recording, the export key, the copy map. */
export const OUTPUT_OPTIONS: Record<string, Options> = {
  batch: flag('no screen: one record per sample on stdout', 'Batch:'),
  duration: valued('with --batch: stop after this many seconds', 'Batch:'),
  format: { type: 'string', default: 'json', describe: 'with --batch: json, csv or table', group: 'Batch:' },
  output: text('with --batch: write records to this file instead of stdout', 'Batch:'),
  prometheus: valued('serve OpenMetrics on this port (dashboard or --batch)', 'Prometheus:'),
  'prometheus-host': {
    type: 'string',
    default: '127.0.0.1',
    describe: 'address the metrics endpoint listens on',
    group: 'Prometheus:',
  },
  record: text('write an asciicast v2 recording of the dashboard (asciinema play FILE)', 'Dashboard:'),
  export: text('where the e key writes the current snapshot (.csv: CSV, else JSON)', 'Dashboard:'),
  ascii: flag(
    'draw with ASCII only (S USS, ^ v sort marks, * plots, # + map cells): chosen by itself where the locale is not UTF-8',
    'Dashboard:',
  ),
  map: flag(
    'the copy map (pagemap: which pages each worker copied from the parent, per mapping): the dashboard opens its pane (m), --batch records carry it',
    'Copy map:',
  ),
};
