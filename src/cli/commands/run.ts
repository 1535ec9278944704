/** run -- COMMAND: start a server with the gc agent and watch it; run --compare: two passes under a load. */
import type { Argv } from 'yargs';
import { DEFAULTS } from '../../experiment/options';
import type { LoadOptions, RunOptions } from '../../session/run-session';
import { UsageError } from '../../util/usage-error';
import { given } from '../flags';
import { flag, OUTPUT_OPTIONS, text, valued } from '../option-sets';
import { batchOptions, prometheusOptions, screenOptions } from '../settings';
import { defaultName, loopbackUrl, NAME, oneOf, seconds, wholeNumber } from '../values';
import type { CommandContext } from './context';

const RUN = 'Run:';
const COMPARE = 'Compare:';

const RUN_OPTIONS = {
  freeze: flag(
    "Instagram's recipe, injected: gc off in the first process, gc.freeze() before each fork, gc on in each worker",
    RUN,
  ),
  keep: flag('leave the server running when cowtop ends (its output is then not captured)', RUN),
  'stop-timeout': valued(
    "seconds between SIGTERM to the server's first process and SIGKILL to its process group when cowtop stops it",
    RUN,
    '10',
  ),
  name: text("the server's name in Prometheus labels and records [default: the command's name]", RUN),
  interval: valued('sample interval in ms (100 to 3600000)', RUN, DEFAULTS.interval),
  compare: flag(
    'run the server twice, without then with --freeze, under the same load; print what each worker copied (--format table, json or markdown)',
    COMPARE,
  ),
  load: text('with --compare: the URL to send requests to (this machine only)', COMPARE),
  requests: valued('with --compare --load: requests per pass [default: 2000]', COMPARE),
  concurrency: valued('with --compare --load: connections at once [default: one per worker]', COMPARE),
  'load-cmd': text(
    'with --compare: a load generator to run once per pass instead (split on spaces, no shell), e.g. "wrk -d5 http://127.0.0.1:8000/"',
    COMPARE,
  ),
};

/** What run --compare refuses, and why. */
const NOT_WITH_COMPARE = [
  ['freeze', 'compare runs without and then with it'],
  ['keep', 'compare stops the server after each pass'],
  ['batch', 'compare prints one table'],
  ['prometheus', 'compare prints one table'],
  ['record', 'compare has no screen'],
  ['export', 'compare has no screen'],
  ['map', 'compare reads the copy map itself'],
  ['duration', 'each pass lasts as long as its load'],
  ['output', 'compare prints to stdout'],
] as const;

export function runCommand<T>(y: Argv<T>, ctx: CommandContext): Argv<T> {
  return y.command(
    'run',
    'start COMMAND (a pre-fork server, any Python program) with the gc agent, watch it, stop it on exit: cowtop run [options] -- COMMAND [ARGS...]',
    (c) => c.options({ ...OUTPUT_OPTIONS, ...RUN_OPTIONS }),
    (a) => {
      const command = ctx.runCommand ?? [];
      if (command.length === 0 || !command[0].trim())
        throw new UsageError('run needs a command: cowtop run [options] -- COMMAND [ARGS...]');
      const stopTimeout = seconds('stop-timeout', a['stop-timeout'], 3600);
      const name = a.name === undefined ? defaultName(command[0]) : String(a.name);
      if (!NAME.test(name))
        throw new UsageError(`--name must be 1 to 64 letters, digits, '.', ':', '_' or '-', got '${a.name}'`);
      const run: RunOptions = {
        command,
        freeze: Boolean(a.freeze),
        keep: Boolean(a.keep),
        graceMs: Math.round(stopTimeout * 1000),
        interval: wholeNumber('interval', a.interval),
        procRoot: ctx.env.COWTOP_PROC_ROOT ?? '/proc',
        name,
      };
      const has = (n: string): boolean => given(ctx.argv, n);
      if (!a.compare) {
        for (const n of ['load', 'requests', 'load-cmd', 'concurrency'])
          if (has(n)) throw new UsageError(`--${n} goes with run --compare`);
        const batch = batchOptions(a);
        ctx.set({
          kind: 'run',
          run,
          prometheus: prometheusOptions(a),
          batch,
          screen: screenOptions(a, batch !== null, given(ctx.argv, 'interval')),
        });
        return;
      }
      for (const [n, why] of NOT_WITH_COMPARE)
        if (has(n)) throw new UsageError(`--${n} does not go with run --compare: ${why}`);
      if ((a.load === undefined) === (a['load-cmd'] === undefined))
        throw new UsageError('run --compare needs the load: --load URL, or --load-cmd COMMAND (one of them)');
      const loadCmd = a['load-cmd'] === undefined ? null : String(a['load-cmd']).trim().split(/\s+/).filter(Boolean);
      if (loadCmd && loadCmd.length === 0) throw new UsageError('--load-cmd needs a command');
      if (loadCmd && (has('requests') || has('concurrency')))
        throw new UsageError('--requests and --concurrency go with --load, not --load-cmd');
      const load: LoadOptions = {
        url: a.load === undefined ? null : loopbackUrl(String(a.load)),
        requests: a.requests === undefined ? 2000 : wholeNumber('requests', a.requests),
        concurrency: a.concurrency === undefined ? null : wholeNumber('concurrency', a.concurrency),
        command: loadCmd,
      };
      const format = has('format') ? oneOf('format', a.format, ['table', 'json', 'markdown'] as const) : 'table';
      ctx.set({ kind: 'run-compare', run, load, format });
    },
  );
}
