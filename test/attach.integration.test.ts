/**
 * cowtop attach against a real gunicorn serving a real Flask app (Debian's gunicorn and
 * python3-flask, installed by .ci/run), with the gc agent; the Prometheus endpoint; a process
 * of another user.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSmapsRollup } from '../src/proc/parse';
import { BIN, collectLines, finished, freePort, runCli, sleep, startCli, waitUntil } from './helpers';
import { children, get, startGunicorn, stopGunicorn } from './gunicorn';

test('--prometheus serves OpenMetrics with per-process series, labels and tree totals', async () => {
  const port = await freePort();
  const cowtop = startCli([
    '--batch',
    '--size',
    '50000',
    '--workers',
    '2',
    '--interval',
    '200',
    '--prometheus',
    String(port),
  ]);
  try {
    const recs = await collectLines(
      cowtop,
      (rs) => rs.some((r) => r.type === 'sample' && r.processes.length === 3 && r.processes.every((p: any) => p.gc)),
      30_000,
    );
    const parent = recs.find((r) => r.kind === 'ready').pid;
    await sleep(400);
    const r = await get(port, '/metrics');
    assert.equal(r.status, 200);
    assert.match(r.type, /^application\/openmetrics-text; version=1\.0\.0/);
    assert.match(r.body, /# EOF\n$/);
    const value = (re: RegExp): number => Number(re.exec(r.body)![1]);
    // Tied to /proc within a few scrapes: the parent's USS still moves while its young workers
    // write their first pages (each write makes the parent's copy of that page its own again).
    const parentUss = new RegExp(
      `^cowtop_process_uss_bytes\\{name="experiment",pid="${parent}",role="parent",worker=""\\} (\\d+)$`,
      'm',
    );
    let apart = '';
    await waitUntil(
      async () => {
        const uss = Number(parentUss.exec((await get(port, '/metrics')).body)![1]);
        const direct = parseSmapsRollup(readFileSync(`/proc/${parent}/smaps_rollup`, 'utf8'))!;
        apart = `uss ${uss} vs /proc ${direct.uss}`;
        return Math.abs(uss - direct.uss) < 1048576;
      },
      5000,
      'the served USS to meet /proc',
    ).catch(() => assert.fail(apart));
    assert.equal(
      (
        r.body.match(/^cowtop_process_pss_bytes\{name="experiment",pid="\d+",role="worker",worker="[12]"\} \d+$/gm) ??
        []
      ).length,
      2,
    );
    assert.match(
      r.body,
      /^cowtop_process_minor_faults_total\{name="experiment",pid="\d+",role="worker",worker="1"\} \d+$/m,
    );
    assert.match(
      r.body,
      /^cowtop_gc_collections_total\{name="experiment",pid="\d+",role="worker",worker="2",generation="2"\} \d+$/m,
    );
    assert.match(r.body, /^cowtop_gc_frozen_objects\{name="experiment",pid="\d+",role="parent",worker=""\} 0$/m);
    const treeRss = value(/^cowtop_tree_rss_bytes\{name="experiment"\} (\d+)$/m);
    const sumRss = [...r.body.matchAll(/^cowtop_process_rss_bytes\{[^}]*\} (\d+)$/gm)].reduce(
      (a, m) => a + Number(m[1]),
      0,
    );
    assert.equal(treeRss, sumRss);
    assert.equal(value(/^cowtop_tree_processes\{name="experiment"\} (\d+)$/m), 3);
    assert.equal((await get(port, '/nope')).status, 404);
  } finally {
    const done = finished(cowtop, 10_000);
    cowtop.kill('SIGTERM');
    await done;
  }
});

test('--prometheus on a port in use: one line, exit 2', async () => {
  const port = await freePort();
  const blocker = createServer().listen(port, '127.0.0.1');
  try {
    const r = await runCli(['--batch', '--size', '1000', '--prometheus', String(port)]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`^cowtop: cannot serve metrics on 127\\.0\\.0\\.1:${port}: EADDRINUSE\\n$`));
  } finally {
    blocker.close();
  }
});

/** cowtop attach as root with every capability dropped (setpriv): it reads its own files, not another user's rollups. */
function attachWithoutCaps(
  pid: number,
  args: string[],
  onOut: (out: string) => void = () => {},
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const argv = [
      '--bounding-set',
      '-all',
      '--inh-caps',
      '-all',
      '--',
      process.execPath,
      BIN,
      'attach',
      String(pid),
      ...args,
    ];
    const c = spawn('setpriv', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => {
      out += d;
      onOut(out);
    });
    c.stderr.on('data', (d) => (err += d));
    c.on('close', (code) => resolve({ code, out, err }));
  });
}

test('attach to a process of another user: readable figures, and one line saying why USS/PSS are missing', async () => {
  // The tree runs as nobody. cowtop runs as root with every capability dropped (setpriv): it
  // still reads its own files wherever CI cloned them, but not another user's smaps_rollup.
  const target = spawn(
    '/usr/bin/python3',
    ['-c', 'import os, time\nif os.fork() == 0:\n    time.sleep(30)\n    os._exit(0)\ntime.sleep(30)'],
    { stdio: 'ignore', uid: 65534, gid: 65534, cwd: '/' },
  );
  try {
    await waitUntil(() => children(target.pid!).length === 1, 5000, 'the target tree');
    const r = await attachWithoutCaps(target.pid!, ['--batch', '--duration', '1.5', '--interval', '300']);
    assert.equal(r.code, 0, r.err);
    const recs = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const notes = recs.filter((x) => x.kind === 'log' && /permission denied/.test(x.text));
    assert.equal(notes.length, 1, 'said once');
    assert.match(
      notes[0].text,
      /USS and PSS of 2 processes are missing: permission denied \(they belong to uid 65534\); run as that user or as root/,
    );
    const last = recs.filter((x) => x.type === 'sample').pop();
    assert.deepEqual(
      last.processes.map((p: any) => p.role),
      ['master', 'worker'],
    );
    assert.equal(last.freeze, null, 'no agent: the freeze state is unknown, not "off"');
    for (const p of last.processes) {
      assert.equal(p.uss, null);
      assert.equal(p.pss, null);
      assert.ok(p.rss > 0, 'RSS from stat');
      assert.equal(typeof p.minflt, 'number');
      assert.match(p.error, /permission denied/);
    }
    // A sum of what could not be read is unknown, not 0: null in JSON, '?' in the table, no
    // sample in OpenMetrics. RSS comes from stat for every process, so its sum is known.
    assert.deepEqual(
      { uss: last.totals.uss, pss: last.totals.pss, shared: last.totals.shared },
      { uss: null, pss: null, shared: null },
    );
    assert.equal(
      last.totals.rss,
      last.processes.reduce((a: number, p: any) => a + p.rss, 0),
    );
    const port = await freePort();
    let metrics = '';
    const table = await attachWithoutCaps(
      target.pid!,
      ['--batch', '--format', 'table', '--duration', '2', '--interval', '300', '--prometheus', String(port)],
      (out) => {
        // Scraped once a sample is out: the endpoint then serves that sample's figures.
        if (!metrics && /USS \? {2}PSS \?/.test(out)) void get(port, '/metrics').then((m) => (metrics = m.body));
      },
    );
    assert.equal(table.code, 0);
    assert.match(table.out, /USS \? {2}PSS \? {2}RSS \d/);
    assert.doesNotMatch(table.out, /USS 0 B|PSS 0 B/);
    assert.match(metrics, /^cowtop_tree_rss_bytes\{name="pid\d+"\} \d+$/m);
    assert.doesNotMatch(metrics, /^cowtop_tree_(pss|uss)_bytes\{/m);
    assert.doesNotMatch(metrics, /^cowtop_tree_frozen\{/m, 'no agent: frozen is unknown');
  } finally {
    target.kill('SIGKILL');
  }
});

test('attach to a pid that does not exist: one line, exit 2', async () => {
  const r = await runCli(['attach', '4194303', '--batch']);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, 'cowtop: no process with pid 4194303\n');
  const bad = await runCli(['attach', 'gunicorn', '--batch']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^cowtop: attach: the pid must be a whole decimal number/);
});

test('cowtop agent --path prints the directory holding cowtop_agent.py', async () => {
  const r = await runCli(['agent', '--path']);
  assert.equal(r.code, 0);
  assert.ok(readdirSync(r.stdout.trim()).includes('cowtop_agent.py'));
});

test('attach dashboard: master and workers in the table, only the keys that apply in the footer', async () => {
  const agentDir = mkdtempSync(join(tmpdir(), 'cowtop-agent-'));
  const g = await startGunicorn('gunicorn.freeze.conf.py', agentDir);
  const { runInPty, readTable } = await import('./pty.js');
  const run = runInPty(['attach', String(g.master)], { cols: 120, rows: 30, env: { COWTOP_AGENT_DIR: agentDir } });
  try {
    await run.waitFor(
      (t) => readTable(t.split('\n')).filter((r) => r.ROLE.startsWith('worker') && /^\d/.test(r.USS)).length === 3,
      30_000,
    );
    const rows = readTable(run.screen());
    assert.equal(rows[0].ROLE, 'master');
    assert.equal(Number(rows[0].PID), g.master);
    assert.deepEqual(
      rows
        .slice(1)
        .map((r) => Number(r.PID))
        .sort(),
      children(g.master).sort(),
    );
    await run.waitFor(/FREEZE ON\s+frozen [\d,]+/, 5000);
    await run.waitFor(/gc agent 4\/4/, 5000);
    assert.match(run.text(), /GROWTH since attach/, 'what GROWTH counts from, said on screen');
    const footer = run.screen()[29];
    assert.match(footer, /q quit/);
    assert.doesNotMatch(footer, /freeze|collect|workers|workload|restart/);
    // COPIED: bytes copied from the master since fork, page by page, though cowtop came later
    // (read in the background when attached); copied pages are private, so never far above USS.
    await run.waitFor(
      (t) =>
        readTable(t.split('\n')).filter((r) => r.ROLE.startsWith('worker') && /^\d/.test(r.COPIED ?? '')).length === 3,
      15_000,
    );
    for (const w of readTable(run.screen()).filter((r) => r.ROLE.startsWith('worker')))
      assert.ok(Number(w.COPIED) <= Number(w.USS) + 1, `${w.PID}: COPIED ${w.COPIED} vs USS ${w.USS}`);
    // COMMAND: each process's own command line, as /proc has it.
    for (const r of readTable(run.screen())) {
      const cmdline = readFileSync(`/proc/${r.PID}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      assert.ok(r.COMMAND && cmdline.startsWith(r.COMMAND.replace(/…$/, '')), `${r.PID}: ${r.COMMAND} vs ${cmdline}`);
    }
    // t: the workers under their master, with htop's branches.
    run.press('t');
    await run.waitFor((t) => readTable(t.split('\n')).filter((r) => /^[├└]─ /.test(r.COMMAND)).length === 3, 5000);
    assert.match(run.screen()[2], /tree/);
    // k on a worker, SIGTERM picked: the master replaces it, and the new worker shows up.
    const before = children(g.master);
    const victim = Number(readTable(run.screen())[1].PID);
    run.press('\x1b[B'); // down once: the first worker row (the master is selected from the start)
    run.press('k');
    await run.waitFor(new RegExp(`Send SIGTERM to worker \\d \\(pid ${victim}\\)\\?`), 5000);
    run.press('\r');
    await run.waitFor(new RegExp(`sent SIGTERM to pid ${victim}`), 5000);
    await waitUntil(
      () => !children(g.master).includes(victim) && children(g.master).length === 3,
      20_000,
      'gunicorn to replace the worker',
    );
    const replacement = children(g.master).find((p) => !before.includes(p))!;
    await run.waitFor((t) => readTable(t.split('\n')).some((r) => Number(r.PID) === replacement), 10_000);
  } finally {
    run.press('q');
    const stuck = setTimeout(() => run.proc.kill(), 3000); // a failure left a question open
    await run.exited;
    clearTimeout(stuck);
    await stopGunicorn(g);
  }
});
