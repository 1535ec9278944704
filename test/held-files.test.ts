/**
 * The sampled tree's /proc files are kept open between ticks (held-files.ts). These tests read
 * a real process through held fds and hold them to what a fresh open of the same path says:
 * across an exec (a new address space behind the same pid), and after the process is gone
 * (no fd left behind).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { HeldFiles, heldCapacity } from '../src/proc/held-files';
import { parseSmapsRollup } from '../src/proc/parse';
import { ProcReader } from '../src/proc/read';
import { firstLine, waitUntil } from './helpers';

/** This process's fds open on /proc/PID/..., by number. */
function fdsOn(pid: number): Map<number, string> {
  const out = new Map<number, string>();
  for (const n of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${n}`);
      if (target.startsWith(`/proc/${pid}/`)) out.set(Number(n), target);
    } catch {
      // closed while listed (the readdir's own fd)
    }
  }
  return out;
}

const commOf = (pid: number): string => /\((.*)\)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))![1];

test('held fds are read afresh each tick, follow an exec to the new program, and are closed once the process is gone', async () => {
  // /usr/bin/python3 itself, not a shim: the pid must be the interpreter's from the start.
  const child = spawn(
    '/usr/bin/python3',
    [
      '-c',
      "import os,sys; sys.stdout.write('ready\\n'); sys.stdout.flush(); sys.stdin.readline(); os.execvp('sleep', ['sleep', '60'])",
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const pid = child.pid!;
  try {
    await new Promise<void>((resolve) => child.stdout!.on('data', (d) => String(d).includes('ready') && resolve()));
    const reader = new ProcReader('/proc', { hold: true });
    const first = await reader.tree(pid);
    assert.ok(first.get(pid)?.ok);
    const before = await reader.smapsRollup(pid);
    assert.ok(before.ok);
    assert.match(reader.cmdlineNow(pid) ?? '', /^\/usr\/bin\/python3 -c import os/);
    const held = fdsOn(pid);
    assert.deepEqual([...held.values()].sort(), [
      `/proc/${pid}/cmdline`,
      `/proc/${pid}/smaps_rollup`,
      `/proc/${pid}/stat`,
      `/proc/${pid}/task/${pid}/children`,
    ]);
    assert.equal(reader.heldCount, 4);

    child.stdin!.write('\n');
    await waitUntil(() => commOf(pid) === 'sleep', 10_000, 'the exec');
    const after = await reader.tree(pid);
    const st = after.get(pid)!;
    assert.ok(st.ok && st.value.comm === 'sleep', 'the held stat fd reads the process as it is now');
    assert.equal(reader.cmdlineNow(pid), 'sleep 60', 'the held cmdline fd reads the new program');
    // The same fd numbers still open on the same files: read again from offset 0, not reopened.
    assert.equal(reader.heldCount, 4);
    const stillHeld = fdsOn(pid);
    for (const [fd, target] of held) if (!target.endsWith('smaps_rollup')) assert.equal(stillHeld.get(fd), target);

    // The held rollup fd saw the old address space; the reader must notice and read the new one.
    // Compared once sleep is asleep: while the loader maps its libraries, its RSS still grows.
    await waitUntil(() => readFileSync(`/proc/${pid}/wchan`, 'utf8').includes('nanosleep'), 10_000, 'sleep to sleep');
    const rollup = await reader.smapsRollup(pid);
    const direct = parseSmapsRollup(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))!;
    assert.ok(rollup.ok);
    assert.equal(rollup.value.rss, direct.rss, "the rollup is sleep's, as a fresh open reads it");
    assert.ok(
      before.value.rss > 2 * direct.rss,
      `python's rollup (${before.value.rss}) was not sleep's (${direct.rss})`,
    );
    assert.equal(reader.heldCount, 0, "the pid's old fds are dropped");
    await reader.tree(pid);
    const again = await reader.smapsRollup(pid);
    assert.ok(again.ok && again.value.rss === direct.rss);
    assert.equal(reader.heldCount, 3, 'held again at the next tick, the rollup on the new address space');

    child.kill('SIGKILL');
    await new Promise((r) => child.once('close', r));
    const gone = await reader.tree(pid);
    assert.equal(gone.get(pid)?.ok, false);
    assert.equal(reader.heldCount, 0);
    await waitUntil(() => fdsOn(pid).size === 0, 5_000, 'the held fds closed');
  } finally {
    child.kill('SIGKILL');
  }
});

test('held files stop at their capacity, and the reads past it still work', async () => {
  const files = new HeldFiles('/proc', 1);
  const a = files.acquire(process.pid, 'stat');
  assert.ok(a);
  assert.equal(files.acquire(process.pid, 'status'), null);
  files.release(a);
  files.drop(process.pid);
  assert.equal(files.size, 0);

  // A reader whose tree is larger than what it may hold still reads every member.
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  try {
    const reader = new ProcReader('/proc', { hold: 1 });
    const tree = await reader.tree(process.pid);
    assert.ok(tree.get(process.pid)?.ok);
    assert.ok(tree.get(child.pid!)?.ok, 'the child past the capacity is read too');
    assert.equal(reader.heldCount, 1);
  } finally {
    child.kill('SIGKILL');
  }
});

test('the held files take a share of the open-files limit and leave room for the rest', () => {
  const limits = (soft: string): string =>
    `Limit                     Soft Limit           Hard Limit           Units\nMax open files            ${soft}                4096                 files\n`;
  assert.equal(heldCapacity(limits('1024')), 768);
  assert.equal(heldCapacity(limits('20000')), 15000);
  assert.equal(heldCapacity(limits('256')), 0);
  assert.equal(heldCapacity(limits('unlimited')), 49152);
  assert.equal(heldCapacity(null), 768);
});

test('the tree of a threaded process holds the children that any of its threads forked', async () => {
  // The main thread forks one child, a second thread another: children files are per thread.
  const code = [
    'import subprocess, sys, threading',
    "a = subprocess.Popen(['sleep', '60'])",
    'forked = threading.Event()',
    'def fork():',
    "    global b; b = subprocess.Popen(['sleep', '60']); forked.set()",
    '    sys.stdin.readline()  # stays alive: its children stay in its own children file',
    'threading.Thread(target=fork, daemon=True).start(); forked.wait()',
    "sys.stdout.write('%d %d\\n' % (a.pid, b.pid)); sys.stdout.flush()",
    'threading.Event().wait()',
  ].join('\n');
  const root = spawn('/usr/bin/python3', ['-c', code], { stdio: ['pipe', 'pipe', 'inherit'] });
  let kids: number[] = [];
  try {
    kids = (await firstLine(root.stdout!)).trim().split(' ').map(Number);
    const ownFile = (tid: number): string => readFileSync(`/proc/${root.pid}/task/${tid}/children`, 'utf8');
    assert.ok(
      !ownFile(root.pid!).includes(String(kids[1])),
      "the second child is not in the main thread's children file",
    );
    const reader = new ProcReader('/proc', { hold: true });
    const tree = await reader.tree(root.pid!);
    const st = tree.get(root.pid!);
    assert.ok(st?.ok && st.value.numThreads > 1, 'the root runs two threads');
    for (const kid of kids) assert.ok(tree.get(kid)?.ok, `child ${kid} is in the tree`);
  } finally {
    for (const pid of kids) process.kill(pid, 'SIGKILL');
    root.kill('SIGKILL');
  }
});
