/**
 * cowtop's own RSS with 16 processes watched (issue 14: <= 80 MiB after one hour at 1 Hz).
 * `memory` is the quick equivalent: the dashboard at --interval 100 for 6 minutes is 3,600
 * samples; `memory-hour` is the hour itself at 1 Hz. At the end, what holds the RSS: anonymous
 * memory (V8's heap, malloc, buffers) against file pages (node's own code, shared libraries),
 * and the largest anonymous mappings.
 */
import { readFileSync } from 'node:fs';
import { BIN, sleep } from '../test/helpers';
import { runInPty } from '../test/pty';
import { rssKiB } from './measure';

/** RssAnon / RssFile / RssShmem of /proc/PID/status, in KiB. */
function rssParts(pid: number): Record<string, number> {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const out: Record<string, number> = {};
  for (const k of ['VmRSS', 'RssAnon', 'RssFile', 'RssShmem', 'VmHWM'])
    out[k] = Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return out;
}

/** The anonymous mappings that hold the most resident memory, from /proc/PID/smaps. */
function largestAnon(pid: number, n = 6): Array<{ range: string; rssKiB: number }> {
  const out: Array<{ range: string; rssKiB: number; anon: boolean }> = [];
  let cur: { range: string; rssKiB: number; anon: boolean } | null = null;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^([0-9a-f]+-[0-9a-f]+) \S+ \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (head) {
      cur = { range: head[1] + (head[3] ? ` ${head[3]}` : ''), rssKiB: 0, anon: head[2] === '0' };
      out.push(cur);
    } else if (cur && line.startsWith('Rss:')) cur.rssKiB = Number(/(\d+)/.exec(line)![1]);
  }
  return out
    .filter((m) => m.anon)
    .sort((a, b) => b.rssKiB - a.rssKiB)
    .slice(0, n)
    .map(({ range, rssKiB }) => ({ range, rssKiB }));
}

export async function memoryHour(samples = 3600, interval = 100) {
  const args = [
    '--size',
    '100000',
    '--workers',
    '15',
    '--interval',
    String(interval),
    '--workload',
    'collect',
    '--collect-every',
    '10',
  ];
  const run = runInPty(args, { cols: 160, rows: 48, node: ['--max-semi-space-size=1', BIN, ...args] });
  try {
    await run.waitFor(/worker 15\s+\d+\s+[\d.]+/, 60_000);
    const t0 = Date.now();
    const trace: number[] = [];
    while (Date.now() - t0 < samples * interval) {
      await sleep(Math.min(30_000, (samples * interval) / 12));
      trace.push(rssKiB(run.proc.pid));
    }
    const end = rssKiB(run.proc.pid);
    return {
      processes: 16,
      samples,
      intervalMs: interval,
      rssMiB: Math.round(end / 1024),
      traceKiB: trace,
      targetMiB: 80,
      partsKiB: rssParts(run.proc.pid),
      largestAnon: largestAnon(run.proc.pid),
    };
  } finally {
    run.press('q');
    await run.exited;
  }
}
