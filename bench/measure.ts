/** Small helpers the benchmarks share: CPU time from /proc, percentiles, waiting for records. */
import { readFileSync } from 'node:fs';

/** utime + stime of pid, in seconds. */
export function cpuSeconds(pid: number | 'self'): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** cutime + cstime of this process: CPU time of the children it has waited for, in seconds. */
export function childrenCpuSeconds(): number {
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(f[13]) + Number(f[14])) / 100;
}

export function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

export const round = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d;
