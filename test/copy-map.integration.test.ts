/**
 * The copy map on real processes: compare's pagemap figures against USS growth for each
 * workload; the per-mapping split against the test's own reader of both pagemaps; the smaps
 * fallback as nobody; and the map pane in the pty heating up after g, staying calm when frozen.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { parseSmapsRollup } from '../src/proc/parse';
import { ProcReader } from '../src/proc/read';
import { readCopyMap } from '../src/sample/copy-map';
import { unprivilegedCopy, waitUntil } from './helpers';
import { join } from 'node:path';
import { readTable, runInPty } from './pty';

// The workloads' figures are checked where they run: collect in compare's test (copied within 5%
// of USS growth, >= 60% of the heap unfrozen, < 1% frozen), read and write in the workloads'
// tests (--map: > 40% and > 90% copied though frozen, mostly records and lists).

/** The test's own reader: per worker mapping, pages with the parent's frame, another frame, or only in the worker. */
function ownSplit(parent: number, worker: number): Map<string, { shared: number; copied: number; new: number }> {
  const maps = (pid: number) =>
    readFileSync(`/proc/${pid}/maps`, 'utf8')
      .trim()
      .split('\n')
      .map((l) => {
        const [range, perms, , , inode, ...rest] = l.split(/\s+/);
        const [a, b] = range.split('-').map((x) => BigInt(`0x${x}`));
        return { a, b, perms, inode, path: rest.join(' ') };
      });
  const entries = (pid: number, a: bigint, b: bigint): BigUint64Array => {
    const fd = openSync(`/proc/${pid}/pagemap`, 'r');
    try {
      const buf = Buffer.alloc(Number((b - a) / 4096n) * 8);
      let n = 0;
      while (n < buf.length) {
        const got = readSync(fd, buf, n, buf.length - n, Number((a / 4096n) * 8n) + n);
        if (!got) break;
        n += got;
      }
      return new BigUint64Array(buf.buffer, buf.byteOffset, buf.length / 8);
    } finally {
      closeSync(fd);
    }
  };
  const present = (e: bigint) => (e >> 63n) & 1n;
  const pfn = (e: bigint) => e & ((1n << 55n) - 1n);
  const out = new Map<string, { shared: number; copied: number; new: number }>();
  const parentMaps = maps(parent).filter((m) => m.perms[1] === 'w' && m.perms[3] === 'p');
  for (const m of maps(worker).filter((x) => x.perms[1] === 'w' && x.perms[3] === 'p')) {
    const label =
      m.path === '' || (m.inode === '0' && !m.path.startsWith('['))
        ? 'anon'
        : m.path.startsWith('[')
          ? m.path
          : m.path.slice(m.path.lastIndexOf('/') + 1);
    const acc = out.get(label) ?? { shared: 0, copied: 0, new: 0 };
    out.set(label, acc);
    const w = entries(worker, m.a, m.b);
    for (let i = 0; i < w.length; i++) {
      if (!present(w[i])) continue;
      const addr = m.a + BigInt(i) * 4096n;
      const pm = parentMaps.find((p) => p.a <= addr && addr < p.b);
      const pe = pm ? entries(parent, addr, addr + 4096n)[0] : 0n;
      if (!present(pe)) acc.new++;
      else if (pfn(pe) === pfn(w[i])) acc.shared++;
      else acc.copied++;
    }
  }
  return out;
}

/** A parent with a heap of tracked objects and one child that collected once; both then sleep. */
const FORKED = [
  'import gc, os, sys, time',
  'data = [[i, str(i)] for i in range(150000)]',
  'pid = os.fork()',
  'if pid == 0:',
  '    gc.collect()',
  '    print("ready", flush=True)',
  '    time.sleep(60); os._exit(0)',
  'time.sleep(60)',
].join('\n');

async function forked(uid?: number): Promise<{ parent: number; child: number; stop(): void }> {
  const p = spawn('/usr/bin/python3', ['-c', FORKED], {
    stdio: ['ignore', 'pipe', 'inherit'],
    ...(uid !== undefined ? { uid, gid: uid, cwd: '/' } : {}),
  });
  await new Promise((resolve) => p.stdout!.once('data', resolve));
  let child = 0;
  await waitUntil(
    () => (child = Number(readFileSync(`/proc/${p.pid}/task/${p.pid}/children`, 'utf8').trim())) > 0,
    5000,
    'the child',
  );
  return {
    parent: p.pid!,
    child,
    stop: () => {
      process.kill(child, 'SIGKILL'); // it holds the pipe too
      p.kill('SIGKILL');
    },
  };
}

test("the copy map per mapping agrees with the test's own pagemap reader within one page", async () => {
  const t = await forked();
  try {
    const map = await readCopyMap(new ProcReader(), t.parent, [t.child]);
    assert.ok(!('error' in map) && map.privileged, JSON.stringify(map));
    const mine = ownSplit(t.parent, t.child);
    const theirs = map.workers[0].mappings;
    assert.ok(theirs.find((m) => m.label === 'anon')!.copied > 5 * 1048576, 'the collection copied arenas');
    for (const m of theirs) {
      const o = mine.get(m.label)!;
      assert.ok(o, m.label);
      for (const k of ['shared', 'copied', 'new'] as const)
        assert.ok(Math.abs(m[k] / 4096 - o[k]) <= 1, `${m.label} ${k}: ${m[k] / 4096} pages vs ${o[k]}`);
    }
  } finally {
    t.stop();
  }
});

test('as nobody, frames read as zero: attach --map falls back to smaps per mapping and says why, once', async () => {
  const t = await forked(65534);
  try {
    const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
      // From a copy nobody can read: the checkout may sit under a private directory.
      const c = spawn(
        'setpriv',
        [
          '--reuid=65534',
          '--regid=65534',
          '--clear-groups',
          '--',
          process.execPath,
          join(unprivilegedCopy(), 'bin', 'cowtop.js'),
          'attach',
          String(t.parent),
          '--batch',
          '--map',
          '--duration',
          '1.2',
          '--interval',
          '300',
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let out = '';
      c.stdout.on('data', (d) => (out += d));
      c.on('close', (code) => resolve({ code, out }));
    });
    assert.equal(r.code, 0);
    const last = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((x) => x.type === 'sample')
      .pop();
    assert.equal(last.map.privileged, false);
    assert.match(last.map.why, /needs root or CAP_SYS_ADMIN/);
    const w = last.processes.find((p: any) => p.role === 'worker');
    assert.equal(w.copies.copied, null, 'not guessed');
    const anon = w.copies.mappings.find((m: any) => m.label === 'anon');
    assert.ok(anon.private > 5 * 1048576, `smaps private ${anon.private}`);
  } finally {
    t.stop();
  }
});

test('the map pane: g without freeze heats the grid past 50%; re-forked frozen, g leaves it under 5%', async () => {
  const run = runInPty(['--size', '300000', '--workers', '2', '--interval', '300', '--map'], { cols: 100, rows: 30 });
  const hot = (t: string): number => Number(/hot (\d+)%/.exec(t)?.[1] ?? NaN);
  try {
    // Both workers in the map before g: a start this fast can show the pane with one forked.
    await run.waitFor((t) => hot(t) < 5 && /\b2 workers\b/.test(t), 30_000);
    run.press('g');
    await run.waitFor((t) => hot(t) > 50, 15_000);
    // The selected worker's copied bytes, as the pane says them, against its private pages in
    // /proc (copied pages are private to it; the pane's map is at most a tick old).
    await run.waitFor((t) => {
      const m = /worker \d, pid (\d+): shared [\d.]+ \S+, copied ([\d.]+) MiB/.exec(t);
      if (!m) return false;
      const r = parseSmapsRollup(readFileSync(`/proc/${m[1]}/smaps_rollup`, 'utf8'))!;
      return Math.abs(Number(m[2]) * 1048576 - r.uss) <= 0.05 * r.uss;
    }, 5000);
    run.press('f');
    await run.waitFor(/FREEZE ON/, 10_000);
    await run.waitFor((t) => !/re-fork/.test(t) && hot(t) < 5, 15_000);
    // Closed, g, both collections logged, then opened again: the map it shows is read after them.
    run.press('m');
    await run.waitFor((t) => !/hot \d+%/.test(t), 5000);
    const workers = readTable(run.screen())
      .filter((r) => r.ROLE.startsWith('worker'))
      .map((r) => r.PID);
    assert.equal(workers.length, 2);
    run.press('g');
    await run.waitFor((t) => workers.every((pid) => new RegExp(`gc gen 2 pid ${pid}: .*\\(asked\\)`).test(t)), 10_000);
    run.press('m');
    const shown = await run.waitFor((t) => hot(t) >= 0, 10_000);
    assert.ok(hot(shown) < 5, shown);
  } finally {
    run.press('q');
    await run.exited;
  }
});
