/**
 * run --compare's result: the user's own server as it is and then with the freeze recipe, under
 * the same load; per worker, what was copied. A verdict only where the workers froze.
 */
import { sanitize } from '../format/sanitize';
import { formatCount } from '../format/units';
import type { LoadOptions } from '../session/run-session';
import { mean } from '../util/stats';
import type { ServerPass } from './server-pass';
import { containerNeed, type ContainerNeed } from './container-need';

export interface ServerCompare {
  type: 'run-compare';
  command: string;
  load: string;
  passes: ServerPass[]; // as it is, then with the recipe
  copied: { without: number | null; with: number | null; reduction: number | null }; // mean per worker, since fork
  /**
   * Whether the recipe pass's workers froze anything, from their own frozen counts: false when
   * every worker reported 0 (the recipe never reached the process that forks them: a wrapper, a
   * fork cowtop's hooks do not see), null when none reported. A verdict needs true.
   */
  frozen: boolean | null;
  /** What each pass means for the container: its peak memory and the request/limit it would need. */
  container: ContainerNeed | null; // null: passes recorded before it was measured
}

/** The recipe pass's workers, by their own report: did gc.freeze() happen before their fork? */
function frozenWorkers(p: ServerPass): boolean | null {
  const known = p.workers.map((w) => w.after.frozen).filter((f): f is number => f !== null);
  if (!known.length) return null;
  return known.some((f) => f > 0);
}

const passCopiedMean = (p: ServerPass): number | null =>
  p.workers.length && p.workers.every((w) => w.after.copied !== null)
    ? mean(p.workers.map((w) => w.after.copied!))
    : null;
export function summarize(cmd: { run: { command: string[] }; load: LoadOptions }, passes: ServerPass[]): ServerCompare {
  const [off, on] = passes;
  const a = passCopiedMean(off);
  const b = passCopiedMean(on);
  const frozen = frozenWorkers(on);
  return {
    type: 'run-compare',
    command: sanitize(cmd.run.command.join(' ')),
    load: cmd.load.command
      ? sanitize(cmd.load.command.join(' '))
      : `${formatCount(cmd.load.requests)} requests to ${cmd.load.url}`,
    passes,
    copied: { without: a, with: b, reduction: frozen && a !== null && b !== null && a > 0 ? 1 - b / a : null },
    frozen,
    container: off.memory && on.memory ? containerNeed(off.memory, on.memory) : null,
  };
}
