/**
 * Command-line parsing: the words are read here (flags.ts), the commands defined in commands/,
 * their values checked in values.ts and settings.ts. Every bad input becomes one UsageError line.
 */
import yargs from 'yargs';
import { UsageError } from '../util/usage-error';
import type { Command } from './command-types';
import { agentCommand, attachCommand } from './commands/attach';
import { compareCommand } from './commands/compare';
import type { CommandContext } from './commands/context';
import { experimentCommands } from './commands/experiment';
import { runCommand } from './commands/run';
import { FLAGS, normalizeFlags, splitRun } from './flags';

export type { BatchOptions, Command, Common, Prometheus } from './command-types';
export { splitRun } from './flags';
export { defaultName, LIMITS, MAX_COLLECT_EVERY_S, MAX_DURATION_S, MAX_TIMER_MS } from './values';

const VERSION: string = require('../../../package.json').version;

const USAGE =
  "Usage: cowtop [compare | run -- COMMAND | attach <pid> | demo | agent --path] [options]\n\nWatch Python's garbage collector break copy-on-write sharing after fork(),\nand gc.freeze() prevent it: USS, PSS, RSS, page faults and gc counts per process.";

/** Parses argv. --help and --version print and exit 0 (through yargs). */
export async function parseArgs(words: string[], env: NodeJS.ProcessEnv = process.env): Promise<Command> {
  let result: Command | null = null;
  // run's command is not cowtop's to parse: it is split off before yargs sees it.
  let argv = words;
  let runWords: string[] | null = null;
  if (argv[0] === 'run') ({ own: argv, command: runWords } = splitRun(argv));
  argv = normalizeFlags(argv, FLAGS);
  const ctx: CommandContext = { argv, env, runCommand: runWords, set: (c) => void (result = c) };
  let failure: string | null = null;
  let y = yargs(argv)
    .scriptName('cowtop')
    .usage(USAGE)
    // Numbers are read by values.ts, not by yargs: it would take 0x10 and 1e3 for numbers.
    .parserConfiguration({
      'duplicate-arguments-array': false,
      'parse-numbers': false,
      'parse-positional-numbers': false,
    });
  for (const add of [experimentCommands, attachCommand, runCommand, agentCommand, compareCommand]) y = add(y, ctx);
  y = y
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
