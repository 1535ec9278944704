/**
 * cowtop run against the pre-fork servers people run (Debian's gunicorn + Flask, uWSGI with its
 * python3 plugin, Celery prefork on a Redis broker) and a multiprocessing.Pool job: workers found,
 * gc state from the injected agent, full collections as events, a killed worker's replacement,
 * and the freeze recipe's effect under load, page by page. Plus a real Prometheus scraping it.
 * Each server listens on a loopback port picked here and is stopped by cowtop or by the test.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSmapsRollup } from '../src/proc/parse';
import { sendRequests } from '../src/measure/server-pass';
import { alive, BIN, FIXTURES, finished, freePort, ROOT, waitUntil } from './helpers';
import { children, get } from './gunicorn';
import { readTable, runInPty } from './pty';

const GUNICORN = '/usr/bin/gunicorn';
const UWSGI = '/usr/bin/uwsgi';
const PY = '/usr/bin/python3'; // Debian's, which has flask, celery and redis
const SERVERS = join(FIXTURES, 'servers');
const FLASK_APP = join(FIXTURES, 'gunicorn');

function cowtop(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Every JSON record a batch run prints, as it comes. */
function records(child: ChildProcess): any[] {
  const all: any[] = [];
  let tail = '';
  child.stdout!.on('data', (d: Buffer) => {
    const lines = (tail + d.toString()).split('\n');
    tail = lines.pop()!;
    for (const l of lines) if (l.trim()) all.push(JSON.parse(l));
  });
  return all;
}
const samples = (rs: any[]) => rs.filter((r) => r.type === 'sample');
const lastSample = (rs: any[]) => samples(rs).pop();
const liveWorkers = (s: any) => (s ? s.processes.filter((p: any) => p.role === 'worker' && p.alive) : []);

/** Kills one worker with SIGKILL; the master's replacement must come as a fork of a new pid. */
async function killAndSeeReplaced(all: any[], pids: number[], victim: number): Promise<number> {
  process.kill(victim, 'SIGKILL');
  await waitUntil(
    () => all.some((r) => r.kind === 'fork' && !pids.includes(r.pid)),
    20_000,
    `the replacement of killed worker ${victim}`,
  );
  return all.find((r) => r.kind === 'fork' && !pids.includes(r.pid)).pid;
}

/** Ends a cowtop the test started, as a user would, and waits for it. */
function stopCowtop(c: ChildProcess, signal: NodeJS.Signals = 'SIGTERM') {
  const done = finished(c, 30_000);
  c.kill(signal);
  return done;
}

async function runCompare(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<any> {
  const r = await finished(cowtop(['run', '--compare', '--format', 'json', ...args], cwd, env), 120_000);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** What every server must show through run --compare: workers with the agent, the recipe's effect. */
function checkCompare(r: any, workers: number, least = 0.8): void {
  const [off, on] = r.passes;
  for (const p of r.passes) {
    assert.equal(p.workers.length, workers, `${workers} workers found`);
    for (const w of p.workers) {
      assert.equal(w.before.collections.length, 3, 'gc counts from the agent');
      assert.ok(w.after.copied !== null && w.after.uss > 0 && w.after.pss > 0);
    }
    // Nothing is left: cowtop stopped the server after each pass.
    for (const pid of [p.master.pid, ...p.workers.map((w: any) => w.pid)])
      assert.ok(!alive(pid), `pid ${pid} was stopped`);
  }
  const full = (w: any) => w.after.collections[2] - w.before.collections[2];
  assert.ok(
    off.workers.some((w: any) => full(w) > 0 || w.before.collections[2] > 0),
    `the workers ran full collections by themselves: ${JSON.stringify(off.workers.map((w: any) => [w.before.collections, w.after.collections]))}`,
  );
  for (const w of off.workers) assert.equal(w.after.frozen, 0);
  for (const w of on.workers) assert.ok(w.after.frozen > 100_000, `frozen in worker ${w.pid}: ${w.after.frozen}`);
  assert.ok(r.copied.without > 20 * 1048576, `copied as it is: ${r.copied.without}`);
  assert.ok(r.copied.reduction >= least, `copied ${r.copied.without} -> ${r.copied.with}: ${r.copied.reduction}`);
}

// The servers are independent (their own ports, their own trees): three run at a time, which
// halves the file's time on 2 cores. What they assert is counted in pages and collections, not
// in time, so sharing the cores changes nothing but the wait.
describe('real servers through cowtop run', { concurrency: 3 }, () => {
  // The longest first: Celery's imports make it the slowest to start.
  /** A Redis on a loopback port of its own, for one test's Celery. */
  async function withRedis(fn: (env: NodeJS.ProcessEnv) => Promise<void>): Promise<void> {
    assert.ok(existsSync('/usr/bin/redis-server'), 'redis-server is missing (.ci/run installs it)');
    const port = await freePort();
    const redis = spawn(
      '/usr/bin/redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    try {
      await waitUntil(
        async () =>
          await new Promise<boolean>((resolve) => {
            const s = require('node:net').connect(port, '127.0.0.1', () => {
              s.end();
              resolve(true);
            });
            s.on('error', () => resolve(false));
          }),
        10_000,
        'redis-server',
      );
      await fn({ COWTOP_TEST_REDIS: String(port) });
    } finally {
      redis.kill('SIGTERM');
    }
  }
  const CELERY = [
    PY,
    '-m',
    'celery',
    '-A',
    'celery_tasks',
    'worker',
    '--pool',
    'prefork',
    '-c',
    '3',
    '--without-heartbeat',
    '--without-gossip',
    '--without-mingle',
    '-l',
    'warning',
  ];

  test('Celery prefork on a Redis broker through run --compare --load-cmd: the recipe cuts what the pool copies by 80% or more', () =>
    withRedis(async (env) => {
      const r = await runCompare(['--load-cmd', `${PY} celery_tasks.py 600`, '--', ...CELERY], SERVERS, env);
      checkCompare(r, 3);
      assert.equal(r.passes[0].load.ok, 1, 'the load command exited 0');
    }));

  test("Celery watched live through run --batch: the pool's full collections are events, a killed pool process is replaced", () =>
    withRedis(async (env) => {
      const c = cowtop(['run', '--batch', '--interval', '300', '--', ...CELERY], SERVERS, env);
      const all = records(c);
      try {
        await waitUntil(
          () => liveWorkers(lastSample(all)).length === 3 && liveWorkers(lastSample(all)).every((p: any) => p.gc),
          30_000,
          'the Celery pool with the agent',
        );
        assert.equal(lastSample(all).processes[0].role, 'master');
        const pids = liveWorkers(lastSample(all)).map((p: any) => p.pid);
        const load = await finished(
          spawn(PY, ['celery_tasks.py', '400'], {
            cwd: SERVERS,
            env: { ...process.env, ...env },
            stdio: ['ignore', 'pipe', 'pipe'],
          }),
          60_000,
        );
        assert.equal(load.code, 0, load.stderr);
        await waitUntil(
          () => all.some((x) => x.kind === 'collect' && x.generation === 2 && pids.includes(x.pid)),
          15_000,
          'a full collection event from a pool process',
        );
        await killAndSeeReplaced(all, pids, pids[0]);
      } finally {
        await stopCowtop(c);
      }
    }));

  test('gunicorn --preload through run --compare: the recipe cuts what the workers copy under load by 80% or more', async () => {
    assert.ok(existsSync(GUNICORN), 'gunicorn is missing: apt-get install gunicorn python3-flask (.ci/run does)');
    const port = await freePort();
    const r = await runCompare(
      [
        '--load',
        `http://127.0.0.1:${port}/report`,
        '--requests',
        '1500',
        '--',
        GUNICORN,
        '--preload',
        '-w',
        '3',
        '-b',
        `127.0.0.1:${port}`,
        'app:app',
      ],
      FLASK_APP,
    );
    checkCompare(r, 3);
    assert.equal(r.passes[0].load.ok, 1500);
    // The container's view: this runner's cgroup holds other processes, so Σ PSS stands in.
    const c = r.container;
    assert.ok(['pss', 'cgroup'].includes(c.basis), c.basis);
    for (const [n, p] of [
      [c.without, r.passes[0]],
      [c.with, r.passes[1]],
    ]) {
      assert.ok(n.peak >= n.after && n.after > 0);
      if (c.basis === 'pss') assert.equal(n.after, p.pss.after, "the last sample is the pass's own");
      assert.equal(n.request % (8 << 20), 0);
      assert.ok(n.limit >= n.peak * 1.25 && n.limit % (8 << 20) === 0);
    }
    assert.match(r.passes[0].implementation, /^CPython 3\./);
  });

  test('uWSGI (app loaded in the master) through run --compare, and --lazy-apps through run --freeze: agents in every worker', async () => {
    assert.ok(existsSync(UWSGI), 'uwsgi is missing: apt-get install uwsgi uwsgi-plugin-python3 (.ci/run does)');
    const uwsgi = (port: number, lazy: boolean) => [
      UWSGI,
      '--plugin',
      'python3',
      '--master',
      '--processes',
      '3',
      ...(lazy ? ['--lazy-apps'] : []),
      '--http-socket',
      `127.0.0.1:${port}`,
      '--wsgi-file',
      'wsgi_app.py',
      '--disable-logging',
    ];
    const port = await freePort();
    checkCompare(
      await runCompare(
        ['--load', `http://127.0.0.1:${port}/report`, '--requests', '1500', '--', ...uwsgi(port, false)],
        SERVERS,
      ),
      3,
    );

    // --lazy-apps: each worker imports the app itself. The agent still follows each fork (through
    // the fork hooks cowtop sets), the recipe freezes in each worker, and a killed
    // worker's replacement appears. (Full collections as events: the gunicorn and Pool tests.)
    const lazyPort = await freePort();
    const c = cowtop(['run', '--freeze', '--batch', '--interval', '300', '--', ...uwsgi(lazyPort, true)], SERVERS);
    const all = records(c);
    try {
      await waitUntil(
        () =>
          liveWorkers(lastSample(all)).length === 3 && liveWorkers(lastSample(all)).every((p: any) => p.gc?.frozen > 0),
        30_000,
        'three uWSGI workers frozen by the recipe',
      );
      const s = lastSample(all);
      assert.equal(s.processes[0].role, 'master');
      assert.equal(s.freeze, true);
      const pids = liveWorkers(s).map((p: any) => p.pid);
      const fresh = await killAndSeeReplaced(all, pids, pids[0]);
      await waitUntil(
        () => all.some((r) => r.kind === 'exit' && r.pid === pids[0]),
        5000,
        'the exit of the killed worker',
      );
      // Stop only once it has loaded the app: a uWSGI worker that gets TERM while it loads ignores
      // it, and the master waits for it until cowtop's KILL (--stop-timeout) ends the wait.
      await waitUntil(
        () => all.some((r) => r.kind === 'log' && new RegExp(`ready in \\d+ seconds .*pid: ${fresh}\\b`).test(r.text)),
        20_000,
        'the replacement to load the app',
      );
    } finally {
      assert.equal((await stopCowtop(c)).code, 143);
    }
    const pids = samples(all).flatMap((s: any) => s.processes.map((p: any) => p.pid));
    for (const pid of new Set(pids)) assert.ok(!alive(pid), `uWSGI process ${pid} stopped with cowtop`);
  });

  test("uWSGI whose master runs a Python thread that holds the GIL: a killed worker's replacement starts and gets the agent (the fork hooks cowtop sets)", async () => {
    const port = await freePort();
    const c = cowtop(
      [
        'run',
        '--batch',
        '--interval',
        '300',
        '--',
        UWSGI,
        '--plugin',
        'python3',
        '--master',
        '--processes',
        '2',
        '--http-socket',
        `127.0.0.1:${port}`,
        '--wsgi-file',
        'wsgi_thread_in_master.py',
        '--disable-logging',
      ],
      SERVERS,
    );
    const all = records(c);
    try {
      await waitUntil(
        () => liveWorkers(lastSample(all)).length === 2 && liveWorkers(lastSample(all)).every((p: any) => p.gc),
        30_000,
        'two uWSGI workers with the agent',
      );
      const seen = new Set<number>(liveWorkers(lastSample(all)).map((p: any) => p.pid));
      for (const victim of [...seen]) {
        // Each replacement is forked while the thread holds the GIL; one that waits for it
        // forever never runs the agent (the agent's own thread in the master did this too).
        process.kill(victim, 'SIGKILL');
        const replaced = () => {
          const ws = liveWorkers(lastSample(all));
          return ws.length === 2 && ws.every((p: any) => p.gc) && ws.some((p: any) => !seen.has(p.pid));
        };
        await waitUntil(replaced, 20_000, `the replacement of ${victim}, with the agent`);
        for (const p of liveWorkers(lastSample(all))) seen.add(p.pid);
      }
    } finally {
      assert.equal((await stopCowtop(c)).code, 143);
    }
  });

  test('multiprocessing.Pool (fork) through run --batch --map: the recipe cuts what the pool copies by 80% or more; a killed worker is replaced', async () => {
    const job = async (freeze: boolean) => {
      const c = cowtop(
        [
          'run',
          ...(freeze ? ['--freeze'] : []),
          '--batch',
          '--map',
          '--interval',
          '300',
          '--',
          PY,
          'pool_job.py',
          '20',
        ],
        SERVERS,
      );
      const all = records(c);
      const r = await finished(c, 60_000);
      assert.equal(r.code, 0, `the job ended by itself: ${r.stderr}`);
      return all;
    };
    const off = await job(false);
    const copiedOf = (all: any[]) => {
      // A worker's copied pages only grow while it lives (a copy is never shared again), so the
      // sample with the most is the pool's latest state, however the map passes fell on a busy
      // machine.
      const mean = (x: any) => liveWorkers(x).reduce((a: number, p: any) => a + p.copies.copied, 0) / 3;
      const withMap = samples(all).filter(
        (x) => liveWorkers(x).length === 3 && liveWorkers(x).every((p: any) => p.copies),
      );
      assert.ok(withMap.length > 0, 'a sample with the three pool workers and their copy map');
      const s = withMap.reduce((a, b) => (mean(b) >= mean(a) ? b : a));
      return { s, mean: mean(s) };
    };
    const a = copiedOf(off);
    assert.ok(
      off.some((r) => r.kind === 'collect' && r.generation === 2 && liveWorkers(a.s).some((p: any) => p.pid === r.pid)),
      'full collections of the pool workers are events',
    );
    for (const p of liveWorkers(a.s)) assert.equal(p.gc.frozen, 0);
    const on = await job(true);
    const b = copiedOf(on);
    for (const p of liveWorkers(b.s)) assert.ok(p.gc.frozen > 100_000, `frozen ${p.gc.frozen}`);
    assert.ok(a.mean > 20 * 1048576, `copied without the recipe: ${a.mean}`);
    assert.ok(b.mean < 0.2 * a.mean, `copied ${a.mean} -> ${b.mean}`);

    // Pool replaces a worker that dies.
    const c = cowtop(['run', '--batch', '--interval', '300', '--', PY, 'pool_job.py', '100000'], SERVERS);
    const all = records(c);
    try {
      await waitUntil(() => liveWorkers(lastSample(all)).length === 3, 20_000, 'three pool workers');
      const pids = liveWorkers(lastSample(all)).map((p: any) => p.pid);
      await killAndSeeReplaced(all, pids, pids[1]);
    } finally {
      await stopCowtop(c, 'SIGINT');
    }
  });

  test('run --batch --prometheus on gunicorn, scraped by a real Prometheus: labels, the Grafana dashboard, events, and every way out', async () => {
    assert.ok(existsSync('/usr/bin/prometheus'), 'prometheus is missing (.ci/run installs it)');
    const [port, metrics, promPort] = [await freePort(), await freePort(), await freePort()];
    const c = cowtop(
      [
        'run',
        '--batch',
        '--interval',
        '300',
        '--prometheus',
        String(metrics),
        '--name',
        'shop',
        '--',
        GUNICORN,
        '--preload',
        '-w',
        '3',
        '-b',
        `127.0.0.1:${port}`,
        'app:app',
      ],
      FLASK_APP,
    );
    const all = records(c);
    const dir = mkdtempSync(join(tmpdir(), 'cowtop-prom-'));
    // The shipped scrape config, pointed at this run's port and scraping every second.
    const config = readFileSync(join(ROOT, 'deploy', 'prometheus.yml'), 'utf8')
      .replace("'127.0.0.1:9464'", `'127.0.0.1:${metrics}'`)
      .replace(/scrape_interval: \d+s/, 'scrape_interval: 1s');
    writeFileSync(join(dir, 'prometheus.yml'), config);
    const prom = spawn(
      '/usr/bin/prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
      ],
      { stdio: 'ignore' },
    );
    const query = async (q: string): Promise<any[]> => {
      const r = await get(promPort, `/api/v1/query?query=${encodeURIComponent(q)}`);
      const body = JSON.parse(r.body);
      assert.equal(body.status, 'success', `${q}: ${r.body}`);
      return body.data.result;
    };
    let master = 0;
    try {
      await waitUntil(
        () => lastSample(all)?.processes.filter((p: any) => p.alive && p.gc).length === 4,
        30_000,
        'gunicorn master and 3 workers with the agent',
      );
      const s = lastSample(all);
      master = s.processes[0].pid;
      assert.deepEqual(
        s.processes.map((p: any) => p.role),
        ['master', 'worker', 'worker', 'worker'],
      );
      assert.deepEqual(
        liveWorkers(s)
          .map((p: any) => p.pid)
          .sort(),
        children(master).sort(),
      );
      assert.equal(s.freeze, false);
      assert.ok(
        all.some((r) => r.kind === 'log' && /Booting worker/.test(r.text)),
        "the server's output is in the event log",
      );

      // Load that makes the workers collect in full, by themselves.
      const pids = liveWorkers(s).map((p: any) => p.pid);
      assert.equal((await sendRequests(`http://127.0.0.1:${port}/report`, 1500, 3)).ok, 1500);
      await waitUntil(
        () =>
          pids.filter((pid: number) => all.some((r) => r.kind === 'collect' && r.generation === 2 && r.pid === pid))
            .length >= 2,
        15_000,
        'full-collection events from the workers',
      );

      // Prometheus: two scrapes, then the series with their labels, tied to /proc.
      await waitUntil(
        async () => {
          try {
            const r = await query('count_over_time(cowtop_tree_processes{name="shop"}[1m])');
            return r.length === 1 && Number(r[0].value[1]) >= 2;
          } catch {
            return false;
          }
        },
        30_000,
        'two scrapes by Prometheus',
      );
      const uss = await query('cowtop_process_uss_bytes{name="shop", role="worker"}');
      assert.deepEqual(uss.map((x) => x.metric.worker).sort(), ['1', '2', '3']);
      for (const x of uss) {
        assert.equal(x.metric.job, 'cowtop');
        assert.ok(pids.includes(Number(x.metric.pid)));
      }
      // Tied to /proc: a scraped value is a scrape old, and a worker still finishing a collection
      // moves in between, so the two must meet within a few scrapes, not at one instant.
      let apart = '';
      await waitUntil(
        async () => {
          apart = '';
          for (const x of await query('cowtop_process_uss_bytes{name="shop", role="worker"}')) {
            const direct = parseSmapsRollup(readFileSync(`/proc/${x.metric.pid}/smaps_rollup`, 'utf8'))!;
            if (Math.abs(Number(x.value[1]) - direct.uss) >= 4 * 1048576)
              apart += ` worker ${x.metric.worker}: USS ${x.value[1]} vs /proc ${direct.uss}`;
          }
          return apart === '';
        },
        15_000,
        `the scraped USS to meet /proc's (${apart})`,
      ).catch(() => assert.fail(`scraped USS never met /proc's:${apart}`));
      for (const name of [
        'cowtop_process_pss_bytes',
        'cowtop_process_rss_bytes',
        'cowtop_process_copied_bytes',
        'cowtop_process_minor_faults_total',
      ]) {
        const r = await query(`${name}{name="shop", role="worker"}`);
        assert.equal(r.length, 3, name);
        assert.ok(
          r.every((x) => Number(x.value[1]) > 0),
          `${name} > 0`,
        );
      }
      const full = await query('cowtop_gc_collections_total{name="shop", role="worker", generation="2"}');
      assert.ok(full.filter((x) => Number(x.value[1]) > 0).length >= 2, 'full collections counted per worker');
      assert.equal((await query('cowtop_process_uss_bytes{name="shop", role="master"}'))[0].metric.pid, String(master));

      // The Grafana dashboard: every expression names metrics the endpoint serves, and returns data.
      // Served: every family cowtop declares (# TYPE); sampled: those with a series in this run
      // (gunicorn's cgroup here has no limit, so cowtop_cgroup_limit_bytes has none).
      const body = (await get(metrics, '/metrics')).body;
      const served = new Set(
        [...body.matchAll(/^# TYPE (cowtop_\w+) (gauge|counter)$/gm)].flatMap((m) =>
          m[2] === 'counter' ? [m[1], `${m[1]}_total`] : [m[1]],
        ),
      );
      const sampled = new Set([...body.matchAll(/^(cowtop_\w+?)(?:\{| )/gm)].map((m) => m[1]));
      const dashboard = JSON.parse(readFileSync(join(ROOT, 'deploy', 'grafana', 'cowtop.json'), 'utf8'));
      const exprs: string[] = dashboard.panels.flatMap((p: any) => p.targets.map((t: any) => t.expr));
      assert.ok(exprs.length >= 6);
      for (const e of exprs) {
        const named = e.match(/\bcowtop_\w+/g) ?? [];
        for (const m of named) assert.ok(served.has(m), `${m} (in "${e}") is served`);
        if (named.every((m) => sampled.has(m)))
          assert.ok((await query(e.replace(/\$\w+/g, '.*'))).length > 0, `"${e}" returns data`);
      }
      for (const v of dashboard.templating.list.filter((x: any) => x.type === 'query'))
        assert.ok(served.has(/label_values\((\w+)/.exec(v.query)![1]), v.query);
      assert.ok(exprs.some((e) => /cowtop_cgroup_usage_bytes/.test(e)) && exprs.some((e) => /oom_kills/.test(e)));
    } finally {
      prom.kill('SIGTERM');
      const done = finished(c, 20_000);
      c.kill('SIGTERM');
      const r = await done;
      assert.equal(r.code, 143);
      rmSync(dir, { recursive: true, force: true });
    }
    // cowtop stopped gunicorn as a supervisor does: nothing of it is left.
    const seen = new Set(samples(all).flatMap((s: any) => s.processes.map((p: any) => p.pid)));
    for (const pid of seen) assert.ok(!alive(pid), `gunicorn process ${pid} stopped`);
    assert.ok(
      all.some((r) => r.kind === 'log' && /Shutting down: Master/.test(r.text)),
      'gunicorn shut down on its own terms (SIGTERM)',
    );
  });
});

const SLEEPER = [PY, '-c', 'import os, time\nos.fork()\ntime.sleep(120)'];

test('SIGKILL of cowtop run still stops the server (the agent sees the pipe close); --keep leaves it running', async () => {
  const c = cowtop(['run', '--batch', '--interval', '200', '--stop-timeout', '1', '--', ...SLEEPER], SERVERS);
  const all = records(c);
  await waitUntil(
    () => lastSample(all)?.processes.filter((p: any) => p.alive).length === 2,
    15_000,
    'the sleeper and its child',
  );
  const pids = lastSample(all).processes.map((p: any) => p.pid);
  c.kill('SIGKILL');
  await waitUntil(() => pids.every((p: number) => !alive(p)), 10_000, 'the server to stop after cowtop was killed');

  const k = await finished(
    cowtop(['run', '--keep', '--batch', '--duration', '1.5', '--interval', '200', '--', ...SLEEPER], SERVERS),
    20_000,
  );
  assert.equal(k.code, 0, k.stderr);
  const pid = Number(/left running: pid (\d+)/.exec(k.stderr)?.[1]);
  assert.ok(pid > 0 && alive(pid), `--keep says which pid it left, and it runs: ${k.stderr}`);
  const kids = children(pid);
  process.kill(-pid, 'SIGTERM');
  await waitUntil(() => !alive(pid) && kids.every((p) => !alive(p)), 10_000, 'the kept server to stop');
});

test('run: a command that cannot start, a missing command, a load elsewhere: one line, exit 2, nothing left', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['run'], /^cowtop: run needs a command: cowtop run \[options\] -- COMMAND/],
    [['run', '--batch', '--', '/nonexistent/server'], /^cowtop: cannot run \/nonexistent\/server: not found$/],
    [['run', '--compare', '--', PY], /needs the load: --load URL, or --load-cmd/],
    [['run', '--compare', '--load', 'http://192.0.2.1/', '--', PY], /this machine only/],
    [['run', '--load', 'http://127.0.0.1/', '--', PY], /--load goes with run --compare/],
    [['run', '--stop-timeout', '-1', '--', PY], /--stop-timeout must be/],
    [['run', '--name', 'a b', '--', PY], /--name must be/],
  ];
  for (const [args, re] of cases) {
    const r = await finished(cowtop(args, SERVERS), 20_000);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr.trim(), re);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
  // A command that fails at once is no bad input: it says how the command ended, and fails.
  const quick = await finished(cowtop(['run', '--batch', '--', 'false'], SERVERS), 20_000);
  assert.equal(quick.code, 1, quick.stderr);
  assert.match(quick.stderr, /^cowtop: false \(pid \d+\) exited with code 1\n$/);
});

test('the run dashboard in a pty: the header says cowtop run and the recipe, rows carry the agent, f says why not, q stops the server', async () => {
  const run = runInPty(['run', '--freeze', '--interval', '300', '--', PY, join(SERVERS, 'pool_job.py'), '100000'], {
    cols: 120,
    rows: 32,
  });
  let pids: number[] = [];
  try {
    await run.waitFor(
      (t) =>
        /cowtop run +\d+ /.test(t) &&
        /FREEZE ON +recipe: gc off in master, freeze at fork/.test(t) &&
        /gc agent 4\/4/.test(t),
      30_000,
    );
    const table = readTable(run.screen());
    const workers = table.filter((r) => /^worker/.test(r.ROLE));
    assert.equal(workers.length, 3);
    pids = table.map((r) => Number(r.PID));
    // The rows are the pool's processes: its workers are the master's children in /proc.
    const master = table.find((r) => r.ROLE === 'master')!;
    assert.deepEqual(workers.map((w) => Number(w.PID)).sort(), children(Number(master.PID)).sort());
    run.press('f');
    await run.waitFor(/f: cowtop run watches the server: start it without --freeze to compare/, 5000);
  } finally {
    run.press('q');
    await run.exited;
  }
  await waitUntil(() => pids.every((p) => !alive(p)), 10_000, 'q to stop the pool and its workers');
});

test('run --compare waits for a master that works between its forks, 2 s apart (longer than 1.5 s of the same workers): every worker is in each pass', async () => {
  const r = await runCompare(['--load-cmd', `${PY} -c pass`, '--', PY, 'slow_fork.py', '3', '2'], SERVERS);
  for (const p of r.passes) {
    assert.equal(
      p.workers.length,
      3,
      `pass ${p.freeze ? 'with' : 'without'} the recipe: ${p.workers.map((w: any) => w.pid).join(', ')}`,
    );
    for (const pid of [p.master.pid, ...p.workers.map((w: any) => w.pid)])
      assert.ok(!alive(pid), `pid ${pid} was stopped`);
  }
});
