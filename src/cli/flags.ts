/**
 * The words of argv before yargs reads them: run's own options split from its command, flags'
 * =true/=false read in any case, and which options were given (also what yargs keeps only once).
 */
import { UsageError } from '../util/usage-error';

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

export const FLAGS = [
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

/** Whether --name (or --no-name, --name=..., --no-name=...) is among the words before `--`. */
export function given(argv: readonly string[], name: string): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).some(
    (x) => x === `--${name}` || x === `--no-${name}` || x.startsWith(`--${name}=`) || x.startsWith(`--no-${name}=`),
  );
}

/** Every value of a repeated option (yargs keeps only the last): --python A --python=B. */
export function repeated(argv: readonly string[], name: string): string[] {
  const flag = `--${name}`;
  return argv.flatMap((x, i) =>
    x === flag && i + 1 < argv.length ? [argv[i + 1]] : x.startsWith(`${flag}=`) ? [x.slice(flag.length + 1)] : [],
  );
}
