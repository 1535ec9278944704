/** The one place sizes, counts and durations are turned into text. */

export type SizeUnit = 'auto' | 'KiB' | 'MiB';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 1536 -> "1.5 KiB"; null -> "-". Three significant figures at most, like smem -k. */
export function formatBytes(bytes: number | null | undefined, unit: SizeUnit = 'auto'): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return '-';
  const sign = bytes < 0 ? '-' : '';
  let v = Math.abs(bytes);
  if (unit === 'KiB') return `${sign}${grouped(v / 1024)} KiB`;
  if (unit === 'MiB') return `${sign}${(v / 1048576).toFixed(1)} MiB`;
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  const digits = i === 0 ? 0 : v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return `${sign}${v.toFixed(digits)} ${UNITS[i]}`;
}

/**
 * A whole number with thousands commas: 1234567 -> "1,234,567". By hand, as toLocaleString
 * would do it: its first call loads ICU's locale data, 27 ms of every start (issue 14).
 */
export function grouped(n: number): string {
  const digits = String(Math.abs(Math.round(n)));
  return (n < 0 && Math.round(n) !== 0 ? '-' : '') + digits.replace(/\B(?=(\d{3})+$)/g, ',');
}

/** 1234567 -> "1,234,567". */
export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '-';
  return grouped(n);
}

/** Seconds -> "650 ms", "1.52 s", "42 us". */
export function formatSeconds(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return '-';
  if (s < 0.001) return `${Math.round(s * 1e6)} us`;
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  return `${s.toFixed(2)} s`;
}

/** 0.985 -> "-98.5%" (a reduction shown as the change it is). */
export function formatReduction(r: number | null | undefined): string {
  if (r === null || r === undefined || !Number.isFinite(r)) return '-';
  return `${r >= 0 ? '-' : '+'}${Math.abs(r * 100).toFixed(1)}%`;
}

/** Seconds of uptime -> "1:02:03" or "2:03". */
export function formatDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}
