/**
 * The gc agent's directory on a shared machine, attacked for real by another user (nobody,
 * through setpriv) while cowtop runs as root: squatting the directory, hostile files in a
 * stranger's own directory, a directory deleted and re-created under a running agent; and the
 * agent's own misuse: a zero interval, files left by children that leave by os._exit.
 * Everything happens below a sticky directory this file makes, never in the real /tmp names.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { pythonDir } from '../src/experiment/python-files';
import { alive, finished, firstLine, freePort, startCli, waitUntil } from './helpers';

const AGENT_DIR = pythonDir();

const NOBODY = 65534;
const PY = '/usr/bin/python3'; // readable by nobody (pyenv's lives under /root)
const base = mkdtempSync('/tmp/cowtop-sec-');
chmodSync(base, 0o1777); // like /tmp: anyone may create a name, only its owner removes it
const started: ChildProcess[] = [];
after(() => {
  for (const c of started) c.kill('SIGKILL');
  rmSync(base, { recursive: true, force: true });
});

/** Runs a short Python program as nobody; its arguments are data, never a shell string. */
function asNobody(code: string, ...args: string[]): void {
  const r = spawnSync(
    'setpriv',
    [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', PY, '-c', code, ...args],
    { encoding: 'utf8', cwd: '/' },
  );
  assert.equal(r.status, 0, `as nobody: ${r.stderr}`);
}

function keep<T extends ChildProcess>(c: T): T {
  started.push(c);
  return c;
}

const starttime = (pid: number): number =>
  Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[19]);
const children = (pid: number): number[] =>
  readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);

/** A root Python process running the agent with these settings; resolves once it said whether it enabled. */
async function agentProcess(
  dir: string,
  extraEnv: NodeJS.ProcessEnv = {},
  code = 'import cowtop_agent, sys, time\nprint(cowtop_agent.enable(), flush=True)\ntime.sleep(60)',
): Promise<{ proc: ChildProcess; enabled: boolean }> {
  const proc = keep(
    spawn(PY, ['-c', code], {
      env: { ...process.env, PYTHONPATH: AGENT_DIR, COWTOP_AGENT_DIR: dir, COWTOP_AGENT_INTERVAL: '0.1', ...extraEnv },
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  const first = (await firstLine(proc.stdout!)).trim();
  return { proc, enabled: first === 'True' };
}

function records(stdout: string): any[] {
  return stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

const notices = (rs: any[]): string[] =>
  rs.filter((r) => r.kind === 'log' && /^gc agent (data|file)/.test(r.text)).map((r) => r.text);

test('another user squats the agent directory: the agent refuses it, cowtop ignores its fake data with one notice', async () => {
  const dir = join(base, 'squat');
  asNobody('import os, sys; os.mkdir(sys.argv[1]); os.chmod(sys.argv[1], 0o777)', dir);
  const { proc, enabled } = await agentProcess(dir);
  assert.equal(enabled, false, 'the agent must not use a directory another user owns');
  const pid = proc.pid!;
  const fake = JSON.stringify({
    pid,
    t: Date.now() / 1000,
    starttime: starttime(pid),
    frozen: 424242,
    counts: [1, 2, 3],
    stats: null,
    implementation: 'cpython',
    version: '3.11.2',
  });
  asNobody('import sys; open(sys.argv[1], "w").write(sys.argv[2])', join(dir, `${pid}.json`), fake);
  const r = await finished(
    startCli(['attach', String(pid), '--batch', '--duration', '1.5', '--interval', '300'], { COWTOP_AGENT_DIR: dir }),
    20_000,
  );
  assert.equal(r.code, 0, r.stderr);
  const rs = records(r.stdout);
  const samples = rs.filter((x) => x.type === 'sample');
  assert.ok(samples.length >= 3);
  for (const s of samples) assert.equal(s.processes[0].gc, null, 'no gc data from a directory another user owns');
  const said = notices(rs);
  assert.equal(said.length, 1, said.join('\n'));
  assert.match(said[0], /gc agent data of uid 0 ignored: .*squat is owned by uid 65534, not by uid 0/);
  proc.kill('SIGKILL');
});

function scrape(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/metrics', timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

test("a stranger's own agent files (FIFO, link to /dev/zero, huge, malformed, deep) cannot hang, crash or bloat cowtop", async () => {
  // Root attached to nobody's server: nobody writes whatever it likes into its own directory.
  const dir = join(base, 'agent-nobody');
  asNobody('import os, sys; os.mkdir(sys.argv[1], 0o700)', dir);
  const tree = keep(
    spawn(
      PY,
      [
        '-c',
        'import os, time\nfor _ in range(6):\n    if os.fork() == 0:\n        time.sleep(60)\n        os._exit(0)\ntime.sleep(60)',
      ],
      { uid: NOBODY, gid: NOBODY, cwd: '/', stdio: 'ignore' },
    ),
  );
  const master = tree.pid!;
  await waitUntil(() => children(master).length === 6, 10_000, 'the six children');
  const [fifo, zero, huge, nulls, deep, good] = children(master).sort((a, b) => a - b);
  const file = (pid: number): string => join(dir, `${pid}.json`);
  const doc = (pid: number, extra: object): string =>
    JSON.stringify({ pid, t: Date.now() / 1000, starttime: starttime(pid), ...extra });
  asNobody(
    'import os, sys\nfifo, zero, huge, nulls, deep, good, master = sys.argv[1:8]\n' +
      'os.mkfifo(fifo)\nos.symlink("/dev/zero", zero)\nopen(huge, "w").write(" " * (1 << 20))\n' +
      'open(nulls, "w").write(sys.argv[8])\nopen(deep, "w").write(sys.argv[9])\nopen(good, "w").write(sys.argv[10])\nopen(master, "w").write(sys.argv[11])',
    file(fifo),
    file(zero),
    file(huge),
    file(nulls),
    file(deep),
    file(good),
    file(master),
    doc(nulls, { counts: [1, 2, 3], stats: [null], frozen: null }),
    `{"pid":${deep},"t":1,"counts":${'['.repeat(30_000)}${']'.repeat(30_000)}}`,
    doc(good, { counts: [7, 8, 9], stats: null, frozen: 0, implementation: 'cpython', version: '3.11.2' }),
    doc(master, { counts: [4, 5, 6], stats: [{ collections: 'lots', collected: 0, uncollectable: 0 }], frozen: 0 }),
  );
  const port = await freePort();
  const cowtop = startCli(
    ['attach', String(master), '--batch', '--duration', '3', '--interval', '300', '--prometheus', String(port)],
    { COWTOP_AGENT_DIR: dir },
  );
  const done = finished(cowtop, 20_000); // a hang fails here: --duration must still end it
  let peak = 0;
  const watch = setInterval(() => {
    try {
      peak = Math.max(
        peak,
        Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${cowtop.pid}/status`, 'utf8'))![1]) * 1024,
      );
    } catch {
      // exited
    }
  }, 100);
  await waitUntil(async () => (await scrape(port).catch(() => 0)) === 200, 10_000, 'a scrape that answers 200');
  const r = await done;
  clearInterval(watch);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(peak > 0 && peak < 300 * 1048576, `cowtop's RSS peaked at ${peak} bytes`);
  const rs = records(r.stdout);
  const last = rs.filter((x) => x.type === 'sample').pop();
  const byPid = new Map(last.processes.map((p: any) => [p.pid, p]));
  assert.deepEqual((byPid.get(good) as any).gc.counts, [7, 8, 9], 'a sound file is read');
  for (const pid of [fifo, zero, huge]) assert.equal((byPid.get(pid) as any).gc, null, `pid ${pid}`);
  assert.equal((byPid.get(deep) as any).gc?.counts ?? null, null, 'counts nested 30,000 deep are no counts');
  assert.deepEqual((byPid.get(nulls) as any).gc.counts, [1, 2, 3], 'a bad field is dropped, not the file');
  assert.equal((byPid.get(nulls) as any).gc.collections, null);
  assert.equal((byPid.get(master) as any).gc.collections, null, '"lots" is not a number of collections');
  const said = notices(rs);
  const one = (re: RegExp): void =>
    assert.equal(said.filter((t) => re.test(t)).length, 1, `one notice matching ${re}:\n${said.join('\n')}`);
  one(new RegExp(`${fifo}\\.json ignored: it is a FIFO`));
  one(new RegExp(`${zero}\\.json ignored: it is a symbolic link`));
  one(new RegExp(`${huge}\\.json ignored: it is larger than 65536 bytes`));
  one(new RegExp(`${nulls}\\.json: stats dropped`));
  one(new RegExp(`${master}\\.json: stats dropped`));
  one(new RegExp(`${deep}\\.json(?: ignored|: counts dropped)`));
  tree.kill('SIGKILL');
  for (const c of children(master).concat(master)) if (alive(c)) process.kill(c, 'SIGKILL');
});

test('an agent whose directory is deleted and re-created by another user never writes through it', async () => {
  const dir = join(base, 'recreated');
  const victim = join(base, 'victim.txt');
  writeFileSync(victim, 'precious\n', { mode: 0o644 });
  const { proc, enabled } = await agentProcess(dir);
  assert.ok(enabled);
  const pid = proc.pid!;
  await waitUntil(() => existsSync(join(dir, `${pid}.json`)), 5000, 'the agent file');
  rmSync(dir, { recursive: true }); // a /tmp cleaner, say
  asNobody(
    'import os, sys; d, victim, pid = sys.argv[1:4]; os.mkdir(d); os.chmod(d, 0o777); os.symlink(victim, os.path.join(d, ".%s.tmp" % pid)); os.symlink(victim, os.path.join(d, "%s.json" % pid))',
    dir,
    victim,
    String(pid),
  );
  await new Promise((r) => setTimeout(r, 1000)); // ten write intervals
  assert.equal(readFileSync(victim, 'utf8'), 'precious\n', 'the file the links point to is untouched');
  for (const name of readdirSync(dir))
    assert.equal(lstatSync(join(dir, name)).uid, NOBODY, `${name} was not written by the agent`);
  proc.kill('SIGKILL');
});

test('COWTOP_AGENT_INTERVAL=0 does not busy-loop the writer thread', async () => {
  const dir = join(base, 'interval');
  const { proc, enabled } = await agentProcess(dir, { COWTOP_AGENT_INTERVAL: '0' });
  assert.ok(enabled);
  const ticks = (): number => {
    const f = readFileSync(`/proc/${proc.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(f[11]) + Number(f[12]); // utime + stime
  };
  const before = ticks();
  await new Promise((r) => setTimeout(r, 1000));
  const used = ticks() - before;
  assert.ok(used < 20, `the agent used ${used} ticks of 100 in a second`);
  proc.kill('SIGKILL');
});

test('files of children that leave by os._exit (multiprocessing.Pool) are swept, not left to pile up', async () => {
  const dir = join(base, 'pool');
  const code = [
    'import cowtop_agent, multiprocessing as mp, os, sys, time',
    'print(cowtop_agent.enable(), flush=True)',
    'ctx = mp.get_context("fork")',
    'for _ in range(3):',
    '    with ctx.Pool(4) as pool:',
    '        pool.map(abs, range(100))',
    '        time.sleep(0.5)',
    'time.sleep(60)',
  ].join('\n');
  const { proc, enabled } = await agentProcess(dir, {}, code);
  assert.ok(enabled);
  await waitUntil(
    () => readdirSync(dir).filter((n) => n.endsWith('.json')).length >= 4,
    10_000,
    'the pool workers to write',
  );
  // After the runs only the script's own file may stay: the next sweep (every 30 writes) takes the rest.
  await waitUntil(
    () => {
      const names = readdirSync(dir).filter((n) => n.endsWith('.json'));
      return names.length === 1 && names[0] === `${proc.pid}.json`;
    },
    12_000,
    `only ${proc.pid}.json left in ${dir}`,
  );
  proc.kill('SIGKILL');
});
