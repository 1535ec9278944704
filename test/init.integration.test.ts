/**
 * cowtop run as PID 1 of a container without init (`unshare --pid --fork --mount-proc` around
 * cowtop itself): the orphans the server leaves are reaped (no zombie stays in the namespace),
 * SIGTERM and SIGINT reach the server as they came, and cowtop ends with the server's status.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alive, BIN, collectLines, FIXTURES, finished, waitUntil } from './helpers';
import { children } from './gunicorn';

const skip = process.getuid?.() !== 0 ? 'a PID namespace needs root' : false;
const SERVER = join(FIXTURES, 'init', 'orphans.py');

/** Host pids in pid's PID namespace, with their state (Z: a zombie nobody reaped). */
function namespaceOf(pid: number): Array<{ pid: number; state: string }> {
  const ns = readlinkSync(`/proc/${pid}/ns/pid`);
  const out: Array<{ pid: number; state: string }> = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/ns/pid`) !== ns) continue;
      const state = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${name}/status`, 'utf8'))![1];
      out.push({ pid: Number(name), state });
    } catch {
      // gone
    }
  }
  return out;
}

async function asInit(mode: 'signal' | 'exit', signal?: NodeJS.Signals) {
  const dir = mkdtempSync(join(tmpdir(), 'cowtop-init-'));
  const go = join(dir, 'go');
  const unshare = spawn(
    'unshare',
    [
      '--pid',
      '--fork',
      '--mount-proc',
      '--kill-child',
      '--',
      process.execPath,
      BIN,
      'run',
      '--batch',
      '--interval',
      '200',
      '--',
      'python3',
      SERVER,
      mode,
      go,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const done = finished(unshare, 60_000);
  try {
    await waitUntil(() => children(unshare.pid!).length === 1, 10_000, 'cowtop as PID 1');
    const init = children(unshare.pid!)[0];
    const recs = await collectLines(
      unshare,
      (rs) => rs.some((r) => r.type === 'sample' && r.processes.filter((p: any) => p.alive).length === 2),
      20_000,
    );
    assert.ok(
      recs.some(
        (r) => r.type === 'event' && /cowtop is PID 1: pid \d+ \(cowtop_init\.py, a child subreaper\)/.test(r.text),
      ),
    );
    // Sampled from the server down: the helper is no part of the tree.
    const sample = recs.filter((r) => r.type === 'sample').pop();
    assert.deepEqual(
      sample.processes.map((p: any) => p.role),
      ['master', 'worker'],
    );
    // The grandchildren exit within 0.4 s of the start: reaped, nothing but the four remain.
    await waitUntil(
      () => namespaceOf(init).length === 4,
      10_000,
      `only cowtop, its helper, the server and its worker in the namespace (zombies: ${JSON.stringify(namespaceOf(init).filter((p) => p.state === 'Z'))})`,
    );
    assert.ok(namespaceOf(init).every((p) => p.state !== 'Z'));
    if (signal) process.kill(init, signal);
    else writeFileSync(go, '');
    const r = await done;
    return { ...r, init };
  } finally {
    unshare.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

test('as PID 1: SIGTERM reaches the server, cowtop ends with its status, orphans were reaped', { skip }, async () => {
  const r = await asInit('signal', 'SIGTERM');
  assert.equal(r.code, 3, r.stderr);
  assert.ok(!alive(r.init));
});

test('as PID 1: SIGINT is passed on as SIGINT', { skip }, async () => {
  const r = await asInit('signal', 'SIGINT');
  assert.equal(r.code, 4, r.stderr);
});

test('as PID 1: a server that ends by itself ends cowtop with its code', { skip }, async () => {
  const r = await asInit('exit');
  assert.equal(r.code, 5, r.stderr);
  assert.match(r.stderr, /exited with code 5/);
});
