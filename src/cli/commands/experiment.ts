/** The experiment's commands: the dashboard (or --batch) by default, and demo, the narrated tour. */
import type { Argv } from 'yargs';
import { pickSteps } from '../../ui/tour';
import { UsageError } from '../../util/usage-error';
import { given } from '../flags';
import { EXPERIMENT_OPTIONS, OUTPUT_OPTIONS, text, valued } from '../option-sets';
import { batchOptions, common, prometheusOptions, screenOptions } from '../settings';
import type { CommandContext } from './context';

export function experimentCommands<T>(y: Argv<T>, ctx: CommandContext): Argv<T> {
  return y
    .command(
      '$0',
      'run the experiment and show it live (or --batch: print samples)',
      (c) => c.options({ ...EXPERIMENT_OPTIONS, ...OUTPUT_OPTIONS }),
      (a) => {
        const c = common(a, ctx.env);
        const batch = batchOptions(a);
        const prometheus = prometheusOptions(a);
        const screen = screenOptions(a, batch !== null, given(ctx.argv, 'interval'));
        ctx.set(
          batch ? { kind: 'batch', ...c, ...batch, prometheus } : { kind: 'dashboard', ...c, prometheus, screen },
        );
      },
    )
    .command(
      'demo',
      'a narrated tour of the experiment (g, the copy map, f, read, split, the verdict) that can record itself',
      (c) =>
        c.options({
          ...EXPERIMENT_OPTIONS,
          record: text('write an asciicast v2 recording; it ends with the verdict'),
          export: text('where the e key writes the current snapshot'),
          speed: valued(
            'how fast the pauses between steps go (0.1 to 100); each step still waits for its effect',
            undefined,
            '1',
          ),
          steps: text(
            'which steps, in this order (e.g. 1,2,4): 1 fork, 2 collect, 3 map, 4 freeze, 5 collect frozen, 6 read, 7 split, 8 verdict',
          ),
        }),
      (a) => {
        for (const name of ['freeze', 'gc', 'split', 'workload'])
          if (given(ctx.argv, name))
            throw new UsageError(`--${name} does not go with demo: the tour sets it as it goes`);
        const speed = Number(String(a.speed));
        if (!/^\d+(\.\d+)?$/.test(String(a.speed)) || !(speed >= 0.1 && speed <= 100))
          throw new UsageError(`--speed must be a number from 0.1 to 100, got '${String(a.speed)}'`);
        const steps = pickSteps(a.steps === undefined ? null : String(a.steps));
        if (typeof steps === 'string') throw new UsageError(steps);
        const c = common(a, ctx.env);
        const screen = screenOptions(a, false);
        ctx.set({ kind: 'dashboard', ...c, prometheus: null, screen: { ...screen, tour: { steps, speed } } });
      },
    );
}
