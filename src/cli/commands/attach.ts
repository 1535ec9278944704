/** attach PID: watch a running tree; agent --path: where the gc agent is. */
import type { Argv } from 'yargs';
import { DEFAULTS } from '../../experiment/options';
import { UsageError } from '../../util/usage-error';
import { flag, OUTPUT_OPTIONS, valued } from '../option-sets';
import { batchOptions, prometheusOptions, screenOptions } from '../settings';
import { wholeNumber } from '../values';
import type { CommandContext } from './context';

export function attachCommand<T>(y: Argv<T>, ctx: CommandContext): Argv<T> {
  return y.command(
    'attach [pid]',
    'watch a running process and all its descendants (a gunicorn, uWSGI or Celery master)',
    (c) =>
      c.positional('pid', { type: 'string', describe: 'the master process' }).options({
        ...OUTPUT_OPTIONS,
        interval: valued('sample interval in ms (100 to 3600000)', undefined, DEFAULTS.interval),
      }),
    (a) => {
      if (a.pid === undefined) throw new UsageError('attach needs a pid: cowtop attach PID');
      const pid = wholeNumber('pid', a.pid, 'attach: the pid');
      const batch = batchOptions(a);
      ctx.set({
        kind: 'attach',
        pid,
        interval: wholeNumber('interval', a.interval),
        procRoot: ctx.env.COWTOP_PROC_ROOT ?? '/proc',
        prometheus: prometheusOptions(a),
        batch,
        screen: screenOptions(a, batch !== null),
      });
    },
  );
}

export function agentCommand<T>(y: Argv<T>, ctx: CommandContext): Argv<T> {
  return y.command(
    'agent',
    'about the gc agent: --path prints the directory to put on PYTHONPATH',
    (c) => c.options({ path: flag('print where cowtop_agent.py is') }),
    (a) => {
      if (!a.path) throw new UsageError('agent: use --path (see cowtop agent --help)');
      ctx.set({ kind: 'agent-path' });
    },
  );
}
