/** Parsed options turned into the settings of each part: the experiment, batch, Prometheus, the screen. */
import { type ExperimentOptions, WORKLOADS } from '../experiment/options';
import { parseStrategy, strategySpec } from '../experiment/strategy';
import type { DashboardOptions } from '../ui/dashboard-options';
import { UsageError } from '../util/usage-error';
import type { BatchOptions, Common, Prometheus } from './command-types';
import { MAX_COLLECT_EVERY_S, MAX_DURATION_S, oneOf, seconds, wholeNumber } from './values';

type Parsed = Record<string, unknown>;

export function screenOptions(a: Parsed, batch: boolean, intervalGiven = false): DashboardOptions {
  const file = (name: string): string | null => {
    if (a[name] === undefined) return null;
    if (batch) throw new UsageError(`--${name} goes with the dashboard, not --batch`);
    const f = String(a[name]);
    if (!f.trim()) throw new UsageError(`--${name} needs a file name`);
    return f;
  };
  if (a.ascii && batch) throw new UsageError('--ascii goes with the dashboard, not --batch');
  return {
    record: file('record'),
    exportFile: file('export'),
    map: Boolean(a.map),
    ascii: Boolean(a.ascii),
    intervalGiven,
  };
}

/** --batch and its companions; null for the dashboard (after checking none was given alone). */
export function batchOptions(a: Parsed): BatchOptions | null {
  if (!a.batch) {
    if (a.duration !== undefined) throw new UsageError('--duration goes with --batch');
    if (a.output !== undefined) throw new UsageError('--output goes with --batch');
    return null;
  }
  const duration = a.duration === undefined ? null : seconds('duration', a.duration, MAX_DURATION_S);
  const output = a.output === undefined ? null : String(a.output);
  if (output !== null && !output.trim()) throw new UsageError('--output needs a file name');
  const format = oneOf('format', a.format, ['json', 'csv', 'table'] as const);
  if (a.map && format !== 'json')
    throw new UsageError(`--map goes with --format json (a ${format} row has no room for a map)`);
  return { duration, format, output, map: Boolean(a.map) };
}

export function prometheusOptions(a: Parsed): Prometheus | null {
  if (a.prometheus === undefined) return null;
  const host = String(a['prometheus-host'] ?? '127.0.0.1').trim();
  if (!host) throw new UsageError('--prometheus-host needs an address');
  return { port: wholeNumber('prometheus', a.prometheus), host };
}

export function common(a: Parsed, env: NodeJS.ProcessEnv): Common {
  const rawMin = String(a['min-available']).trim();
  const minAvailable = /^\d+(\.\d+)?$/.test(rawMin) ? Number(rawMin) : NaN;
  if (!(minAvailable >= 0 && minAvailable <= 100)) {
    throw new UsageError(`--min-available must be a percentage from 0 to 100, got '${a['min-available']}'`);
  }
  const procRoot = env.COWTOP_PROC_ROOT ?? '/proc';
  if (!procRoot.trim()) throw new UsageError('COWTOP_PROC_ROOT is set but empty');
  return { experiment: experimentOptions(a, env), force: Boolean(a.force), minAvailable, procRoot };
}

function experimentOptions(a: Parsed, env: NodeJS.ProcessEnv): ExperimentOptions {
  let python = a.python as string | undefined;
  if (python === undefined && env.COWTOP_PYTHON !== undefined) {
    if (!env.COWTOP_PYTHON.trim()) throw new UsageError('COWTOP_PYTHON is set but empty');
    python = env.COWTOP_PYTHON;
  }
  if (python !== undefined && !String(python).trim()) throw new UsageError('--python needs a path or a command name');
  let gc = a.freeze ? 'freeze' : 'default';
  if (a.gc !== undefined) {
    try {
      gc = strategySpec(parseStrategy(String(a.gc)));
    } catch (err) {
      throw new UsageError(`--gc ${(err as Error).message}`);
    }
    if (a.freeze && gc !== 'freeze')
      throw new UsageError(`--freeze is --gc freeze: give one, not --freeze with --gc ${gc}`);
  }
  if (a.split && a.gc !== undefined && gc !== 'freeze')
    throw new UsageError('--split puts frozen and unfrozen workers side by side: it goes without --gc');
  let enabler: number | null = null;
  if (a.enabler !== undefined) {
    if (gc !== 'disable' && a.strategies === undefined)
      throw new UsageError('--enabler goes with --gc disable (or compare --strategies, for its disable run)');
    enabler = seconds('enabler', a.enabler, MAX_DURATION_S);
  }
  return {
    python: python ?? 'python3',
    gc,
    enabler,
    size: wholeNumber('size', a.size),
    workers: wholeNumber('workers', a.workers),
    freeze: gc === 'freeze',
    workload: oneOf('workload', a.workload, WORKLOADS),
    collectEvery: seconds('collect-every', a['collect-every'], MAX_COLLECT_EVERY_S),
    interval: wholeNumber('interval', a.interval),
    tracemalloc: Boolean(a.tracemalloc),
    split: Boolean(a.split),
  };
}
