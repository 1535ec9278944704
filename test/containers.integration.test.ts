/**
 * Trees in containers, attached from the host: the gc agent's files are found in the
 * container's own /tmp through /proc/PID/root, under the pids the container sees, with the same
 * trust rules as on the host, and a link in the container never leads out of it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pythonDir } from '../src/experiment/python-files';
import { spawn } from 'node:child_process';
import { BIN, collectLines, FIXTURES, finished, freePort, startCli, waitUntil } from './helpers';
import { children } from './gunicorn';
import { runInPty } from './pty';
import { innerPid, startContainer, stopContainer } from './containers';

const AGENT_DIR = pythonDir();

const APP_DIR = join(FIXTURES, 'gunicorn');
const gunicorn = (port: number): string[] => [
  '/usr/bin/gunicorn',
  '-c',
  join(APP_DIR, 'gunicorn.freeze.conf.py'),
  '--bind',
  `127.0.0.1:${port}`,
  '--chdir',
  APP_DIR,
  'app:app',
];

async function gunicornInContainer(namespaces?: string[]) {
  const port = await freePort();
  const c = await startContainer(
    gunicorn(port),
    { ...process.env, PYTHONPATH: `${AGENT_DIR}:${APP_DIR}`, COWTOP_AGENT_DIR: '' },
    namespaces,
  );
  // The agent writes in the container's /tmp, as the pids it sees: the host's /tmp has none of it.
  const dir = `/proc/${c.init}/root/tmp/cowtop-agent-0`;
  await waitUntil(
    () =>
      children(c.init).length === 3 &&
      [c.init, ...children(c.init)].every((p) => existsSync(`${dir}/${innerPid(p)}.json`)),
    60_000,
    'gunicorn workers with the agent, in the container',
  );
  return { c, dir };
}

test('attach from the host shows the gc data of a tree in its own PID and mount namespaces', async () => {
  const { c, dir } = await gunicornInContainer();
  const cowtop = startCli(['attach', String(c.init), '--batch', '--interval', '300']);
  try {
    assert.equal(innerPid(c.init), 1, 'the master is pid 1 of its namespace');
    const recs = await collectLines(
      cowtop,
      (rs) => rs.some((r) => r.type === 'sample' && r.processes.filter((p: any) => p.alive && p.gc).length === 4),
      30_000,
    );
    const s = recs.filter((r) => r.type === 'sample').pop();
    const master = s.processes.find((p: any) => p.role === 'master');
    assert.equal(master.pid, c.init);
    assert.equal(master.nspid, 1);
    for (const p of s.processes) {
      assert.equal(p.nspid, innerPid(p.pid), `pid ${p.pid}'s namespace pid`);
      // Tied to the agent's own file inside the container, read under its inner name.
      const file = JSON.parse(readFileSync(`${dir}/${p.nspid}.json`, 'utf8'));
      assert.equal(file.pid, p.nspid);
      assert.equal(p.gc.frozen, file.frozen, `pid ${p.pid}'s frozen count`);
      if (p.role === 'worker') assert.ok(p.gc.frozen > 100_000, 'the workers froze the preloaded app');
    }
    assert.equal(s.freeze, true);
  } finally {
    cowtop.kill('SIGTERM');
    await finished(cowtop).catch(() => {});
    await stopContainer(c);
  }
});

test('the dashboard says the tree is in another PID namespace, and its pid there', async () => {
  const { c } = await gunicornInContainer();
  const run = runInPty(['attach', String(c.init), '--interval', '300'], { cols: 120, rows: 30 });
  try {
    await run.waitFor(/in another PID namespace, pid 1 there/, 20_000);
    // The master's row is selected from the start: Enter opens its detail pane.
    await run.waitFor(/master\s+\d+/);
    run.press('\r');
    const pane = await run.waitFor(/tree runs in/, 10_000);
    assert.match(pane, new RegExp(`PID namespace: pid ${c.init} > 1`));
    assert.match(pane, /its own mount namespace \(mnt:\[\d+\]\)/);
    assert.match(pane, /pid 1 in its namespace/);
    run.press('\x1b');
    await run.waitFor((t) => !/tree runs in/.test(t));
    run.press('q');
    assert.equal((await run.exited).exitCode, 0);
  } finally {
    run.proc.kill();
    await stopContainer(c);
  }
});

test("a link in the container's /tmp never leads attach out of the container", async () => {
  // A tree without the agent; its /tmp/cowtop-agent-0 is made a link to a host directory that
  // holds a decoy file for pid 1. Followed as a plain path, the link would resolve on the host.
  const decoy = mkdtempSync(join(tmpdir(), 'cowtop-decoy-'));
  const c = await startContainer(['/usr/bin/python3', '-c', 'import time; time.sleep(120)'], process.env);
  const cowtop = startCli(['attach', String(c.init), '--batch', '--interval', '200']);
  try {
    writeFileSync(
      join(decoy, '1.json'),
      JSON.stringify({ pid: 1, t: Date.now() / 1000, counts: [7, 7, 7], frozen: 424242, enabled: true }),
      { mode: 0o600 },
    );
    await waitUntil(() => existsSync(`/proc/${c.init}/root/tmp`), 5000, 'the container /tmp');
    symlinkSync(decoy, `/proc/${c.init}/root/tmp/cowtop-agent-0`);
    const recs = await collectLines(cowtop, (rs) => rs.filter((r) => r.type === 'sample').length >= 10, 20_000);
    for (const r of recs.filter((x) => x.type === 'sample')) assert.equal(r.processes[0].gc, null, 'no decoy gc data');
    assert.match(JSON.stringify(recs), /cowtop-agent-0 \(in \/proc\/\d+\/root\) has a symbolic link on its path/);
  } finally {
    cowtop.kill('SIGTERM');
    await finished(cowtop).catch(() => {});
    await stopContainer(c);
    rmSync(decoy, { recursive: true, force: true });
  }
});

test('a sidecar in the same PID namespace but its own mount namespace reads the app container agent', async () => {
  // pod.sh is pid 1 of the pod; the app and cowtop are its children, each in its own mount
  // namespace, as with shareProcessNamespace: true.
  const port = await freePort();
  const pod = spawn(
    'unshare',
    [
      '--pid',
      '--fork',
      '--mount-proc',
      '--kill-child',
      '--',
      join(FIXTURES, 'containers', 'pod.sh'),
      process.execPath,
      BIN,
      ...gunicorn(port),
    ],
    {
      env: { ...process.env, PYTHONPATH: `${AGENT_DIR}:${APP_DIR}`, COWTOP_AGENT_DIR: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  try {
    const recs = await collectLines(
      pod,
      (rs) => rs.some((r) => r.type === 'sample' && r.processes.filter((p: any) => p.alive && p.gc).length === 4),
      60_000,
    );
    const s = recs.filter((r) => r.type === 'sample').pop();
    // Seen from inside the pod, no pid is translated: the namespace is cowtop's own.
    assert.ok(s.processes.every((p: any) => p.nspid === undefined));
    assert.ok(s.processes.filter((p: any) => p.role === 'worker').every((p: any) => p.gc.frozen > 100_000));
  } finally {
    pod.kill('SIGKILL'); // --kill-child: the pod's pid 1 goes, and the namespace with it
    await waitUntil(() => pod.exitCode !== null || pod.signalCode !== null, 10_000, 'the pod to stop');
  }
});
