/**
 * What a wrapper, another user or a careless user could make cowtop say falsely, hang on, write
 * through or leave running, tried for real: an exec wrapper around gunicorn, a server that puts
 * a process in its own session, a server printing 1 MB lines, a FIFO planted at an output path,
 * an agent whose file system is full, agent directories it will not write into, a working
 * directory deleted under the shell.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeOutput, checkOutput, type OutputError } from '../src/files/output';
import { alive, BIN, FIXTURES, finished, freePort, waitUntil } from './helpers';
import { runInPty } from './pty';

const PY = '/usr/bin/python3';
const ROOT_USER = process.geteuid?.() === 0;
const scratch = mkdtempSync(join(tmpdir(), 'cowtop-trust-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));

function cowtop(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? scratch,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** The JSON records of a batch run, as they come; stderr kept beside them. */
function records(c: ChildProcess): { all: any[]; err: () => string } {
  const all: any[] = [];
  let tail = '';
  let err = '';
  c.stdout!.on('data', (d: Buffer) => {
    const lines = (tail + d.toString()).split('\n');
    tail = lines.pop()!;
    for (const l of lines) if (l.trim()) all.push(JSON.parse(l));
  });
  c.stderr!.on('data', (d: Buffer) => (err += d));
  return { all, err: () => err };
}
/** Debian's gunicorn serving the fixture's Flask app on a loopback port, 2 workers, preloaded. */
const GUNICORN_APP = join(FIXTURES, 'gunicorn');
const gunicorn = (port: number, ...extra: string[]): string[] => [
  '/usr/bin/gunicorn',
  ...extra,
  '--preload',
  '-w',
  '2',
  '-b',
  `127.0.0.1:${port}`,
  'app:app',
];
const lastSample = (rs: any[]) => rs.filter((r) => r.type === 'sample').pop();

test('run --freeze through an exec wrapper: the recipe reaches the forking process, records say what the workers froze, SIGKILL of cowtop stops it all', {
  skip: !existsSync('/usr/bin/gunicorn') && 'gunicorn is missing (.ci/run installs it)',
}, async () => {
  const wrap = join(scratch, 'wrap.py');
  writeFileSync(wrap, 'import os, sys\nos.execvp(sys.argv[1], sys.argv[1:])\n');
  const port = await freePort();
  const c = cowtop(
    ['run', '--freeze', '--batch', '--interval', '300', '--stop-timeout', '2', '--', PY, wrap, ...gunicorn(port)],
    { cwd: GUNICORN_APP },
  );
  const { all, err } = records(c);
  let pids: number[] = [];
  try {
    await waitUntil(
      () => {
        const s = lastSample(all);
        const workers = s?.processes.filter((p: any) => p.role === 'worker' && p.alive && p.gc) ?? [];
        return workers.length === 2 && workers.every((w: any) => w.gc.frozen !== null);
      },
      60_000,
      'two wrapped gunicorn workers reporting their frozen counts',
    ).catch((e) => assert.fail(`${e.message}: ${err()}`));
    const s = lastSample(all);
    pids = s.processes.filter((p: any) => p.alive).map((p: any) => p.pid);
    for (const w of s.processes.filter((p: any) => p.role === 'worker'))
      assert.ok(w.gc.frozen > 100_000, `worker ${w.pid} froze ${w.gc.frozen} objects`);
    assert.equal(s.freeze, true, 'frozen, as the workers report it');
  } finally {
    c.kill('SIGKILL');
  }
  assert.equal(pids.length, 3);
  // The watch thread moved with the exec: cowtop gone, the master stops its tree.
  await waitUntil(
    () => pids.every((p) => !alive(p)),
    15_000,
    `wrapped gunicorn ${pids.join(', ')} to stop after SIGKILL of cowtop`,
  );
});

const PY36 = join(
  process.env.PYENV_ROOT ?? join(process.env.HOME ?? '/root', '.pyenv'),
  'versions',
  '3.6.15',
  'bin',
  'python',
);
test('run --freeze under a Python without gc.freeze(): refused with the reason, exit 2, nothing started', {
  skip: !existsSync(PY36) && `no ${PY36}`,
}, async () => {
  const marker = join(scratch, 'ran-36');
  const r = await finished(
    cowtop(['run', '--freeze', '--batch', '--', PY36, '-c', `open(${JSON.stringify(marker)}, 'w')`]),
    20_000,
  );
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stderr, 'cowtop: run --freeze: CPython 3.6.15 has no gc.freeze() (CPython 3.7+): not started\n');
  assert.equal(existsSync(marker), false, 'the program did not run');
  assert.doesNotMatch(r.stdout, /"freeze":true/);
});

test('what leaves the process group is still stopped, and said; --keep names every pid it leaves', async () => {
  // A duration no other sleep on the machine has: it tells this test's sleep apart.
  const tag = `300.${String(process.pid).padStart(7, '0')}`;
  // The shell waits a moment: the sleep is in its own session by the time the shell exits.
  const sleeper = ['sh', '-c', `setsid sleep ${tag} & sleep 0.3; echo started`];
  const findSleep = (): number[] =>
    spawnSync('pgrep', ['-f', `^sleep ${tag}$`], { encoding: 'utf8' })
      .stdout.trim()
      .split('\n')
      .filter(Boolean)
      .map(Number);
  const r = await finished(
    cowtop(['run', '--batch', '--interval', '200', '--stop-timeout', '2', '--', ...sleeper]),
    20_000,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /exited with code 0, leaving 1 process running \(pid \d+\): it went to the background, as a daemon does \(--daemon\?\); stopped/,
  );
  await waitUntil(() => findSleep().length === 0, 5000, 'the setsid sleep to be stopped');

  const k = await finished(cowtop(['run', '--keep', '--batch', '--interval', '200', '--', ...sleeper]), 20_000);
  try {
    assert.equal(k.code, 0, k.stderr);
    const left = findSleep();
    assert.equal(left.length, 1, 'kept');
    assert.match(
      k.stderr,
      new RegExp(`left running outside its process group: pid ${left[0]}; kill -TERM ${left[0]} stops them`),
    );
  } finally {
    for (const pid of findSleep()) process.kill(pid, 'SIGKILL');
  }
});

test('gunicorn --daemon: said as a daemon that left, and stopped, not "exited with code 0" alone', {
  skip: !existsSync('/usr/bin/gunicorn') && 'gunicorn is missing (.ci/run installs it)',
}, async () => {
  const port = await freePort();
  const r = await finished(
    cowtop(['run', '--batch', '--interval', '300', '--stop-timeout', '3', '--', ...gunicorn(port, '--daemon')], {
      cwd: GUNICORN_APP,
    }),
    30_000,
  );
  const pids =
    /leaving \d+ process(?:es)? running \(pids? ([\d, ]+)\)/.exec(r.stderr)?.[1].split(', ').map(Number) ?? [];
  assert.ok(pids.length >= 1, r.stderr);
  assert.match(
    r.stderr,
    /it went to the background, as a daemon does \(--daemon\?\); stopped\. cowtop run watches a server that stays in the foreground/,
  );
  await waitUntil(
    () => pids.every((p) => !alive(p)) && spawnSync('pgrep', ['-f', `127.0.0.1:${port}`]).status !== 0,
    10_000,
    'the daemonized gunicorn to stop',
  );
});

test('a server printing 1 MB lines: each is cut to 4 KiB with a note, and cowtop stays under 150 MiB', async () => {
  const code =
    'import sys, time\nline = "y" * (1 << 20) + "\\n"\nend = time.time() + 4\nwhile time.time() < end:\n    sys.stdout.write(line)\n    sys.stdout.flush()\n';
  const c = cowtop(['run', '--batch', '--duration', '5', '--interval', '500', '--', PY, '-c', code]);
  let peak = 0;
  const watch = setInterval(() => {
    try {
      const kb = Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${c.pid}/status`, 'utf8'))?.[1]);
      if (kb > 0) peak = Math.max(peak, kb * 1024);
    } catch {
      // gone
    }
  }, 50);
  let logs = 0;
  let longest = 0;
  let cut = 0;
  let tail = '';
  c.stdout!.on('data', (d: Buffer) => {
    const lines = (tail + d.toString()).split('\n');
    tail = lines.pop()!;
    for (const l of lines) {
      if (!l.includes('"kind":"log"')) continue;
      const r = JSON.parse(l);
      if (r.stream !== 'stdout' || !r.text.startsWith('y')) continue;
      logs++;
      longest = Math.max(longest, r.text.length);
      if (/^y{4096}… \(1044480 bytes cut\)$/.test(r.text)) cut++;
    }
  });
  const r = await finished(c, 30_000);
  clearInterval(watch);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(logs > 20, `lines seen: ${logs}`);
  assert.equal(cut, logs, 'every line cut, with how much');
  assert.ok(longest < 4200);
  assert.ok(peak > 0 && peak < 150 * 1048576, `cowtop's RSS peaked at ${(peak / 1048576).toFixed(1)} MiB`);
});

test('a FIFO planted at --output, --record or --export: one line, exit 2, at once, terminal restored', async () => {
  const shared = join(scratch, 'shared');
  mkdirSync(shared, { mode: 0o1777 });
  const fifo = join(shared, 'out.json');
  assert.equal(spawnSync('mkfifo', ['-m', '666', fifo]).status, 0);
  const b = await finished(cowtop(['--batch', '--size', '1000', '--output', fifo]), 10_000);
  assert.equal(b.code, 2);
  assert.equal(b.stderr, `cowtop: cannot write --output ${fifo}: it is a FIFO (only a regular file is written)\n`);
  for (const flag of ['--record', '--export']) {
    const run = runInPty([flag, fifo, '--size', '1000'], { cols: 200 });
    const e = await run.exited;
    await run.settle();
    assert.equal(e.exitCode, 2, run.text());
    const raw = run.raw();
    assert.ok(raw.lastIndexOf('\x1b[?1049h') <= raw.lastIndexOf('\x1b[?1049l'), 'not left in the alternate screen');
    assert.match(run.text(), new RegExp(`cowtop: cannot write ${flag} ${fifo.replace(/[.]/g, '\\.')}: it is a FIFO`));
  }
});

test('an agent that cannot write (its file system full): its gc data is marked stale with its age, and said once', {
  skip: !ROOT_USER && 'mounting a small tmpfs needs root',
}, async () => {
  const mnt = mkdtempSync(join(tmpdir(), 'cowtop-fullfs-'));
  assert.equal(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]).status, 0);
  const dir = join(mnt, 'agent');
  const env = {
    ...process.env,
    PYTHONPATH: join(__dirname, '..', '..', 'python'),
    COWTOP_AGENT_DIR: dir,
    COWTOP_AGENT_INTERVAL: '0.2',
  };
  const target = spawn(PY, ['-c', 'import cowtop_agent, time\ncowtop_agent.enable()\ntime.sleep(60)'], {
    env,
    stdio: 'ignore',
  });
  let c: ChildProcess | null = null;
  try {
    await waitUntil(() => existsSync(join(dir, `${target.pid}.json`)), 10_000, 'the agent to write');
    c = cowtop(['attach', String(target.pid), '--batch', '--interval', '200'], { env: { COWTOP_AGENT_DIR: dir } });
    const { all } = records(c);
    await waitUntil(() => lastSample(all)?.processes[0]?.gc?.stale === false, 10_000, 'live gc data');
    // Fill the file system: the agent's next writes fail (ENOSPC) and its file stays as it was.
    spawnSync('dd', ['if=/dev/zero', `of=${join(mnt, 'fill')}`, 'bs=4k', 'count=64'], { stdio: 'ignore' });
    await waitUntil(() => (lastSample(all)?.processes[0]?.gc?.ageMs ?? 0) > 1500, 10_000, 'the gc data to age');
    const gc = lastSample(all).processes[0].gc;
    assert.equal(gc.stale, true, 'past 3 intervals of 0.2 s');
    const notes = all.filter(
      (r) => r.kind === 'log' && /gc data of pid \d+ is \d+ s old: its agent has stopped writing/.test(r.text),
    );
    assert.equal(notes.length, 1, 'said once');
  } finally {
    if (c) {
      const done = finished(c, 10_000);
      c.kill('SIGTERM');
      await done;
    }
    target.kill('SIGKILL');
    // The agent holds its directory open: unmounted once it is gone, or the mount is busy.
    await waitUntil(() => !alive(target.pid!), 10_000, 'the agent to go');
    // Lazily: whatever still holds it (a reader's held directory) lets go when it closes.
    spawnSync('umount', ['-l', mnt]);
    rmSync(mnt, { recursive: true, force: true });
  }
});

test('an agent directory the agent will not write into: run says why at once, run --compare refuses at once', {
  skip: !ROOT_USER && 'chown needs root',
}, async () => {
  const open = join(scratch, 'agent-0755');
  mkdirSync(open, { mode: 0o755 });
  chmodSync(open, 0o755);
  const started = Date.now();
  const r = await finished(
    cowtop(['run', '--batch', '--duration', '1', '--interval', '200', '--', PY, '-c', 'import time; time.sleep(3)'], {
      env: { COWTOP_AGENT_DIR: open },
    }),
    20_000,
  );
  assert.equal(r.code, 0, r.stderr);
  const notes = r.stdout.split('\n').filter((l) => l.includes('the gc agent writes nothing'));
  assert.equal(notes.length, 1, r.stdout.slice(0, 2000));
  assert.match(
    notes[0],
    /agent-0755 has mode 0755, and the agent writes only into a private one \(0700\) \(chmod 700 /,
  );

  const squat = join(scratch, 'agent-squatted');
  mkdirSync(squat, { mode: 0o700 });
  chownSync(squat, 65534, 65534);
  const cmp = await finished(
    cowtop(['run', '--compare', '--load-cmd', 'true', '--', PY, '-c', 'import time; time.sleep(60)'], {
      env: { COWTOP_AGENT_DIR: squat },
    }),
    20_000,
  );
  assert.equal(cmp.code, 2);
  assert.match(
    cmp.stderr,
    /^cowtop: the gc agent writes nothing: .*agent-squatted is owned by uid 65534, not by uid 0: another user made it first .*; run --compare needs the gc agent's data\n$/,
  );
  assert.ok(Date.now() - started < 15_000, 'at once, not after a minute');
});

test('a working directory deleted under the shell: one line, exit 2', async () => {
  const gone = join(scratch, 'gone');
  mkdirSync(gone);
  const code = `process.chdir(${JSON.stringify(gone)}); require('fs').rmdirSync(${JSON.stringify(gone)}); const r = require('child_process').spawnSync(process.execPath, [${JSON.stringify(BIN)}, '--version'], { encoding: 'utf8' }); process.stdout.write(JSON.stringify(r))`;
  const r = JSON.parse(spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', cwd: scratch }).stdout);
  assert.equal(r.status, 2);
  assert.equal(r.stderr, 'cowtop: the current directory no longer exists (ENOENT): cd to another one\n');
  assert.equal(existsSync(gone), false);
});

test('output files: only a regular file of ours with one name is written', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cowtop-out-'));
  try {
    const fifo = join(dir, 'out.json');
    assert.equal(spawnSync('mkfifo', ['-m', '666', fifo]).status, 0);
    assert.throws(
      () => checkOutput(fifo),
      (e: OutputError) => /it is a FIFO \(only a regular file is written\)/.test(e.reason),
    );
    assert.throws(() => writeOutput(fifo, 'x'), /FIFO/, 'never blocks in open');
    const mine = join(dir, 'mine.json');
    writeFileSync(mine, 'keep');
    linkSync(mine, join(dir, 'planted.json'));
    assert.throws(() => writeOutput(join(dir, 'planted.json'), 'x'), /it has 2 hard links \(not written through\)/);
    assert.equal(readFileSync(mine, 'utf8'), 'keep');
    assert.throws(() => checkOutput('/dev/zero'), /it is a device/);
    // /dev/null, by that name only, is the one device written to (a sidecar serving only metrics).
    checkOutput('/dev/null');
    writeOutput('/dev/null', 'x');
    symlinkSync('/dev/null', join(dir, 'null-link'));
    assert.throws(() => checkOutput(join(dir, 'null-link')), /symbolic link/);
    writeOutput(join(dir, 'new.json'), 'ok\n');
    assert.equal(readFileSync(join(dir, 'new.json'), 'utf8'), 'ok\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an export that fails for want of room leaves no empty file behind', {
  skip: !ROOT_USER && 'mounting a small tmpfs needs root',
}, () => {
  const dir = mkdtempSync(join(tmpdir(), 'cowtop-full-'));
  assert.equal(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', dir]).status, 0);
  try {
    const file = join(dir, 'snapshot.json');
    assert.throws(() => writeOutput(file, 'x'.repeat(1 << 20)), /ENOSPC/);
    assert.equal(existsSync(file), false);
  } finally {
    spawnSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('running the experiment and the agent writes no bytecode into the package', () => {
  const py = join(__dirname, '..', '..', 'python');
  const agentDir = mkdtempSync(join(tmpdir(), 'cowtop-agent-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PYTHONPATH: `${join(py, 'autoload')}:${py}`,
    COWTOP_AGENT: '1',
    COWTOP_AGENT_DIR: agentDir,
  };
  delete env.PYTHONDONTWRITEBYTECODE; // set on some machines: the package must not depend on it
  try {
    const r = spawnSync(
      'python3',
      [
        '-c',
        'import cowtop_agent, cowtop_experiment.main, cowtop_experiment.parent, cowtop_experiment.worker, cowtop_run; print("imported")',
      ],
      { env, encoding: 'utf8', cwd: tmpdir() },
    );
    assert.equal(r.stdout.trim(), 'imported', r.stderr);
    const found = spawnSync('find', [py, '-name', '*.pyc', '-o', '-type', 'd', '-name', '__pycache__'], {
      encoding: 'utf8',
    }).stdout.trim();
    assert.equal(found, '', 'no .pyc, no __pycache__ directory');
  } finally {
    rmSync(agentDir, { recursive: true, force: true });
  }
});
