/**
 * npm run binary: the single executable, copied to another directory, runs with Node hidden (a
 * private mount namespace with /dev/null bound over node, PATH=/usr/bin:/bin): compare, --batch,
 * attach with the gc agent it extracted, and the dashboard.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alive, finished, TEST_TAG, waitUntil } from './helpers';
import { children } from './gunicorn';
import { runInPty } from './pty';
import { buildBinary } from './tools/binary';

const skip = process.getuid?.() !== 0 ? 'a private mount namespace needs root' : false;

test('the single file runs without Node: compare, --batch, attach with its agent, the dashboard', {
  skip,
}, async () => {
  const built = await buildBinary();
  const dir = mkdtempSync(join(tmpdir(), 'cowtop-binary-'));
  const home = join(dir, 'home');
  mkdirSync(home, { mode: 0o700 });
  const exe = join(dir, 'cowtop');
  copyFileSync(built, exe);
  // Node gone: the binary is all there is. A fixed script; the command comes after it.
  const hidden = (cmd: string[], env: string[] = []): string[] => [
    '--mount',
    '/bin/sh',
    '-c',
    'mount --bind /dev/null "$(readlink -f /usr/bin/node)" && exec "$@"',
    'sh',
    '/usr/bin/env',
    '-i',
    'PATH=/usr/bin:/bin',
    `HOME=${home}`,
    `COWTOP_TEST_TAG=${TEST_TAG}`,
    'LANG=C.UTF-8',
    ...env,
    ...cmd,
  ];
  const run = (cmd: string[], env: string[] = []) =>
    finished(spawn('unshare', hidden(cmd, env), { stdio: ['ignore', 'pipe', 'pipe'] }), 120_000);
  let tree: ReturnType<typeof spawn> | null = null;
  try {
    const node = await run(['/bin/sh', '-c', 'node -e "console.log(1)"']);
    assert.notEqual(node.code, 0, 'node cannot run in there');

    const compare = await run([exe, 'compare', '--format', 'json', '--size', '20000', '--workers', '2']);
    assert.equal(compare.code, 0, compare.stderr);
    const c = JSON.parse(compare.stdout);
    assert.equal(c.python, '/usr/bin/python3', 'the python3 on PATH=/usr/bin:/bin');
    assert.deepEqual(
      c.runs.map((r: any) => [r.freeze, r.workers.length]),
      [
        [false, 2],
        [true, 2],
      ],
    );

    const batch = await run([
      exe,
      '--batch',
      '--size',
      '20000',
      '--workers',
      '2',
      '--duration',
      '2',
      '--interval',
      '300',
    ]);
    assert.equal(batch.code, 0, batch.stderr);
    const samples = batch.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((r) => r.type === 'sample');
    const last = samples[samples.length - 1];
    assert.equal(last.processes.filter((p: any) => p.role === 'worker' && p.alive).length, 2);
    assert.ok(
      last.processes.every((p: any) => p.uss > 0 && Array.isArray(p.gc?.counts)),
      'USS and gc counts',
    );

    // The agent it extracted, on a Python tree's PYTHONPATH.
    const agent = (await run([exe, 'agent', '--path'])).stdout.trim();
    assert.match(agent, new RegExp(`^${home}/\\.cache/cowtop/files-[0-9a-f]{16}/python$`));
    assert.equal(statSync(join(agent, '..')).mode & 0o777, 0o700);
    assert.ok(readdirSync(agent).includes('cowtop_agent.py'));
    tree = spawn(
      '/usr/bin/python3',
      ['-c', 'import cowtop_agent; cowtop_agent.enable()\nimport os, time\nos.fork()\ntime.sleep(60)'],
      { env: { ...process.env, PYTHONPATH: agent, COWTOP_AGENT_INTERVAL: '0.2' }, stdio: 'ignore' },
    );
    await waitUntil(() => children(tree!.pid!).length === 1, 10_000, 'the tree');
    const attach = await run([exe, 'attach', String(tree.pid), '--batch', '--duration', '2.5', '--interval', '300']);
    assert.equal(attach.code, 0, attach.stderr);
    const lastAttach = attach.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((r) => r.type === 'sample')
      .pop();
    assert.equal(lastAttach.processes.length, 2);
    assert.ok(
      lastAttach.processes.every((p: any) => Array.isArray(p.gc?.counts)),
      'gc data from the agent for both processes',
    );

    const screen = runInPty([], {
      file: 'unshare',
      node: hidden([exe, '--size', '20000', '--workers', '2'], ['TERM=xterm-256color']),
      cols: 100,
      rows: 30,
    });
    await screen.waitFor(/worker\s+\d+/, 30_000);
    screen.press('q');
    assert.equal((await screen.exited).exitCode, 0);
  } finally {
    if (tree?.pid) tree.kill('SIGKILL');
    for (const p of tree?.pid ? children(tree.pid) : []) process.kill(p, 'SIGKILL');
    await waitUntil(() => !tree?.pid || !alive(tree.pid), 10_000, 'the tree to go');
    rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(!existsSync(dir));
});
