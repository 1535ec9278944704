/**
 * Sampling while workers exit and are re-forked 20 times a second for 10 seconds: no crash, no
 * negative delta, no stale row, no reading attributed to the wrong pid.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Experiment } from '../src/experiment/experiment';
import type { Report } from '../src/experiment/protocol';
import { parseStat } from '../src/proc/parse';
import { ProcReader } from '../src/proc/read';
import { Sampler } from '../src/sample/sampler';
import { experimentPids, sleep } from './helpers';

test('sampling through 120 re-forks, sent 50 ms apart, stays right', async () => {
  const e = new Experiment({
    python: 'python3',
    size: 20000,
    workers: 3,
    freeze: false,
    workload: 'idle',
    collectEvery: 5,
    interval: 100,
  });
  const exitedAt = new Map<number, number>();
  let reforks = 0;
  e.on('report', (r: Report) => {
    if (r.type === 'exit') exitedAt.set(r.pid, Date.now());
    if (r.type === 'refork') reforks++;
  });
  await e.ready;
  const sampler = new Sampler(new ProcReader(), e);
  const problems: string[] = [];
  let snapshots = 0;
  let rowsChecked = 0;
  // Counted in re-forks, not seconds: the experiment runs niced, and beside another test file's
  // real servers it does fewer re-forks a second; what is checked is every sample through them.
  let sent = 0;
  const churn = (async () => {
    let freeze = false;
    for (; sent < 120; sent++) {
      freeze = !freeze;
      e.send({ cmd: 'refork', freeze });
      await sleep(50);
    }
  })();
  const giveUp = Date.now() + 30_000;
  try {
    while ((sent < 120 || reforks < 90) && Date.now() < giveUp) {
      const tickStart = Date.now();
      const snap = await sampler.tick();
      snapshots++;
      for (const p of snap.processes) {
        if (p.minfltDelta !== null && p.minfltDelta < 0)
          problems.push(`negative minflt delta ${p.minfltDelta} for ${p.pid}`);
        if (p.majfltDelta !== null && p.majfltDelta < 0) problems.push(`negative majflt delta for ${p.pid}`);
        if (!p.alive) continue;
        const gone = exitedAt.get(p.pid);
        if (gone !== undefined && gone < tickStart) problems.push(`stale row: ${p.pid} exited before the tick began`);
        let stat = null;
        try {
          stat = parseStat(readFileSync(`/proc/${p.pid}/stat`, 'utf8'));
        } catch {
          continue; // gone since: nothing to compare with
        }
        rowsChecked++;
        if (stat && stat.starttime !== p.starttime)
          problems.push(`row for ${p.pid} carries another process's start time`);
        if (stat && p.role === 'worker' && stat.ppid !== e.pid)
          problems.push(`worker ${p.pid} is not a child of the parent`);
        if (p.role === 'worker' && p.gc && p.gc.counts === null) problems.push('gc state without counts');
      }
      await sleep(20);
    }
    await churn;
  } finally {
    sampler.close();
    await e.stop();
  }
  assert.deepEqual(problems.slice(0, 10), []);
  assert.ok(reforks >= 90, `${reforks} re-forks done`);
  assert.ok(snapshots >= 60, `${snapshots} snapshots`);
  assert.ok(rowsChecked >= 180, `${rowsChecked} rows checked against /proc`);
  assert.deepEqual(experimentPids(), []);
});

test('a master with 1,200 children: every child is found (its children file is longer than one read)', async () => {
  // /proc/PID/task/TID/children hands out a page of pids per read: a master with more children
  // than fit in 4 KiB once lost the rest of its rows, silently.
  const code =
    'import os, signal, sys, time\nfor _ in range(1200):\n    if os.fork() == 0:\n        signal.pause()\n        os._exit(0)\nprint("ready", flush=True)\ntime.sleep(60)\n';
  const master = spawn('python3', ['-c', code], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  try {
    await new Promise<void>((r) => master.stdout!.on('data', (d) => /ready/.test(String(d)) && r()));
    const direct = readFileSync(`/proc/${master.pid}/task/${master.pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    assert.equal(direct.length, 1200, 'the kernel lists them all when read to the end');
    const found = await new ProcReader().children(master.pid!);
    assert.deepEqual(
      [...found].sort((a, b) => a - b),
      [...direct].sort((a, b) => a - b),
    );
  } finally {
    process.kill(-master.pid!, 'SIGKILL');
  }
});
