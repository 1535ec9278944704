/**
 * A shared server, tried as a hostile local user or a full disk would: terminal controls in
 * process names and in Python's output, outputs that cannot be written or were planted as links,
 * a recording on a full disk or of a failed start, and a worker killed mid-collection (for real,
 * by the OOM killer in a memory cgroup when this machine allows one).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { BIN, experimentPids, finished, FIXTURES, ours, runCli, startCli, waitUntil, withFullDisk } from './helpers';
import { runInPty } from './pty';

const dir = mkdtempSync('/tmp/cowtop-shared-');
after(() => rmSync(dir, { recursive: true, force: true }));

// biome-ignore lint/suspicious/noControlCharactersInRegex: what must never reach the output
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/; // anything but \t and \n raw in output
const SMALL = ['--size', '2000', '--workers', '1', '--interval', '200'];

function named(argv0: string) {
  return spawn('sleep', ['60'], { argv0, stdio: 'ignore' });
}

test('a process named with terminal controls: attach --batch shows them as text, in every format', async () => {
  const target = named('\x1b]2;TITLE\x07\x1b[2J');
  try {
    for (const format of ['json', 'csv']) {
      const r = await runCli(
        ['attach', String(target.pid), '--batch', '--format', format, '--duration', '0.6', '--interval', '200'],
        {},
        20_000,
      );
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stdout + r.stderr, CONTROL);
    }
    const cowtop = startCli(['attach', String(target.pid), '--batch', '--format', 'table', '--interval', '200']);
    let out = '';
    cowtop.stdout!.on('data', (d) => (out += d));
    await waitUntil(() => out.length > 0, 10_000, 'a first record');
    target.kill('SIGKILL'); // the root exits: cowtop says which process, by its name
    const done = await finished(cowtop);
    assert.equal(done.code, 0);
    assert.doesNotMatch(done.stdout + done.stderr, CONTROL, JSON.stringify(done.stderr));
    assert.match(done.stderr, /\(\\x1b\]2;TITLE\\x07\\x1b\[2J 60\) exited/);
  } finally {
    target.kill('SIGKILL');
  }
});

test('a process name cannot conceal the header: the dashboard shows the controls as text', async () => {
  const target = named('\x1b[30;40m\x1b[8mhidden');
  const run = runInPty(['attach', String(target.pid), '--interval', '200'], { cols: 120, rows: 30 });
  try {
    const text = await run.waitFor(/workers 0/, 20_000);
    const first = text.split('\n')[0];
    assert.match(first, /\\x1b\[30;40m\\x1b\[8mhidden 60/, first);
    assert.match(first, /no gc agent|up \d/, 'the rest of the header line is still there');
    assert.ok(!run.raw().includes('\x1b[8mhidden'), 'the raw conceal sequence never reached the terminal');
    run.press('q');
    assert.equal((await run.exited).exitCode, 0);
  } finally {
    target.kill('SIGKILL');
    run.proc.kill();
  }
});

test("Python's own output with terminal controls reaches batch output and the log as text", async () => {
  const r = await runCli(
    ['--batch', '--format', 'table', '--duration', '1', ...SMALL, '--python', join(FIXTURES, 'noisy-python')],
    {},
    60_000,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\[stderr\] \\x1b\]2;PWNED\\x07\\x1b\[2Jnoisy \\x9b python/);
  assert.doesNotMatch(r.stdout + r.stderr, CONTROL);
  const j = await runCli(
    ['--batch', '--duration', '1', ...SMALL, '--python', join(FIXTURES, 'noisy-python')],
    {},
    60_000,
  );
  assert.equal(j.code, 0, j.stderr);
  assert.doesNotMatch(j.stdout, CONTROL);
  const log = j.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .find((x) => x.kind === 'log' && /noisy/.test(x.text));
  assert.equal(log.text, '\\x1b]2;PWNED\\x07\\x1b[2Jnoisy \\x9b python');
});

const ROOT_USER = process.geteuid?.() === 0;

test('a full disk: --output and stdout fail with one line and exit 1, nothing left running', {
  skip: !ROOT_USER && 'a full disk is a small tmpfs: mounting needs root',
}, async () => {
  await withFullDisk(async (disk) => {
    const file = join(disk, 'out.json');
    const o = await runCli(['--batch', '--duration', '20', ...SMALL, '--output', file], {}, 30_000);
    assert.equal(o.code, 1);
    assert.equal(o.stderr, `cowtop: cannot write ${file}: ENOSPC\n`);
  });
  // A device is no file to write records into: refused at once.
  const dev = await runCli(['--batch', '--duration', '20', ...SMALL, '--output', '/dev/full'], {}, 30_000);
  assert.equal(dev.code, 2);
  assert.equal(
    dev.stderr,
    'cowtop: cannot write --output /dev/full: it is a device (only a regular file is written)\n',
  );
  const full = openSync('/dev/full', 'w');
  try {
    const child = spawn(process.execPath, [BIN, '--batch', '--duration', '20', ...SMALL], {
      stdio: ['ignore', full, 'pipe'],
    });
    const r = await finished(child, 30_000);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'cowtop: cannot write stdout: ENOSPC\n');
    const c = spawn(process.execPath, [BIN, 'compare', '--size', '2000', '--workers', '1'], {
      stdio: ['ignore', full, 'pipe'],
    });
    const rc = await finished(c, 60_000);
    assert.equal(rc.code, 1, 'compare too: its one write fails');
    assert.equal(rc.stderr, 'cowtop: cannot write stdout: ENOSPC\n');
  } finally {
    closeSync(full);
  }
  assert.deepEqual(experimentPids(), []);
});

test("a name planted in /tmp as a link is never written through; another user's file is not taken over", async () => {
  const victim = join(dir, 'victim');
  writeFileSync(victim, 'precious\n');
  const link = join(dir, 'out.json');
  symlinkSync(victim, link);
  const r = await runCli(['--batch', '--duration', '1', ...SMALL, '--output', link], {}, 30_000);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, `cowtop: cannot write --output ${link}: it is a symbolic link (not followed)\n`);
  const theirs = join(dir, 'theirs.cast');
  writeFileSync(theirs, 'theirs\n');
  require('node:fs').chownSync(theirs, 65534, 65534);
  const run = runInPty([...SMALL, '--record', theirs], { cols: 200 });
  assert.equal((await run.exited).exitCode, 2);
  await run.settle();
  assert.match(run.text(), /cowtop: cannot write --record .*theirs\.cast: it belongs to uid 65534 \(not overwritten\)/);
  assert.equal(readFileSync(victim, 'utf8'), 'precious\n');
  assert.equal(readFileSync(theirs, 'utf8'), 'theirs\n');
});

test('--record of a start that fails leaves an existing file as it was', async () => {
  const cast = join(dir, 'keep.cast');
  writeFileSync(cast, 'an earlier recording\n');
  const run = runInPty([...SMALL, '--record', cast, '--python', join(FIXTURES, 'fake-python-3.6')]);
  assert.equal((await run.exited).exitCode, 2);
  assert.equal(readFileSync(cast, 'utf8'), 'an earlier recording\n');
});

test(
  '--record on a full disk: the recording stops with a notice, the dashboard goes on',
  { skip: !ROOT_USER && 'a full disk is a small tmpfs: mounting needs root' },
  () =>
    withFullDisk(async (disk) => {
      const run = runInPty([...SMALL, '--record', join(disk, 'r.cast')], { cols: 160, rows: 30 });
      try {
        await run.waitFor(
          /recording stopped: cannot write \/tmp\/cowtop-fulldisk-\w+\/r\.cast: ENOSPC; the dashboard goes on/,
          30_000,
        );
        await run.waitFor(/worker 1/, 10_000);
        const before = run.text();
        await run.waitFor((t) => t !== before, 5000); // still drawing
        run.press('q');
        assert.equal((await run.exited).exitCode, 0);
      } finally {
        run.proc.kill();
      }
      assert.deepEqual(experimentPids(), []);
    }),
);

/**
 * Our experiment's workers: children of our Python parent. Python itself, by its command name: a
 * pyenv shim runs bash with the experiment's arguments (and its children under it) before the
 * interpreter starts, and killing one of those is not killing a worker.
 */
function ourWorkers(): number[] {
  const comm = (p: number): string => {
    try {
      return readFileSync(`/proc/${p}/comm`, 'utf8').trim();
    } catch {
      return '';
    }
  };
  const parents = experimentPids().filter((p) => ours(p) && /^python/.test(comm(p)));
  const ppid = (p: number): number | null => {
    try {
      return Number(readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
    } catch {
      return null; // exited since the listing
    }
  };
  return parents.filter((p) => parents.includes(ppid(p) ?? -1));
}

test('compare fails at once when a worker is killed, naming it and its signal; nothing left', async () => {
  const cowtop = startCli(['compare', '--size', '300000', '--workers', '2']);
  const result = finished(cowtop, 30_000); // not the 300 s it once waited
  await waitUntil(() => ourWorkers().length === 2, 20_000, 'the workers');
  process.kill(ourWorkers()[0], 'SIGKILL');
  const r = await result;
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /^cowtop: worker \d \(pid \d+\) died (before the measurement|during its gc\.collect\(\)): SIGKILL\n$/,
  );
  assert.deepEqual(experimentPids(), []);
});

const MEMCG = '/sys/fs/cgroup/memory';
test('compare names the OOM killer when it kills a worker mid-collection (a real memory cgroup)', {
  skip: !existsSync(join(MEMCG, 'memory.limit_in_bytes')) && 'no cgroup v1 memory controller here',
}, async (t) => {
  const cg = join(MEMCG, `cowtop-test-${process.pid}`);
  try {
    mkdirSync(cg);
  } catch (err) {
    t.skip(`cannot make a memory cgroup: ${(err as NodeJS.ErrnoException).code}`);
    return;
  }
  try {
    // 1,000,000 records are ~170 MiB; each worker copies ~120 MiB when it collects: 300 MiB cannot hold both.
    writeFileSync(join(cg, 'memory.limit_in_bytes'), String(300 * 1048576));
    const child = spawn(
      process.execPath,
      [
        '-e',
        `require('fs').writeFileSync(${JSON.stringify(join(cg, 'cgroup.procs'))}, String(process.pid)); process.argv.splice(1, 0, 'cowtop'); require(${JSON.stringify(BIN)})`,
        'compare',
        '--size',
        '1000000',
        '--workers',
        '2',
        '--force',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const r = await finished(child, 60_000);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /^cowtop: worker \d \(pid \d+\) died during its gc\.collect\(\): SIGKILL; the kernel's OOM killer killed it \(oom_kill \d+ -> \d+\)\n$/,
    );
    assert.deepEqual(experimentPids(), []);
  } finally {
    await waitUntil(
      () => {
        try {
          rmdirSync(cg);
          return true;
        } catch {
          return false;
        }
      },
      10_000,
      'the cgroup to empty',
    );
  }
});
