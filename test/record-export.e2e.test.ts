/** --record writes an asciicast v2 file that replays the dashboard; e exports the snapshot. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { probePython } from '../src/experiment/python';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Terminal } from '@xterm/headless';
import { FIXTURES, runCli } from './helpers';
import { findInterpreters } from '../src/experiment/interpreters';
import { matrixText } from '../src/measure/matrix-report';

/** The real file behind a command on PATH. */
const execPathOf = (name: string): string =>
  execFileSync(name, ['-c', 'import os, sys; print(os.path.realpath(sys.executable))'], { encoding: 'utf8' }).trim();
import { readTable, runInPty, twoWorkersKnown } from './pty';

const ARGS = ['--size', '50000', '--workers', '2', '--interval', '300'];
const dir = mkdtempSync(join(tmpdir(), 'cowtop-rec-'));

test('--record: the cast parses, and replaying it shows the dashboard', async () => {
  const cast = join(dir, 'demo.cast');
  const run = runInPty([...ARGS, '--record', cast], { cols: 100, rows: 30 });
  await run.waitFor(twoWorkersKnown);
  run.press('g');
  await run.waitFor(/gc\.collect\(\) asked of 2 workers/);
  run.press('q');
  assert.equal((await run.exited).exitCode, 0);
  const lines = readFileSync(cast, 'utf8').trim().split('\n');
  const header = JSON.parse(lines[0]);
  assert.equal(header.version, 2);
  assert.equal(header.width, 100);
  assert.equal(header.height, 30);
  const events = lines.slice(1).map((l) => JSON.parse(l));
  assert.ok(events.length >= 3, 'the first frame, the table, the collect event at least');
  let last = 0;
  for (const e of events) {
    assert.equal(e.length, 3);
    assert.equal(e[1], 'o');
    assert.equal(typeof e[2], 'string');
    assert.ok(e[0] >= last, 'times never go back');
    last = e[0];
  }
  // Replay through a terminal emulator: the frames show what the user saw.
  const term = new Terminal({ cols: 100, rows: 30, allowProposedApi: true });
  const screen = (): string =>
    Array.from({ length: 30 }, (_, i) => term.buffer.active.getLine(i)?.translateToString(true) ?? '').join('\n');
  let sawTable = false;
  let sawCollect = false;
  for (const e of events) {
    await new Promise<void>((r) => term.write(e[2], r));
    const s = screen();
    if (/FREEZE OFF/.test(s) && readTable(s.split('\n')).length === 3) sawTable = true;
    if (/gc\.collect\(\) asked of 2 workers/.test(s)) sawCollect = true;
  }
  assert.ok(sawTable, 'a frame with the mode and the three processes');
  assert.ok(sawCollect, 'the frame after g');
  assert.equal(term.buffer.active.type, 'normal', 'the recording ends with the terminal given back');
});

for (const ext of ['json', 'csv']) {
  test(`e exports the current snapshot as ${ext.toUpperCase()}`, async () => {
    const file = join(dir, `snap.${ext}`);
    const run = runInPty([...ARGS, '--export', file], { cols: 100, rows: 30 });
    try {
      // Every row with its figures from /proc and its first gc report from Python: what e writes.
      await run.waitFor(
        (t) =>
          readTable(t.split('\n')).filter((r) => /^\d/.test(r.USS) && /^\d/.test(r['GC 0/1/2'] ?? '')).length === 3,
      );
      run.press('e');
      await run.waitFor(new RegExp(`exported the snapshot of [\\d:]+ to ${file.replace(/[.]/g, '\\.')}`), 3000);
    } finally {
      run.press('q');
      await run.exited;
    }
    const text = readFileSync(file, 'utf8');
    if (ext === 'json') {
      const rec = JSON.parse(text);
      assert.equal(rec.type, 'sample');
      assert.deepEqual(
        rec.processes.map((p: any) => p.role),
        ['parent', 'worker', 'worker'],
      );
      assert.ok(rec.processes.every((p: any) => p.uss > 0 && p.gc));
    } else {
      const rows = text.trim().split('\n');
      assert.match(rows[0], /^t,freeze,pid,role,alive,rss,pss,uss/);
      assert.equal(rows.length, 4);
    }
  });
}

test('--record that cannot be written, or with --batch: one line, exit 2', async () => {
  const a = await runCli(['--batch', '--record', join(dir, 'x.cast')]);
  assert.equal(a.code, 2);
  assert.match(a.stderr, /^cowtop: --record goes with the dashboard, not --batch\n$/);
  const run = runInPty([...ARGS, '--record', '/nonexistent-dir/x.cast']);
  assert.equal((await run.exited).exitCode, 2);
  await run.settle();
  assert.match(run.text(), /cowtop: cannot write --record \/nonexistent-dir\/x\.cast: ENOENT/);
});

test('compare --format markdown: a table to paste into an issue', async () => {
  const r = await runCli(['compare', '--size', '100000', '--workers', '1', '--format', 'markdown']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^\*\*cowtop compare\*\*: CPython/);
  assert.match(r.stdout, /\| worker \| USS before \(no freeze\) \|/);
  assert.match(r.stdout, /^\| 1 \| [\d.]+ MiB \| [\d.]+ MiB \| [\d,]+ \|/m);
  assert.match(r.stdout, /^\| \*\*mean\*\* \| [\d.]+ MiB \| /m);
  assert.match(r.stdout, /^Modules imported before fork: json, /m);
  assert.match(
    r.stdout,
    /Memory copied by the collection, per worker: .* without freeze, .* with `gc\.freeze\(\)` \(-9\d\.\d%; USS growth: the headline\)\./,
  );
});

test('compare --matrix: interpreters x workloads, the limits of freeze in one table', async () => {
  const r = await runCli([
    'compare',
    '--matrix',
    '--size',
    '100000',
    '--workers',
    '1',
    '--python',
    'python3',
    '--python',
    '/usr/bin/pypy3',
    '--format',
    'json',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const m = JSON.parse(r.stdout);
  assert.equal(m.type, 'matrix');
  // Progress as each interpreter finishes, on stderr: minutes of silence no more.
  assert.match(r.stderr, /^cowtop: 2 interpreters x collect, read, write/m);
  assert.match(r.stderr, /^cowtop: \[1\/2, \d+ s\] CPython 3\.\d+\.\d+ \(python3\): collect -9\d\.\d%, read /m);
  assert.match(r.stderr, /^cowtop: \[2\/2, \d+ s\] PyPy /m);
  assert.deepEqual(
    m.rows.map((x: any) => `${x.implementation}/${x.workload}`),
    ['CPython/collect', 'CPython/read', 'CPython/write', 'PyPy/collect', 'PyPy/read', 'PyPy/write'],
  );
  const row = (impl: string, w: string) => m.rows.find((x: any) => x.implementation === impl && x.workload === w);
  assert.ok(row('CPython', 'collect').reduction > 0.9, 'freeze stops what a collection copies');
  assert.ok(row('CPython', 'read').reduction < 0.3, 'but not what reading copies (refcounts)');
  assert.ok(row('CPython', 'read').copiedWith > 5 * 1048576);
  assert.ok(row('CPython', 'write').reduction < 0.3, 'nor what writing copies');
  assert.equal(row('PyPy', 'collect').copiedWith, null, 'PyPy has no gc.freeze');
  assert.ok(row('PyPy', 'collect').copiedWithout > 5 * 1048576, 'a PyPy major collection copies too');
  // The table a person reads, from the same rows.
  assert.match(
    matrixText(m.rows, m.size, m.workers, 'table'),
    /CPython 3\.\d+\.\d+\s+collect\s+[\d.]+ \w+\s+[\d.]+ \w+\s+-9\d\.\d%/,
  );
  assert.match(
    matrixText(m.rows, m.size, m.workers, 'markdown'),
    /^\*\*cowtop compare --matrix\*\*: 100,000 records \(200,000 gc-tracked objects\), 1 worker; .*\n\n\| interpreter \| workload \|/,
  );
  const bad = await runCli(['compare', '--python', 'python3', '--python', 'pypy3']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^cowtop: --python given several times goes with --matrix\n$/);
});

test('compare --matrix finds interpreters in pyenv too, once each by real path, and says which it leaves out and why', async () => {
  const root = mkdtempSync(join(tmpdir(), 'cowtop-pyenv-'));
  try {
    // A pyenv root with a real interpreter, the same one again, and one too old to use.
    for (const [v, target] of [
      ['3.11.7', execPathOf('python3')],
      ['3.11.7-copy', execPathOf('python3')],
      ['3.6.15', join(FIXTURES, 'fake-python-3.6')],
    ] as const) {
      mkdirSync(join(root, 'versions', v, 'bin'), { recursive: true });
      symlinkSync(target, join(root, 'versions', v, 'bin', 'python3'));
    }
    const found = await findInterpreters(
      [],
      { ...process.env, PYENV_ROOT: root, PATH: '/nonexistent', HOME: root },
      [],
    );
    assert.deepEqual(found.pythons, [join(root, 'versions', '3.11.7', 'bin', 'python3')], 'once by real path');
    assert.equal(found.skipped.length, 1);
    assert.match(found.skipped[0].why, /is CPython 3\.6\.15; cowtop needs CPython 3\.7 or newer/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

const PYENV_VERSIONS = join(process.env.PYENV_ROOT ?? join(process.env.HOME ?? '/root', '.pyenv'), 'versions');
const SYSTEM_LIKE = ['3.12.1', '3.9.18'].map((v) => join(PYENV_VERSIONS, v, 'bin', 'python3'));
test("compare --matrix finds the system's interpreters behind pyenv's shims, once each by real path and version, oldest first", {
  skip:
    !(existsSync('/usr/bin/python3') && SYSTEM_LIKE.every((p) => existsSync(p))) &&
    'needs /usr/bin/python3 and pyenv 3.9.18 and 3.12.1',
}, async () => {
  const want = SYSTEM_LIKE;
  const dirs = mkdtempSync(join(tmpdir(), 'cowtop-sys-'));
  try {
    // A "system" directory: Debian's python3 under two names, and two pyenv builds not on PATH.
    const bin = join(dirs, 'bin');
    mkdirSync(bin);
    symlinkSync('/usr/bin/python3', join(bin, 'python3'));
    symlinkSync('/usr/bin/python3', join(bin, 'python3.11'));
    symlinkSync(want[0], join(bin, 'python3.12'));
    symlinkSync(want[1], join(bin, 'python3.9'));
    writeFileSync(join(bin, 'python3-config'), '#!/bin/sh\n', { mode: 0o755 });
    const found = await findInterpreters(
      [],
      { ...process.env, PYENV_ROOT: join(dirs, 'none'), PATH: '/nonexistent', HOME: dirs },
      [bin],
    );
    const versions = await Promise.all(found.pythons.map(async (p) => (await probePython(p)).version));
    assert.deepEqual(
      versions.map((v) => v.split('.').slice(0, 2).join('.')),
      ['3.9', '3.11', '3.12'],
      `sorted, once each: ${found.pythons.join(', ')}`,
    );
    assert.ok(found.pythons.includes(join(bin, 'python3')), "Debian's python3, by the first name found");
  } finally {
    rmSync(dirs, { recursive: true, force: true });
  }
});
