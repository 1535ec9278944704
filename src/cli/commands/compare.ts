/** compare: the original experiment in one go, or --strategies, or --matrix. */
import type { Argv } from 'yargs';
import { PASS_WORKLOADS, type PassWorkload } from '../../measure/compare';
import { UsageError } from '../../util/usage-error';
import { given, repeated } from '../flags';
import { EXPERIMENT_OPTIONS, flag, valued } from '../option-sets';
import { common } from '../settings';
import { oneOf, strategyList, wholeNumber } from '../values';
import type { CommandContext } from './context';

const COMPARE_OPTIONS = {
  format: { type: 'string' as const, default: 'table', describe: 'table, json, or markdown (to paste into an issue)' },
  matrix: flag('every interpreter found (or each --python given) x the collect, read and write workloads, one table'),
  strategies: {
    type: 'string' as const,
    describe:
      'the serve workload under each gc strategy (default, disable, threshold, freeze; or those listed, e.g. --strategies default,disable), the same number of requests each: what each copies, collects and keeps',
  },
  requests: valued('with --strategies: requests each worker serves per strategy [default: 300000]'),
  python: {
    type: 'string' as const,
    describe: 'interpreter; with --matrix it may be given several times [default: $COWTOP_PYTHON or python3]',
    group: 'Experiment:',
  },
};

/** What compare measures once, without and then with freeze: options that do not fit are refused. */
const NOT_WITH_COMPARE = [
  ['freeze', 'compare runs without and then with gc.freeze()'],
  ['split', 'compare runs the two kinds of workers one after the other'],
  ['tracemalloc', 'compare reads USS, not tracemalloc'],
  ['collect-every', 'each worker does its pass once, when compare asks'],
] as const;

export function compareCommand<T>(y: Argv<T>, ctx: CommandContext): Argv<T> {
  return y.command(
    'compare',
    'the original experiment in one go: gc.collect() in every worker, without then with gc.freeze()',
    (c) => c.options({ ...EXPERIMENT_OPTIONS, ...COMPARE_OPTIONS }),
    (a) => {
      const pythons = repeated(ctx.argv, 'python');
      if (pythons.length > 1 && !a.matrix) throw new UsageError('--python given several times goes with --matrix');
      const c = common({ ...a, python: pythons[0] }, ctx.env);
      const strategies = a.strategies === undefined ? null : strategyList(String(a.strategies));
      if (strategies && a.matrix) throw new UsageError('--strategies and --matrix are two different tables: give one');
      if (a.requests !== undefined && !strategies) throw new UsageError('--requests goes with compare --strategies');
      const requests = a.requests === undefined ? null : wholeNumber('requests', a.requests);
      for (const [name, why] of NOT_WITH_COMPARE)
        if (given(ctx.argv, name)) throw new UsageError(`--${name} does not go with compare: ${why}`);
      let pass: PassWorkload = 'collect';
      if (given(ctx.argv, 'workload')) {
        if (a.matrix || strategies)
          throw new UsageError(`--workload does not go with --${a.matrix ? 'matrix' : 'strategies'}: it runs its own`);
        pass = oneOf('workload', a.workload, PASS_WORKLOADS);
      }
      ctx.set({
        kind: 'compare',
        ...c,
        format: oneOf('format', a.format, ['table', 'json', 'markdown'] as const),
        matrix: Boolean(a.matrix),
        strategies,
        requests,
        pass,
        pythons,
      });
    },
  );
}
