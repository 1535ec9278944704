/** What every command's handler is handed: the words, the environment, and where its Command goes. */
import type { Command } from '../command-types';

export interface CommandContext {
  /** cowtop's own words (for `run`, those before its COMMAND), after normalizeFlags. */
  argv: string[];
  env: NodeJS.ProcessEnv;
  /** run's COMMAND, split off before yargs saw the words; null for other commands. */
  runCommand: string[] | null;
  set(command: Command): void;
}
