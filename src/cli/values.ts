/**
 * The values cowtop's options take, checked here and not by yargs (it would read 0x10 and 1e3
 * as numbers, and --freeze=maybe as false): each bad value is one UsageError line.
 */
import { MAX_WORKERS } from '../experiment/options';
import type { StrategyName } from '../experiment/strategy';
import { grouped } from '../format/units';
import { UsageError } from '../util/usage-error';

const STRATEGY_NAMES: StrategyName[] = ['default', 'disable', 'threshold', 'freeze'];

/** compare --strategies [LIST]: all four, or the names listed (comma-separated). */
export function strategyList(text: string): StrategyName[] {
  if (!text.trim()) return STRATEGY_NAMES;
  const names = text.split(',').map((x) => x.trim());
  const bad = names.find((n) => !(STRATEGY_NAMES as string[]).includes(n));
  if (bad !== undefined)
    throw new UsageError(`--strategies takes names from ${STRATEGY_NAMES.join(', ')}, got '${bad}'`);
  return STRATEGY_NAMES.filter((n) => names.includes(n));
}

/** Load goes to this machine only: a URL elsewhere is refused, not sent. */
export function loopbackUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new UsageError(`--load must be an http:// URL, got '${raw}'`);
  }
  if (u.protocol !== 'http:') throw new UsageError(`--load must be an http:// URL, got '${raw}'`);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (!(host === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::1'))
    throw new UsageError(
      `--load sends requests to this machine only (localhost, 127.0.0.0/8 or ::1), got '${u.hostname}'`,
    );
  return u.toString();
}

export const NAME = /^[\w.:-]{1,64}$/;

/** The server's default label: the command's file name, with what a label cannot hold as '_'. */
export function defaultName(command: string): string {
  const base = command.split('/').filter(Boolean).pop() ?? '';
  const name = base
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\w.:-]/g, '_')
    .slice(0, 64);
  return NAME.test(name) && /[^_.]/.test(name) ? name : 'server';
}

/** Node's timers hold 2^31-1 ms: a longer wait would fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
export const LIMITS = {
  size: [1, 100_000_000_000], // beyond any machine: the memory guard says why with the numbers
  requests: [1, 100_000_000],
  workers: [1, MAX_WORKERS],
  interval: [100, 3_600_000], // ms
  prometheus: [1, 65_535],
  concurrency: [1, 256],
  pid: [1, 4_194_304], // the kernel's PID_MAX_LIMIT
} as const;
export const MAX_DURATION_S = Math.floor(MAX_TIMER_MS / 1000);
export const MAX_COLLECT_EVERY_S = 86_400;

const plain = grouped;

/** Decimal digits only (1_000_000 too): no hex, no exponent, no sign, no fraction. */
export function wholeNumber(name: keyof typeof LIMITS, raw: unknown, what = `--${name}`): number {
  const [min, max] = LIMITS[name];
  const text = String(raw).trim();
  const range = `from ${plain(min)} to ${plain(max)}`;
  if (!/^\d+(_\d+)*$/.test(text)) throw new UsageError(`${what} must be a whole decimal number ${range}, got '${raw}'`);
  const n = Number(text.replace(/_/g, ''));
  if (n < min || n > max) throw new UsageError(`${what} must be ${range}, got ${plain(n)}`);
  return n;
}

export function seconds(name: string, raw: unknown, max: number): number {
  const text = String(raw).trim();
  const n = /^\d+(\.\d+)?$|^\.\d+$/.test(text) ? Number(text) : NaN;
  if (!(n > 0) || n > max)
    throw new UsageError(
      `--${name} must be a decimal number of seconds above 0 and at most ${plain(max)}, got '${raw}'`,
    );
  return n;
}

export function oneOf<T extends string>(name: string, raw: unknown, allowed: readonly T[]): T {
  if (typeof raw === 'string' && (allowed as readonly string[]).includes(raw)) return raw as T;
  throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, got '${raw}'`);
}
