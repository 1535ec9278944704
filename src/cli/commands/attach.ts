/** attach PID: watch a running tree; agent --path: where the gc agent is. */
import type { Argv } from 'yargs';
import { DEFAULTS } from '../../experiment/options';
import { UsageError } from '../../util/usage-error';
import { given } from '../flags';
import { flag, OUTPUT_OPTIONS, text, valued } from '../option-sets';
import { batchOptions, prometheusOptions, screenOptions } from '../settings';
import { NAME, seconds, wholeNumber } from '../values';
import type { CommandContext } from './context';

const FIND = 'Finding the master:';

function pattern(text: string): RegExp {
  if (!text) throw new UsageError('--match needs a regular expression');
  try {
    return new RegExp(text);
  } catch (e) {
    throw new UsageError(`--match: not a regular expression: ${(e as Error).message}`);
  }
}

export function attachCommand<T>(y: Argv<T>, ctx: CommandContext): Argv<T> {
  return y.command(
    'attach [pid]',
    'watch a running process and all its descendants (a gunicorn, uWSGI or Celery master)',
    (c) =>
      c.positional('pid', { type: 'string', describe: 'the master process' }).options({
        ...OUTPUT_OPTIONS,
        interval: valued('sample interval in ms (100 to 3600000)', undefined, DEFAULTS.interval),
        match: text(
          "instead of a pid: the oldest process whose command line matches this regular expression and whose parent's does not (a sidecar finds the server's master so)",
          FIND,
        ),
        wait: valued('with --match: seconds to wait for a match to appear [default: 60]', FIND),
        name: text("the server's name in Prometheus labels [default: pidPID, or 'server' with --match]", FIND),
      }),
    (a) => {
      const match = a.match === undefined ? null : pattern(String(a.match));
      if (a.pid !== undefined && match) throw new UsageError('attach takes a pid or --match, not both');
      if (a.pid === undefined && !match)
        throw new UsageError('attach needs a pid: cowtop attach PID (or --match REGEX)');
      if (a.wait !== undefined && !match) throw new UsageError('--wait goes with --match');
      if (a.name !== undefined && !NAME.test(String(a.name)))
        throw new UsageError(`--name must be 1 to 64 letters, digits, '.', ':', '_' or '-', got '${a.name}'`);
      const pid = match ? 0 : wholeNumber('pid', a.pid, 'attach: the pid');
      const batch = batchOptions(a);
      ctx.set({
        kind: 'attach',
        pid,
        match: match && { pattern: match, waitMs: Math.round(seconds('wait', a.wait ?? 60, 86_400) * 1000) },
        name: a.name === undefined ? (match ? 'server' : `pid${pid}`) : String(a.name),
        interval: wholeNumber('interval', a.interval),
        procRoot: ctx.env.COWTOP_PROC_ROOT ?? '/proc',
        prometheus: prometheusOptions(a),
        batch,
        screen: screenOptions(a, batch !== null, given(ctx.argv, 'interval')),
      });
    },
  );
}

export function agentCommand<T>(y: Argv<T>, ctx: CommandContext): Argv<T> {
  return y.command(
    'agent',
    'about the gc agent: --path prints the directory to put on PYTHONPATH; --copy DIR copies the agent there',
    (c) =>
      c.options({
        path: flag('print where cowtop_agent.py is'),
        copy: text(
          "copy the agent (and what it imports) into DIR, for a server that cannot read cowtop's files: another container, another user; prints DIR",
        ),
      }),
    (a) => {
      if (a.copy !== undefined) {
        if (a.path) throw new UsageError('agent: --path or --copy, not both');
        if (!String(a.copy).trim()) throw new UsageError('agent --copy needs a directory');
        ctx.set({ kind: 'agent-copy', dest: String(a.copy) });
        return;
      }
      if (!a.path) throw new UsageError('agent: use --path or --copy DIR (see cowtop agent --help)');
      ctx.set({ kind: 'agent-path' });
    },
  );
}
