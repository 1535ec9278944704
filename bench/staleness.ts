/**
 * Staleness (issue 14, target 1): cowtop attach --batch at 1 Hz on a quiet tree (a root and 3
 * children that share a file's pages) while processes outside the tree map the same pages and
 * exit. Each exit changes the tree's PSS (the pages are split among fewer processes) with no
 * fault, start or exit in the tree. Reported: for each exit, how long until a record showed the
 * root's new PSS; the worst is the lag a user could see.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSmapsRollup } from '../src/proc/parse';
import { BIN } from '../test/helpers';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function mapper(file: string, children: number, wait: boolean): ChildProcess {
  const code = [
    'import mmap, os, sys, time',
    `f = open(${JSON.stringify(file)}, "rb")`,
    'm = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)',
    's = sum(m[i] for i in range(0, len(m), 4096))',
    `for _ in range(${children}):`,
    '    if os.fork() == 0:',
    '        time.sleep(3600); os._exit(0)',
    'print("ready", flush=True)',
    wait ? 'sys.stdin.read()' : 'time.sleep(3600)',
  ].join('\n');
  return spawn('python3', ['-c', code], { stdio: ['pipe', 'pipe', 'inherit'], detached: true });
}
const ready = (p: ChildProcess) =>
  new Promise<void>((r) => p.stdout!.on('data', (d) => /ready/.test(String(d)) && r()));
const pss = (pid: number) => parseSmapsRollup(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))!.pss;

export async function staleness(exits = 6): Promise<unknown> {
  const dir = mkdtempSync(join(tmpdir(), 'cowtop-stale-'));
  const file = join(dir, 'shared.bin');
  writeFileSync(file, Buffer.alloc(64 * 1048576, 1));
  const root = mapper(file, 3, false);
  await ready(root);
  const cowtop = spawn(process.execPath, [BIN, 'attach', String(root.pid), '--batch', '--interval', '1000'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const records: Array<{ at: number; pss: number }> = [];
  let tail = '';
  cowtop.stdout!.on('data', (d: Buffer) => {
    const lines = (tail + d.toString()).split('\n');
    tail = lines.pop()!;
    for (const l of lines) {
      const r = JSON.parse(l);
      if (r.type === 'sample')
        records.push({ at: Date.parse(r.time), pss: r.processes.find((p: any) => p.pid === root.pid)?.pss ?? 0 });
    }
  });
  const lags: number[] = [];
  try {
    await sleep(3000);
    for (let i = 0; i < exits; i++) {
      const outsider = mapper(file, 0, true);
      await ready(outsider);
      await sleep(2500 + Math.random() * 1000); // let cowtop see the shared state, at no fixed phase
      const exited = new Promise((r) => outsider.once('exit', r));
      outsider.stdin!.end();
      await exited;
      const gone = Date.now();
      const want = pss(root.pid!);
      await sleep(7000);
      const first = records.find((r) => r.at >= gone && Math.abs(r.pss - want) <= 16 * 1024);
      lags.push(first ? first.at - gone : Infinity);
    }
  } finally {
    cowtop.kill('SIGTERM');
    try {
      process.kill(-root.pid!, 'SIGKILL');
    } catch {
      // gone
    }
    rmSync(dir, { recursive: true, force: true });
  }
  return { exits, lagsMs: lags, worstMs: Math.max(...lags), target: 5000 };
}
