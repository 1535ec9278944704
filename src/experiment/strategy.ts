/**
 * The gc strategies of the road Instagram took, as the workers run them:
 *   default               the interpreter's own thresholds
 *   disable               gc.disable() in the parent before the heap, left disabled in the workers
 *   threshold:N[,N1,N2]   gc.set_threshold() in the workers
 *   freeze                gc.freeze() right before fork (the recipe)
 */
import { grouped } from '../format/units';

export type StrategyName = 'default' | 'disable' | 'threshold' | 'freeze';

export interface GcStrategy {
  name: StrategyName;
  thresholds: number[] | null; // threshold only
}

export const STRATEGY_HELP: Record<StrategyName, string> = {
  default: "the interpreter's own thresholds (gc.get_threshold(): 700/10/10 on CPython)",
  disable:
    'gc.disable() before the heap and in the workers: nothing copied by the collector, but reference cycles are never freed',
  threshold: 'larger gc.set_threshold() in the workers: the same collections, later and fewer',
  freeze: 'gc.freeze() right before fork: collections never touch the shared heap',
};

const MAX_THRESHOLD = 100_000_000;

/** Parses a --gc value; throws an Error saying what is wrong. */
export function parseStrategy(text: string): GcStrategy {
  const [name, rest, extra] = text.trim().split(':');
  if (extra === undefined && (name === 'default' || name === 'disable' || name === 'freeze') && rest === undefined)
    return { name, thresholds: null };
  if (name === 'threshold' && extra === undefined && rest !== undefined) {
    const parts = rest.split(',');
    if (parts.length >= 1 && parts.length <= 3 && parts.every((p) => /^\d+$/.test(p.trim()))) {
      const values = parts.map((p) => Number(p));
      if (values.every((n) => n >= 1 && n <= MAX_THRESHOLD)) return { name, thresholds: values };
    }
    throw new Error(
      `threshold takes 1 to 3 whole numbers from 1 to ${grouped(MAX_THRESHOLD)} (threshold:7000 or threshold:7000,10,10), got '${rest}'`,
    );
  }
  throw new Error(`must be default, disable, freeze or threshold:N[,N1,N2], got '${text}'`);
}

export function strategySpec(s: GcStrategy): string {
  return s.thresholds ? `${s.name}:${s.thresholds.join(',')}` : s.name;
}

/** The strategies the G key cycles through, in the order of the road: the threshold given, or 10x gen 0. */
export function strategyCycle(
  given: GcStrategy | null,
  defaultThreshold: readonly number[] | null,
  unsupported: Partial<Record<StrategyName, string>>,
): string[] {
  const t =
    given?.name === 'threshold'
      ? given.thresholds!
      : defaultThreshold?.length
        ? [defaultThreshold[0] * 10, ...defaultThreshold.slice(1)]
        : [7000, 10, 10];
  const all: GcStrategy[] = [
    { name: 'default', thresholds: null },
    { name: 'disable', thresholds: null },
    { name: 'threshold', thresholds: t },
    { name: 'freeze', thresholds: null },
  ];
  return all.filter((s) => !unsupported[s.name]).map(strategySpec);
}
