/**
 * Every way out leaves no experiment process and, for the dashboard, the terminal as it was;
 * deaths inside the experiment are shown, not fatal.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { alive, BIN, experimentPids, FIXTURES, runCli, sleep, waitUntil } from './helpers';
import { readTable, runInPty, type PtyRun } from './pty';

const ARGS = ['--size', '100000', '--workers', '2', '--interval', '200'];

async function started(run: PtyRun): Promise<{ parent: number; workers: number[] }> {
  await run.waitFor(
    (t) => readTable(t.split('\n')).filter((r) => r.ROLE.startsWith('worker') && /^\d/.test(r.USS)).length === 2,
  );
  const rows = readTable(run.screen());
  return {
    parent: Number(rows.find((r) => r.ROLE === 'parent')!.PID),
    workers: rows.filter((r) => r.ROLE.startsWith('worker')).map((r) => Number(r.PID)),
  };
}

function restored(run: PtyRun): void {
  assert.equal(run.term.buffer.active.type, 'normal', 'back on the normal screen');
  const raw = run.raw();
  assert.ok(raw.lastIndexOf('\x1b[?25h') > raw.lastIndexOf('\x1b[?25l'), 'cursor shown again');
  assert.ok(raw.lastIndexOf('\x1b[?1049l') > raw.lastIndexOf('\x1b[?1049h'), 'alternate screen left');
}

async function noneLeft(pids: number[]): Promise<void> {
  await waitUntil(() => pids.every((p) => !alive(p)), 5000, `processes ${pids} to end`);
  assert.deepEqual(experimentPids(), []);
}

for (const [name, how, code] of [
  ['q', (r: PtyRun) => r.press('q'), 0],
  ['Ctrl-C', (r: PtyRun) => r.press('\x03'), 0],
  ['SIGTERM', (r: PtyRun) => process.kill(r.proc.pid, 'SIGTERM'), 143],
  ['SIGHUP', (r: PtyRun) => process.kill(r.proc.pid, 'SIGHUP'), 129],
] as const) {
  test(`dashboard, ${name}: terminal restored, no experiment process left`, async () => {
    const run = runInPty(ARGS);
    const { parent, workers } = await started(run);
    how(run);
    const e = await run.exited;
    await run.settle();
    assert.equal(e.exitCode, code);
    restored(run);
    await noneLeft([parent, ...workers]);
  });
}

test('dashboard, SIGKILL of cowtop: the experiment dies with it', async () => {
  const run = runInPty(ARGS);
  const { parent, workers } = await started(run);
  process.kill(run.proc.pid, 'SIGKILL');
  await run.exited;
  await noneLeft([parent, ...workers]);
});

test('dashboard, the SSH connection drops (the pty closes): no experiment process left', async () => {
  const run = runInPty(ARGS);
  const { parent, workers } = await started(run);
  run.proc.kill('SIGHUP');
  (run.proc as unknown as { destroy?: () => void }).destroy?.();
  await noneLeft([parent, ...workers]);
});

test('dashboard, an uncaught error in cowtop: one line, terminal restored, no process left', async () => {
  const run = runInPty(ARGS, { env: { COWTOP_CRASH_AFTER_MS: '2500' } });
  const { parent, workers } = await started(run);
  const e = await run.exited;
  await run.settle();
  assert.equal(e.exitCode, 70);
  restored(run);
  assert.match(run.text(), /cowtop: internal error: crash requested by COWTOP_CRASH_AFTER_MS/);
  assert.doesNotMatch(run.text(), /\n\s+at /, 'no stack trace');
  await noneLeft([parent, ...workers]);
});

test('dashboard: a worker killed by a signal is marked, the dashboard goes on', async () => {
  const run = runInPty(ARGS);
  try {
    const { workers } = await started(run);
    process.kill(workers[0], 'SIGKILL');
    await run.waitFor(new RegExp(`worker \\d+\\s+${workers[0]}\\s+exited: SIGKILL \\(unexpected\\)`), 5000);
    await run.waitFor(new RegExp(`exit pid ${workers[0]}: SIGKILL \\(unexpected\\)`), 5000);
    await sleep(600);
    assert.ok(
      readTable(run.screen()).some((r) => r.PID === String(workers[1]) && /^\d/.test(r.USS)),
      'the other worker still sampled',
    );
  } finally {
    run.press('q');
    await run.exited;
  }
});

test('dashboard: the Python parent crashes; the screen says so, R restarts it', async () => {
  const run = runInPty(ARGS, { cols: 100, rows: 30 });
  try {
    const { parent, workers } = await started(run);
    process.kill(parent, 'SIGKILL');
    await run.waitFor(/Python parent exited \(SIGKILL\): R restarts the experiment/, 5000);
    await waitUntil(() => workers.every((p) => !alive(p)), 5000, 'workers die with their parent');
    await run.waitFor(/R restart/, 2000);
    run.press('R');
    await run.waitFor((t) => {
      const rows = readTable(t.split('\n'));
      const p = rows.find((r) => r.ROLE === 'parent');
      return (
        !!p &&
        Number(p.PID) !== parent &&
        rows.filter((r) => r.ROLE.startsWith('worker') && /^\d/.test(r.USS)).length === 2
      );
    }, 30_000);
    assert.doesNotMatch(run.screen()[1], /Python parent exited/, 'the notice is gone');
  } finally {
    run.press('q');
    await run.exited;
  }
  assert.deepEqual(experimentPids(), []);
});

test('batch: garbage and a half line on the report pipe are logged, not trusted', async () => {
  const r = await runCli(['--batch', '--duration', '2', ...ARGS, '--python', join(FIXTURES, 'garbage-python')]);
  assert.equal(r.code, 0, r.stderr);
  const records = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const unreadable = records.filter((x) => x.kind === 'log' && /unreadable report line/.test(x.text));
  assert.ok(unreadable.length >= 3, `garbage lines reported: ${JSON.stringify(unreadable)}`);
  assert.ok(
    records.some((x) => x.kind === 'ready'),
    'the whole line after the half line is still read',
  );
  const last = records.filter((x) => x.type === 'sample').pop();
  assert.equal(last.processes.length, 3);
  assert.deepEqual(experimentPids(), []);
});

test('batch: the Python parent crashes: one line, exit 1, nothing left', async () => {
  const child = require('node:child_process').spawn(process.execPath, [BIN, '--batch', ...ARGS], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (err += d));
  await waitUntil(() => /"type":"sample".*"role":"worker".*"role":"worker"/.test(out), 30_000, 'samples');
  const ready = JSON.parse(out.split('\n').find((l) => l.includes('"kind":"ready"'))!);
  process.kill(ready.pid, 'SIGKILL');
  const code = await new Promise((res) => child.on('close', res));
  assert.equal(code, 1);
  assert.match(err, /^cowtop: the experiment's Python parent exited \(SIGKILL\)\n$/);
  await waitUntil(() => experimentPids().length === 0, 5000, 'workers gone');
});
