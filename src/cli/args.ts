/** Command-line parsing and validation. Every bad input becomes one UsageError line. */
import { grouped } from '../format/units';
import { pickSteps } from '../ui/tour';
import type { DashboardOptions } from '../ui/dashboard-options';
import yargs, { type Argv } from 'yargs';
import {
  DEFAULTS,
  MAX_WORKERS,
  TRACKED_PER_RECORD,
  WORKLOAD_HELP,
  WORKLOADS,
  type ExperimentOptions,
} from '../experiment/options';
import { UsageError } from '../util/usage-error';
import type { LoadOptions, RunOptions } from '../session/run-session';
import { parseStrategy, STRATEGY_HELP, strategySpec, type StrategyName } from '../experiment/strategy';

const STRATEGY_NAMES: StrategyName[] = ['default', 'disable', 'threshold', 'freeze'];

/** What compare can measure one pass of: a collection, or a workload's act(). */
export const PASS_WORKLOADS = ['collect', 'read', 'write', 'serve'] as const;
export type PassWorkload = (typeof PASS_WORKLOADS)[number];

/** compare --strategies [LIST]: all four, or the names listed (comma-separated). */
function strategyList(text: string): StrategyName[] {
  if (!text.trim()) return STRATEGY_NAMES;
  const names = text.split(',').map((x) => x.trim());
  const bad = names.find((n) => !(STRATEGY_NAMES as string[]).includes(n));
  if (bad !== undefined)
    throw new UsageError(`--strategies takes names from ${STRATEGY_NAMES.join(', ')}, got '${bad}'`);
  return STRATEGY_NAMES.filter((n) => names.includes(n));
}

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
      pid: number;
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
  | { kind: 'agent-path' };

/** run's options that take a value: the command starts at the first word that is none of them. */
const RUN_VALUED = new Set([
  '--stop-timeout',
  '--name',
  '--interval',
  '--duration',
  '--format',
  '--output',
  '--prometheus',
  '--prometheus-host',
  '--record',
  '--export',
  '--load',
  '--requests',
  '--load-cmd',
  '--concurrency',
]);

/** Splits `run [options] [--] COMMAND...`: cowtop's options, then the command, untouched. */
export function splitRun(argv: string[]): { own: string[]; command: string[] } {
  const dash = argv.indexOf('--');
  if (dash >= 0) return { own: argv.slice(0, dash), command: argv.slice(dash + 1) };
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('-')) return { own: argv.slice(0, i), command: argv.slice(i) };
    if (RUN_VALUED.has(a)) i++;
  }
  return { own: argv, command: [] };
}

/** Load goes to this machine only: a URL elsewhere is refused, not sent. */
function loopbackUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new UsageError(`--load must be an http:// URL, got '${raw}'`);
  }
  if (u.protocol !== 'http:') throw new UsageError(`--load must be an http:// URL, got '${raw}'`);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (!(host === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::1'))
    throw new UsageError(
      `--load sends requests to this machine only (localhost, 127.0.0.0/8 or ::1), got '${u.hostname}'`,
    );
  return u.toString();
}

const NAME = /^[\w.:-]{1,64}$/;

/** The server's default label: the command's file name, with what a label cannot hold as '_'. */
export function defaultName(command: string): string {
  const base = command.split('/').filter(Boolean).pop() ?? '';
  const name = base
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\w.:-]/g, '_')
    .slice(0, 64);
  return NAME.test(name) && /[^_.]/.test(name) ? name : 'server';
}

const VERSION: string = require('../../../package.json').version;

function sharedOptions<T>(y: Argv<T>) {
  return y
    .option('size', {
      requiresArg: true,
      default: DEFAULTS.size,
      describe: `records the parent builds and shares before fork; each is ${TRACKED_PER_RECORD} gc-tracked objects (a small object and its list)`,
      group: 'Experiment:',
    })
    .option('workers', {
      requiresArg: true,
      default: DEFAULTS.workers,
      describe: `workers to fork (1-${MAX_WORKERS})`,
      group: 'Experiment:',
    })
    .option('freeze', {
      type: 'boolean',
      default: DEFAULTS.freeze,
      describe: 'gc.freeze() before fork (--no-freeze: leave the gc alone); the same as --gc freeze',
      group: 'Experiment:',
    })
    .option('gc', {
      type: 'string',
      requiresArg: true,
      describe: `the workers' gc strategy:\n${Object.entries(STRATEGY_HELP)
        .map(([n, h]) => `  ${n === 'threshold' ? 'threshold:N[,N1,N2]' : n}: ${h}`)
        .join('\n')}\n[default: default]`,
      group: 'Experiment:',
    })
    .option('enabler', {
      requiresArg: true,
      describe:
        'with --gc disable: each worker calls gc.enable() after S seconds, as a library that imports late would',
      group: 'Experiment:',
    })
    .option('workload', {
      type: 'string',
      default: DEFAULTS.workload,
      describe: `what workers do:\n${WORKLOADS.map((w) => `  ${w}: ${WORKLOAD_HELP[w]}`).join('\n')}`,
      group: 'Experiment:',
    })
    .option('collect-every', {
      requiresArg: true,
      default: DEFAULTS.collectEvery,
      describe: 'seconds between gc.collect() calls (collect workload)',
      group: 'Experiment:',
    })
    .option('python', {
      type: 'string',
      describe: 'interpreter to run the experiment [default: $COWTOP_PYTHON or python3]',
      group: 'Experiment:',
    })
    .option('interval', {
      requiresArg: true,
      default: DEFAULTS.interval,
      describe: 'sample interval in ms (100 to 3600000)',
      group: 'Experiment:',
    })
    .option('split', {
      type: 'boolean',
      default: false,
      describe: 'half the workers forked before gc.freeze(), half right after: both side by side',
      group: 'Experiment:',
    })
    .option('tracemalloc', {
      type: 'boolean',
      default: false,
      describe:
        "workers report tracemalloc's current and peak, shown beside USS: pages copied with no Python allocation behind them",
      group: 'Experiment:',
    })
    .option('force', {
      type: 'boolean',
      default: false,
      describe: 'start even if the worst case (every worker copying the heap) exceeds 80% of available memory',
      group: 'Safety:',
    })
    .option('min-available', {
      requiresArg: true,
      default: 10,
      describe: 'stop the workers when available memory falls under this % while running',
      group: 'Safety:',
    });
}

function outputOptions<T>(y: Argv<T>) {
  return y
    .option('batch', {
      type: 'boolean',
      default: false,
      describe: 'no screen: one record per sample on stdout',
      group: 'Batch:',
    })
    .option('duration', { requiresArg: true, describe: 'with --batch: stop after this many seconds', group: 'Batch:' })
    .option('format', {
      type: 'string',
      default: 'json',
      describe: 'with --batch: json, csv or table',
      group: 'Batch:',
    })
    .option('output', {
      type: 'string',
      requiresArg: true,
      describe: 'with --batch: write records to this file instead of stdout',
      group: 'Batch:',
    })
    .option('prometheus', {
      requiresArg: true,
      describe: 'serve OpenMetrics on this port (dashboard or --batch)',
      group: 'Prometheus:',
    })
    .option('prometheus-host', {
      type: 'string',
      default: '127.0.0.1',
      describe: 'address the metrics endpoint listens on',
      group: 'Prometheus:',
    })
    .option('record', {
      type: 'string',
      requiresArg: true,
      describe: 'write an asciicast v2 recording of the dashboard (asciinema play FILE)',
      group: 'Dashboard:',
    })
    .option('export', {
      type: 'string',
      requiresArg: true,
      describe: 'where the e key writes the current snapshot (.csv: CSV, else JSON)',
      group: 'Dashboard:',
    })
    .option('map', {
      type: 'boolean',
      default: false,
      describe:
        'the copy map (pagemap: which pages each worker copied from the parent, per mapping): the dashboard opens its pane (m), --batch records carry it',
      group: 'Copy map:',
    });
}

function screenOptions(a: Record<string, unknown>, batch: boolean): DashboardOptions {
  const file = (name: string): string | null => {
    if (a[name] === undefined) return null;
    if (batch) throw new UsageError(`--${name} goes with the dashboard, not --batch`);
    const f = String(a[name]);
    if (!f.trim()) throw new UsageError(`--${name} needs a file name`);
    return f;
  };
  return { record: file('record'), exportFile: file('export'), map: Boolean(a.map) };
}

/** --batch and its companions; null for the dashboard (after checking none was given alone). */
function batchOptions(a: Record<string, unknown>): BatchOptions | null {
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

function prometheusOptions(a: Record<string, unknown>): Prometheus | null {
  if (a.prometheus === undefined) return null;
  const host = String(a['prometheus-host'] ?? '127.0.0.1').trim();
  if (!host) throw new UsageError('--prometheus-host needs an address');
  return { port: wholeNumber('prometheus', a.prometheus), host };
}

/** Node's timers hold 2^31-1 ms: a longer wait would fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
export const LIMITS = {
  size: [1, 100_000_000_000], // beyond any machine: the memory guard says why with the numbers
  requests: [1, 100_000_000],
  workers: [1, MAX_WORKERS],
  interval: [100, 3_600_000], // ms
  prometheus: [1, 65_535],
  concurrency: [1, 256],
  pid: [1, 4_194_304], // the kernel's PID_MAX_LIMIT
} as const;
export const MAX_DURATION_S = Math.floor(MAX_TIMER_MS / 1000);
export const MAX_COLLECT_EVERY_S = 86_400;

const plain = grouped;

/** Decimal digits only (1_000_000 too): no hex, no exponent, no sign, no fraction. */
function wholeNumber(name: keyof typeof LIMITS, raw: unknown, what = `--${name}`): number {
  const [min, max] = LIMITS[name];
  const text = String(raw).trim();
  const range = `from ${plain(min)} to ${plain(max)}`;
  if (!/^\d+(_\d+)*$/.test(text)) throw new UsageError(`${what} must be a whole decimal number ${range}, got '${raw}'`);
  const n = Number(text.replace(/_/g, ''));
  if (n < min || n > max) throw new UsageError(`${what} must be ${range}, got ${plain(n)}`);
  return n;
}

function seconds(name: string, raw: unknown, max: number): number {
  const text = String(raw).trim();
  const n = /^\d+(\.\d+)?$|^\.\d+$/.test(text) ? Number(text) : NaN;
  if (!(n > 0) || n > max)
    throw new UsageError(
      `--${name} must be a decimal number of seconds above 0 and at most ${plain(max)}, got '${raw}'`,
    );
  return n;
}

/**
 * yargs reads `--freeze=maybe`, and even `--freeze=TRUE`, as false, in silence. A flag takes no
 * value but true or false, in any case: `--X=true` becomes `--X` and `--X=false` `--no-X` here,
 * before yargs sees them; any other value is refused.
 */
export function normalizeFlags(argv: readonly string[], flags: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') return [...out, ...argv.slice(i)];
    const m = /^--(no-)?([\w-]+)=(.*)$/s.exec(arg);
    if (!m || !flags.includes(m[2])) {
      out.push(arg);
      continue;
    }
    const value = m[3].toLowerCase();
    if (value !== 'true' && value !== 'false')
      throw new UsageError(`--${m[2]} takes no value (or =true / =false), got '${m[3]}'`);
    out.push((value === 'true') === !m[1] ? `--${m[2]}` : `--no-${m[2]}`);
  }
  return out;
}

function oneOf<T extends string>(name: string, raw: unknown, allowed: readonly T[]): T {
  if (typeof raw === 'string' && (allowed as readonly string[]).includes(raw)) return raw as T;
  throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, got '${raw}'`);
}

function common(a: Record<string, unknown>, env: NodeJS.ProcessEnv): Common {
  const rawMin = String(a['min-available']).trim();
  const minAvailable = /^\d+(\.\d+)?$/.test(rawMin) ? Number(rawMin) : NaN;
  if (!(minAvailable >= 0 && minAvailable <= 100)) {
    throw new UsageError(`--min-available must be a percentage from 0 to 100, got '${a['min-available']}'`);
  }
  const procRoot = env.COWTOP_PROC_ROOT ?? '/proc';
  if (!procRoot.trim()) throw new UsageError('COWTOP_PROC_ROOT is set but empty');
  return { experiment: experimentOptions(a, env), force: Boolean(a.force), minAvailable, procRoot };
}

function experimentOptions(a: Record<string, unknown>, env: NodeJS.ProcessEnv): ExperimentOptions {
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

const FLAGS = [
  'freeze',
  'split',
  'tracemalloc',
  'force',
  'batch',
  'matrix',
  'path',
  'help',
  'version',
  'keep',
  'compare',
  'map',
];

/** Parses argv. --help and --version print and exit 0 (through yargs). */
export async function parseArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<Command> {
  let result: Command | null = null;
  // run's command is not cowtop's to parse: it is split off before yargs sees it.
  let runCommand: string[] | null = null;
  if (argv[0] === 'run') ({ own: argv, command: runCommand } = splitRun(argv));
  argv = normalizeFlags(argv, FLAGS);
  let failure: string | null = null;
  const y = yargs(argv)
    .scriptName('cowtop')
    .usage(
      "Usage: cowtop [compare | run -- COMMAND | attach <pid> | demo | agent --path] [options]\n\nWatch Python's garbage collector break copy-on-write sharing after fork(),\nand gc.freeze() prevent it: USS, PSS, RSS, page faults and gc counts per process.",
    )
    // Numbers are read here, not by yargs: it would take 0x10 and 1e3 for numbers.
    .parserConfiguration({
      'duplicate-arguments-array': false,
      'parse-numbers': false,
      'parse-positional-numbers': false,
    })
    .command(
      '$0',
      'run the experiment and show it live (or --batch: print samples)',
      (c) => outputOptions(sharedOptions(c)),
      (a) => {
        const c = common(a, env);
        const batch = batchOptions(a);
        const prometheus = prometheusOptions(a);
        const screen = screenOptions(a, batch !== null);
        result = batch
          ? { kind: 'batch', ...c, ...batch, prometheus }
          : { kind: 'dashboard', ...c, prometheus, screen };
      },
    )
    .command(
      'demo',
      'a narrated tour of the experiment (g, the copy map, f, read, split, the verdict) that can record itself',
      (c) =>
        sharedOptions(c)
          .option('record', {
            type: 'string',
            requiresArg: true,
            describe: 'write an asciicast v2 recording; it ends with the verdict',
          })
          .option('export', {
            type: 'string',
            requiresArg: true,
            describe: 'where the e key writes the current snapshot',
          })
          .option('speed', {
            requiresArg: true,
            default: '1',
            describe: 'how fast the pauses between steps go (0.1 to 100); each step still waits for its effect',
          })
          .option('steps', {
            type: 'string',
            requiresArg: true,
            describe:
              'which steps, in this order (e.g. 1,2,4): 1 fork, 2 collect, 3 map, 4 freeze, 5 collect frozen, 6 read, 7 split, 8 verdict',
          }),
      (a) => {
        const given = (name: string): boolean =>
          argv.some((x) => x === `--${name}` || x.startsWith(`--${name}=`) || x === `--no-${name}`);
        for (const name of ['freeze', 'gc', 'split', 'workload'])
          if (given(name)) throw new UsageError(`--${name} does not go with demo: the tour sets it as it goes`);
        const speed = Number(String(a.speed));
        if (!/^\d+(\.\d+)?$/.test(String(a.speed)) || !(speed >= 0.1 && speed <= 100))
          throw new UsageError(`--speed must be a number from 0.1 to 100, got '${String(a.speed)}'`);
        const steps = pickSteps(a.steps === undefined ? null : String(a.steps));
        if (typeof steps === 'string') throw new UsageError(steps);
        const c = common(a, env);
        const screen = screenOptions(a, false);
        result = { kind: 'dashboard', ...c, prometheus: null, screen: { ...screen, tour: { steps, speed } } };
      },
    )
    .command(
      'attach [pid]',
      'watch a running process and all its descendants (a gunicorn, uWSGI or Celery master)',
      (c) =>
        outputOptions(c.positional('pid', { type: 'string', describe: 'the master process' })).option('interval', {
          requiresArg: true,
          default: DEFAULTS.interval,
          describe: 'sample interval in ms (100 to 3600000)',
        }),
      (a) => {
        if (a.pid === undefined) throw new UsageError('attach needs a pid: cowtop attach PID');
        const pid = wholeNumber('pid', a.pid, 'attach: the pid');
        const procRoot = env.COWTOP_PROC_ROOT ?? '/proc';
        const batch = batchOptions(a);
        result = {
          kind: 'attach',
          pid,
          interval: wholeNumber('interval', a.interval),
          procRoot,
          prometheus: prometheusOptions(a),
          batch,
          screen: screenOptions(a, batch !== null),
        };
      },
    )
    .command(
      'run',
      'start COMMAND (a pre-fork server, any Python program) with the gc agent, watch it, stop it on exit: cowtop run [options] -- COMMAND [ARGS...]',
      (c) =>
        outputOptions(c)
          .option('freeze', {
            type: 'boolean',
            default: false,
            describe:
              "Instagram's recipe, injected: gc off in the first process, gc.freeze() before each fork, gc on in each worker",
            group: 'Run:',
          })
          .option('keep', {
            type: 'boolean',
            default: false,
            describe: 'leave the server running when cowtop ends (its output is then not captured)',
            group: 'Run:',
          })
          .option('stop-timeout', {
            requiresArg: true,
            default: '10',
            describe:
              "seconds between SIGTERM to the server's first process and SIGKILL to its process group when cowtop stops it",
            group: 'Run:',
          })
          .option('name', {
            type: 'string',
            requiresArg: true,
            describe: "the server's name in Prometheus labels and records [default: the command's name]",
            group: 'Run:',
          })
          .option('interval', {
            requiresArg: true,
            default: DEFAULTS.interval,
            describe: 'sample interval in ms (100 to 3600000)',
            group: 'Run:',
          })
          .option('compare', {
            type: 'boolean',
            default: false,
            describe:
              'run the server twice, without then with --freeze, under the same load; print what each worker copied (--format table, json or markdown)',
            group: 'Compare:',
          })
          .option('load', {
            type: 'string',
            requiresArg: true,
            describe: 'with --compare: the URL to send requests to (this machine only)',
            group: 'Compare:',
          })
          .option('requests', {
            requiresArg: true,
            describe: 'with --compare --load: requests per pass [default: 2000]',
            group: 'Compare:',
          })
          .option('concurrency', {
            requiresArg: true,
            describe: 'with --compare --load: connections at once [default: one per worker]',
            group: 'Compare:',
          })
          .option('load-cmd', {
            type: 'string',
            requiresArg: true,
            describe:
              'with --compare: a load generator to run once per pass instead (split on spaces, no shell), e.g. "wrk -d5 http://127.0.0.1:8000/"',
            group: 'Compare:',
          }),
      (a) => {
        const command = runCommand ?? [];
        if (command.length === 0 || !command[0].trim())
          throw new UsageError('run needs a command: cowtop run [options] -- COMMAND [ARGS...]');
        const stopTimeout = seconds('stop-timeout', a['stop-timeout'], 3600);
        const name = a.name === undefined ? defaultName(command[0]) : String(a.name);
        if (!NAME.test(name))
          throw new UsageError(`--name must be 1 to 64 letters, digits, '.', ':', '_' or '-', got '${a.name}'`);
        const procRoot = env.COWTOP_PROC_ROOT ?? '/proc';
        const run: RunOptions = {
          command,
          freeze: Boolean(a.freeze),
          keep: Boolean(a.keep),
          graceMs: Math.round(stopTimeout * 1000),
          interval: wholeNumber('interval', a.interval),
          procRoot,
          name,
        };
        const given = (n: string): boolean =>
          argv.some((x) => x === `--${n}` || x.startsWith(`--${n}=`) || x === `--no-${n}`);
        if (!a.compare) {
          for (const n of ['load', 'requests', 'load-cmd', 'concurrency'])
            if (given(n)) throw new UsageError(`--${n} goes with run --compare`);
          const batch = batchOptions(a);
          result = {
            kind: 'run',
            run,
            prometheus: prometheusOptions(a),
            batch,
            screen: screenOptions(a, batch !== null),
          };
          return;
        }
        for (const [n, why] of [
          ['freeze', 'compare runs without and then with it'],
          ['keep', 'compare stops the server after each pass'],
          ['batch', 'compare prints one table'],
          ['prometheus', 'compare prints one table'],
          ['record', 'compare has no screen'],
          ['export', 'compare has no screen'],
          ['map', 'compare reads the copy map itself'],
          ['duration', 'each pass lasts as long as its load'],
          ['output', 'compare prints to stdout'],
        ] as const) {
          if (given(n)) throw new UsageError(`--${n} does not go with run --compare: ${why}`);
        }
        if ((a.load === undefined) === (a['load-cmd'] === undefined))
          throw new UsageError('run --compare needs the load: --load URL, or --load-cmd COMMAND (one of them)');
        const loadCmd = a['load-cmd'] === undefined ? null : String(a['load-cmd']).trim().split(/\s+/).filter(Boolean);
        if (loadCmd && loadCmd.length === 0) throw new UsageError('--load-cmd needs a command');
        if (loadCmd && (given('requests') || given('concurrency')))
          throw new UsageError('--requests and --concurrency go with --load, not --load-cmd');
        const load: LoadOptions = {
          url: a.load === undefined ? null : loopbackUrl(String(a.load)),
          requests: a.requests === undefined ? 2000 : wholeNumber('requests', a.requests),
          concurrency: a.concurrency === undefined ? null : wholeNumber('concurrency', a.concurrency),
          command: loadCmd,
        };
        const format = given('format') ? oneOf('format', a.format, ['table', 'json', 'markdown'] as const) : 'table';
        result = { kind: 'run-compare', run, load, format };
      },
    )
    .command(
      'agent',
      'about the gc agent: --path prints the directory to put on PYTHONPATH',
      (c) => c.option('path', { type: 'boolean', default: false, describe: 'print where cowtop_agent.py is' }),
      (a) => {
        if (!a.path) throw new UsageError('agent: use --path (see cowtop agent --help)');
        result = { kind: 'agent-path' };
      },
    )
    .command(
      'compare',
      'the original experiment in one go: gc.collect() in every worker, without then with gc.freeze()',
      (c) =>
        sharedOptions(c)
          .option('format', {
            type: 'string',
            default: 'table',
            describe: 'table, json, or markdown (to paste into an issue)',
          })
          .option('matrix', {
            type: 'boolean',
            default: false,
            describe:
              'every interpreter found (or each --python given) x the collect, read and write workloads, one table',
          })
          .option('strategies', {
            type: 'string',
            describe:
              'the serve workload under each gc strategy (default, disable, threshold, freeze; or those listed, e.g. --strategies default,disable), the same number of requests each: what each copies, collects and keeps',
          })
          .option('requests', {
            requiresArg: true,
            describe: 'with --strategies: requests each worker serves per strategy [default: 300000]',
          })
          .option('python', {
            type: 'string',
            describe: 'interpreter; with --matrix it may be given several times [default: $COWTOP_PYTHON or python3]',
            group: 'Experiment:',
          }),
      (a) => {
        // Every --python given (yargs keeps only the last of a repeated option).
        const pythons = argv.flatMap((x, i) =>
          x === '--python' && i + 1 < argv.length ? [argv[i + 1]] : x.startsWith('--python=') ? [x.slice(9)] : [],
        );
        if (pythons.length > 1 && !a.matrix) throw new UsageError('--python given several times goes with --matrix');
        const c = common({ ...a, python: pythons[0] }, env);
        const strategies = a.strategies === undefined ? null : strategyList(String(a.strategies));
        if (strategies && a.matrix)
          throw new UsageError('--strategies and --matrix are two different tables: give one');
        if (a.requests !== undefined && !strategies) throw new UsageError('--requests goes with compare --strategies');
        const requests = a.requests === undefined ? null : wholeNumber('requests', a.requests);
        // compare measures one pass, without and then with freeze: what does not fit is refused.
        const given = (name: string): boolean =>
          argv.some(
            (x) =>
              x === `--${name}` || x === `--no-${name}` || x.startsWith(`--${name}=`) || x.startsWith(`--no-${name}=`),
          );
        for (const [name, why] of [
          ['freeze', 'compare runs without and then with gc.freeze()'],
          ['split', 'compare runs the two kinds of workers one after the other'],
          ['tracemalloc', 'compare reads USS, not tracemalloc'],
          ['collect-every', 'each worker does its pass once, when compare asks'],
        ] as const) {
          if (given(name)) throw new UsageError(`--${name} does not go with compare: ${why}`);
        }
        let pass: PassWorkload = 'collect';
        if (given('workload')) {
          if (a.matrix || strategies)
            throw new UsageError(
              `--workload does not go with --${a.matrix ? 'matrix' : 'strategies'}: it runs its own`,
            );
          pass = oneOf('workload', a.workload, PASS_WORKLOADS);
        }
        result = {
          kind: 'compare',
          ...c,
          format: oneOf('format', a.format, ['table', 'json', 'markdown'] as const),
          matrix: Boolean(a.matrix),
          strategies,
          requests,
          pass,
          pythons,
        };
      },
    )
    .strict()
    .version(VERSION)
    .help()
    .alias('h', 'help')
    .wrap(Math.min(100, process.stdout.columns || 100))
    .fail((msg, err) => {
      failure = err ? err.message : msg;
    });
  try {
    await y.parseAsync();
  } catch (err) {
    if (err instanceof UsageError) throw err;
    failure = failure ?? (err as Error).message;
  }
  if (failure) throw new UsageError(String(failure).split('\n')[0]);
  if (!result) throw new UsageError('nothing to do (see cowtop --help)');
  return result;
}
