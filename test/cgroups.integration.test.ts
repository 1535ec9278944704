/**
 * The memory cgroup of a tree, for real (v1, as these machines mount it): the figures cowtop
 * records are the cgroup's files, the limit an ancestor sets holds, and a worker the kernel's
 * OOM killer takes is an event in the records, the log and the timeline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFlatKeyed } from '../src/proc/cgroup';
import { BIN, collectLines, FIXTURES, finished, freePort, runCli, startCli, waitUntil } from './helpers';
import { children, get } from './gunicorn';
import { runInPty } from './pty';
import {
  canMakeV1,
  enterCommand,
  makeCgroup,
  OWN_CGROUP_NS,
  removeCgroup,
  spawnIn,
  type TestCgroup,
  treeIn,
} from './cgroups';

const skip = canMakeV1();
const MiB = 1 << 20;

function scratch(): { trigger: string; done: () => void } {
  const d = mkdtempSync(join(tmpdir(), 'cowtop-cg-'));
  return { trigger: join(d, 'go'), done: () => rmSync(d, { recursive: true, force: true }) };
}

test("attach records the tree's cgroup as its files say, the parent's limit included", { skip }, async () => {
  const port = await freePort();
  const cg = makeCgroup(512 * MiB, 'parent');
  const s = scratch();
  const tree = await treeIn(cg, s.trigger);
  const cowtop = startCli(['attach', String(tree.pid), '--batch', '--interval', '200', '--prometheus', String(port)]);
  try {
    // Each sample against the files read as its line arrives: the tree sleeps, so they agree.
    let seen = 0;
    const recs = await collectLines(
      cowtop,
      (rs) => {
        const last = rs[rs.length - 1];
        if (last?.type !== 'sample' || !last.cgroup) return false;
        const stat = parseFlatKeyed(cg.file('memory.stat'));
        const agrees =
          last.cgroup.usage === Number(cg.file('memory.usage_in_bytes')) &&
          last.cgroup.anon === stat.total_rss &&
          last.cgroup.file === stat.total_cache;
        if (agrees) seen++;
        return seen >= 3;
      },
      20_000,
    );
    const c = recs.filter((r) => r.type === 'sample').pop().cgroup;
    assert.equal(c.version, 1);
    assert.equal(c.path, cg.path);
    assert.equal(Number(cg.file('memory.limit_in_bytes')) >= 2 ** 60, true, 'the leaf itself has no limit');
    assert.equal(c.limit, 512 * MiB, "the parent's limit, as hierarchical_memory_limit says");
    assert.equal(c.oomKills, 0);
    assert.equal(c.limitHits, Number(cg.file('memory.failcnt')));
    assert.equal(c.treeProcesses, 3);
    assert.equal(c.outside, 0);

    // Prometheus: the same figures, labelled by the cgroup's path.
    const series = async (metric: string): Promise<number | null> => {
      const body = (await get(port, '/metrics')).body;
      const m = new RegExp(`^${metric}\\{name="[^"]*",cgroup="([^"]*)"\\} (\\d+)$`, 'm').exec(body);
      if (m) assert.equal(m[1], cg.path);
      return m ? Number(m[2]) : null;
    };
    let usage: number | null = null;
    await waitUntil(
      async () => (usage = await series('cowtop_cgroup_usage_bytes')) === Number(cg.file('memory.usage_in_bytes')),
      10_000,
      `cowtop_cgroup_usage_bytes (${usage}) to equal memory.usage_in_bytes`,
    );
    assert.equal(await series('cowtop_cgroup_limit_bytes'), 512 * MiB);
    assert.equal(await series('cowtop_cgroup_oom_kills_total'), 0);
    assert.equal(await series('cowtop_cgroup_outside_processes'), 0);
  } finally {
    cowtop.kill('SIGTERM');
    await finished(cowtop).catch(() => {});
    await removeCgroup(cg, tree);
    s.done();
  }
});

test("from a sidecar's own cgroup namespace, a neighbour's cgroup is read through its root", { skip }, async () => {
  // As in a pod: cowtop and the server in sibling cgroups, each in its own cgroup namespace, so
  // cowtop's /proc/PID/cgroup for the server says /../../../<the server's> and its own
  // /sys/fs/cgroup/memory holds only itself.
  const server = makeCgroup(200 * MiB, 'leaf');
  const sidecar = makeCgroup(1024 * MiB, 'leaf');
  const s = scratch();
  const tree = await treeIn(server, s.trigger, 2, OWN_CGROUP_NS).catch(async (e) => {
    await removeCgroup(sidecar, null);
    throw e;
  });
  const cowtop = spawnIn(
    sidecar,
    [...OWN_CGROUP_NS, process.execPath, BIN, 'attach', String(tree.pid), '--batch', '--interval', '200'],
    'pipe',
  );
  try {
    const recs = await collectLines(
      cowtop,
      (rs) => rs.some((r) => r.type === 'sample' && r.cgroup?.usage === Number(server.file('memory.usage_in_bytes'))),
      20_000,
    );
    const c = recs.filter((r) => r.type === 'sample').pop().cgroup;
    assert.match(
      c.path,
      /^\/\.\.\/\.\.\/\.\.\/cowtop-test-\S+\/docker\/[0-9a-f]{64}$/,
      'the path as the sidecar sees it',
    );
    assert.ok(c.path.endsWith(server.path));
    assert.equal(c.limit, 200 * MiB);
    assert.equal(c.treeProcesses, 3);
    assert.equal(c.outside, 0);
  } finally {
    cowtop.kill('SIGTERM');
    await finished(cowtop).catch(() => {});
    await removeCgroup(server, tree);
    await removeCgroup(sidecar, null);
    s.done();
  }
});

test('a worker OOM-killed in the cgroup is an oom event naming it, with the usage and limit', { skip }, async () => {
  const port = await freePort();
  const cg = makeCgroup(96 * MiB, 'leaf');
  const s = scratch();
  const tree = await treeIn(cg, s.trigger);
  const hog = children(tree.pid!).sort((a, b) => a - b)[0];
  const cowtop = startCli(['attach', String(tree.pid), '--batch', '--interval', '200', '--prometheus', String(port)]);
  try {
    await collectLines(
      cowtop,
      (rs) => rs.some((r) => r.type === 'sample' && r.cgroup && r.processes.filter((p: any) => p.alive).length === 3),
      20_000,
    );
    writeFileSync(s.trigger, '');
    const recs = await collectLines(cowtop, (rs) => rs.some((r) => r.type === 'event' && r.kind === 'oom'), 30_000);
    const ev = recs.find((r) => r.type === 'event' && r.kind === 'oom');
    assert.equal(ev.cgroup, cg.path);
    assert.ok(ev.kills >= 1);
    assert.equal(ev.limit, 96 * MiB);
    assert.deepEqual(
      ev.gone.map((g: any) => g.pid),
      [hog],
      `the event names the worker killed: ${JSON.stringify(ev)}`,
    );
    assert.match(ev.text, /^worker \d+ OOM-killed: cgroup \/cowtop-test-\S+\/docker\/[0-9a-f]{64} at .+ of 96\.0 MiB$/);
    assert.equal(Number(parseFlatKeyed(cg.file('memory.oom_control')).oom_kill), ev.kills, 'the kernel counted it');
    assert.equal(existsSync(`/proc/${hog}`), false, 'the kernel did kill it');
    const body = (await get(port, '/metrics')).body;
    assert.match(
      body,
      new RegExp(`^cowtop_cgroup_oom_kills_total\\{name="[^"]*",cgroup="${cg.path}"\\} ${ev.kills}$`, 'm'),
    );
  } finally {
    cowtop.kill('SIGTERM');
    await finished(cowtop).catch(() => {});
    await removeCgroup(cg, tree);
    s.done();
  }
});

test('the dashboard: a CGROUP line with the limit and its container, an OOM kill in the log and an O', {
  skip,
}, async () => {
  const cg = makeCgroup(128 * MiB, 'leaf');
  const s = scratch();
  const tree = await treeIn(cg, s.trigger);
  const run = runInPty(['attach', String(tree.pid), '--interval', '300'], { cols: 120, rows: 30 });
  try {
    const id = cg.path.split('/').pop()!.slice(0, 12);
    const first = await run.waitFor(/CGROUP\s+\[[#.]{10}\] .+ of 128 MiB \d+%/, 20_000);
    assert.match(first, new RegExp(`in docker ${id}`), 'the container its cgroup path names');
    writeFileSync(s.trigger, '');
    const after = await run.waitFor(/worker \d+ OOM-killed: cgroup/, 30_000);
    assert.match(after, /OOM kills 1/);
    await run.waitFor(/^ev\s.*O/m, 10_000); // the timeline's events line
    run.press('q');
    assert.equal((await run.exited).exitCode, 0);
  } finally {
    run.proc.kill();
    await removeCgroup(cg, tree);
    s.done();
  }
});

/** run --compare on the gunicorn fixture, which moves itself into the cgroup first (cowtop stays outside). */
function compareIn(cg: TestCgroup, port: number, args: string[]) {
  const server = [
    '/usr/bin/gunicorn',
    '--preload',
    '-w',
    '2',
    '-b',
    `127.0.0.1:${port}`,
    '--chdir',
    join(FIXTURES, 'gunicorn'),
    'app:app',
  ];
  return runCli(
    ['run', '--compare', '--load', `http://127.0.0.1:${port}/report`, ...args, '--', ...enterCommand(cg, server)],
    {},
    180_000,
  );
}

test("run --compare in a cgroup of the server's own: its peak and the request and limit each pass needs", {
  skip,
}, async () => {
  const cg = makeCgroup(1024 * MiB, 'leaf');
  const port = await freePort();
  try {
    // The server moves itself into the cgroup (a fixed script, then exec): cowtop stays outside.
    const r = await compareIn(cg, port, ['--format', 'json', '--requests', '600']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    const c = out.container;
    assert.equal(
      c.basis,
      'cgroup',
      `nothing but the server in its cgroup: ${JSON.stringify(out.passes.map((p: any) => p.memory))}`,
    );
    assert.equal(c.cgroup, cg.path);
    assert.equal(c.currentLimit, 1024 * MiB);
    // The kernel's own peak over both passes bounds what the samples saw.
    const kernelPeak = Number(cg.file('memory.max_usage_in_bytes'));
    const seen = Math.max(c.without.peak, c.with.peak);
    assert.ok(seen <= kernelPeak && seen >= 0.7 * kernelPeak, `sampled peak ${seen}, the kernel's ${kernelPeak}`);
    for (const n of [c.without, c.with]) {
      assert.ok(n.after <= n.peak);
      assert.ok(n.request >= n.after && n.request - n.after < 8 * MiB);
      assert.ok(n.limit >= 1.25 * n.peak && n.limit - 1.25 * n.peak < 8 * MiB);
    }
    const table = await compareIn(cg, port, ['--requests', '200']);
    assert.match(
      table.stdout,
      new RegExp(
        `Container memory \\(cgroup ${cg.path}, limit 1\\.00 GiB; .*\\): peak .+ -> .+ with the freeze recipe`,
      ),
    );
    assert.match(
      table.stdout,
      /It would need requests\.memory \d+Mi \/ limits\.memory \d+Mi as it is, \d+Mi \/ \d+Mi with the recipe/,
    );
  } finally {
    await removeCgroup(cg, null);
  }
});
