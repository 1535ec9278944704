/**
 * One pass of `cowtop run --compare`: start the server (with or without the freeze recipe), wait
 * until its workers stand still with the agent answering, measure them, send the load, measure
 * again, stop it. Every figure comes from /proc (rollups, stat, pagemap) or from the agent.
 */
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { agentDirProblem } from '../attach/agent';
import { AttachedTree } from '../attach/tree';
import { lifecycle } from '../lifecycle';
import { UsageError } from '../util/usage-error';
import type { ProcReader } from '../proc/read';
import { copiedSinceFork } from './copied';
import { PeakWatch, type PassMemory } from './container-need';
import { Sampler } from '../sample/sampler';
import type { ProcessSample, Snapshot } from '../sample/snapshot';
import type { LoadOptions, RunOptions } from '../session/run-session';
import { ServerProcess } from '../session/server-process';

const READY_TIMEOUT_MS = 60_000;
const LOAD_TIMEOUT_MS = 600_000; // the load is bounded in time as well as in count
const TICK_MS = 250;
const STABLE_MS = 1500; // the same workers this long, the tree quiet: the server has forked them all
// The tree's CPU, % of one core, under which it counts as quiet. A master still forking works
// between its forks: Celery's, on a busy machine, used 50-100% of a core for 1.2-1.7 s between
// two pool processes, then ~0 once all three were up.
const QUIET_CPU = 20;
const STABLE_BUSY_MS = 6000; // the same workers this long settle a tree that is never quiet

export interface WorkerFigures {
  pid: number;
  uss: number | null;
  pss: number | null;
  rss: number | null;
  minflt: number | null;
  copied: number | null; // the parent's pages it no longer shares (pagemap), null where frames are hidden
  collections: number[] | null; // per generation, since fork (the agent)
  frozen: number | null;
}

export interface PassWorker {
  index: number; // 1-based, in fork order
  pid: number;
  before: WorkerFigures;
  after: WorkerFigures;
}

export interface ServerPass {
  freeze: boolean;
  implementation: string | null;
  master: { pid: number; before: WorkerFigures; after: WorkerFigures };
  workers: PassWorker[];
  replaced: number; // workers gone during the pass (killed, recycled): left out of the table
  load: { requests: number; ok: number; failed: number; seconds: number; command: string | null };
  pss: { before: number | null; after: number | null }; // the tree's sum (null: a process unreadable)
  /** The cgroup's usage and the tree's Σ PSS over the load and after it (container-need.ts). */
  memory: PassMemory;
  rss: { before: number | null; after: number | null };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function figures(p: ProcessSample | undefined, copied: number | null, pid: number): WorkerFigures {
  return {
    pid,
    uss: p?.uss ?? null,
    pss: p?.pss ?? null,
    rss: p?.rss ?? null,
    minflt: p?.minflt ?? null,
    copied,
    collections: p?.gc?.sinceFork ?? p?.gc?.stats?.map((s) => s.collections) ?? null,
    frozen: p?.gc?.frozen ?? null,
  };
}

class Watch {
  readonly tree: AttachedTree;
  private readonly sampler: Sampler;
  readonly peaks = new PeakWatch();
  snap: Snapshot | null = null;
  private last: Promise<unknown> = Promise.resolve();

  constructor(
    reader: ProcReader,
    readonly root: number,
  ) {
    this.tree = new AttachedTree(root, reader);
    this.sampler = new Sampler(reader, this.tree, { reuseRollups: false });
  }

  /** One sample; a tick asked for while one runs waits for it (the load's ticker and the pass's). */
  tick(): Promise<Snapshot> {
    const next = this.last.then(async () => {
      this.snap = await this.sampler.tick();
      await this.tree.observe(this.snap);
      this.peaks.observe(this.snap);
      return this.snap;
    });
    this.last = next.catch(() => {});
    return next;
  }

  workers(): ProcessSample[] {
    return (this.snap?.processes ?? [])
      .filter((p) => p.alive && p.role === 'worker')
      .sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
  }

  close(): void {
    this.sampler.close();
  }
}

/**
 * Waits until the workers are up, each with its agent's report, and the same set has run for
 * STABLE_MS with the tree quiet (or STABLE_BUSY_MS, quiet or not): servers fork their workers one
 * after another, Celery's pool on a busy machine with gaps longer than STABLE_MS, and a pass must
 * not start with some of them missing.
 */
async function settle(w: Watch, server: ServerProcess, tail: string[]): Promise<ProcessSample[]> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = '';
  let since = Date.now();
  let quietSince = Date.now();
  for (;;) {
    if (!server.alive) {
      const s = await server.exited;
      throw new UsageError(
        `the server stopped before its workers came up (${s.signal ?? `exit code ${s.code}`})${tail.length ? `: ${tail.slice(-3).join(' | ')}` : ''}`,
      );
    }
    if (Date.now() > deadline)
      throw new UsageError(
        `no workers with the gc agent after ${READY_TIMEOUT_MS / 1000} s: is COMMAND a Python pre-fork server?`,
      );
    await w.tick();
    const workers = w.workers();
    const key = workers.map((p) => p.pid).join(',');
    const now = Date.now();
    if (key !== last) since = now;
    // A process's first sample has no CPU% yet: it has just started, so not quiet.
    if (key !== last || !quiet(w.snap!)) quietSince = now;
    const steady = now - quietSince >= STABLE_MS || now - since >= STABLE_BUSY_MS;
    if (workers.length > 0 && steady && workers.every((p) => p.gc) && w.snap!.processes[0]?.gc) return workers;
    last = key;
    await sleep(TICK_MS);
  }
}

function quiet(s: Snapshot): boolean {
  const live = s.processes.filter((p) => p.alive);
  return live.every((p) => p.cpu !== null) && live.reduce((a, p) => a + p.cpu!, 0) < QUIET_CPU;
}

/** N requests over loopback, `concurrency` at a time on kept-alive connections. */
export async function sendRequests(
  url: string,
  requests: number,
  concurrency: number,
): Promise<{ ok: number; failed: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  let next = 0;
  let ok = 0;
  let failed = 0;
  const deadline = Date.now() + LOAD_TIMEOUT_MS;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const req = request(url, { agent, timeout: 10_000 }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode !== undefined && res.statusCode < 400) ok++;
          else failed++;
          resolve();
        });
        res.on('error', () => {
          failed++;
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        failed++;
        resolve();
      });
      req.end();
    });
  const lane = async (): Promise<void> => {
    while (next < requests && Date.now() < deadline) {
      next++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  agent.destroy();
  return { ok, failed };
}

/** --load-cmd: any load generator, an argument array (no shell), bounded in time. */
function runLoadCommand(command: string[]): Promise<{ ok: number; failed: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0], command.slice(1), { stdio: 'ignore', detached: true });
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    }, LOAD_TIMEOUT_MS);
    child.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        new UsageError(
          `cannot run --load-cmd ${command[0]}: ${err.code === 'ENOENT' ? 'not found' : (err.code ?? err.message)}`,
        ),
      );
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code === 0 ? { ok: 1, failed: 0 } : { ok: 0, failed: 1 });
    });
  });
}

export async function serverPass(
  run: RunOptions,
  freeze: boolean,
  load: LoadOptions,
  reader: ProcReader,
  onLine: (text: string) => void = () => {},
): Promise<ServerPass> {
  // A pass needs the workers' agents: a directory they cannot write is said now, not after a minute.
  const problem = agentDirProblem(process.geteuid?.() ?? 0);
  if (problem) throw new UsageError(`${problem}; run --compare needs the gc agent's data`);
  const server = lifecycle.track(await ServerProcess.start({ ...run, freeze, keep: false }));
  const tail: string[] = [];
  server.on('log', (l: { text: string }) => {
    tail.push(l.text);
    if (tail.length > 20) tail.shift();
  });
  const w = new Watch(reader, server.pid);
  try {
    const workers = await settle(w, server, tail);
    const pids = workers.map((p) => p.pid);
    const master = () => w.snap!.processes.find((p) => p.pid === server.pid);
    const copiedBefore = (await copiedSinceFork(reader, server.pid, pids)).copied;
    const before = new Map(workers.map((p) => [p.pid, figures(p, copiedBefore.get(p.pid) ?? null, p.pid)]));
    const masterBefore = figures(master(), null, server.pid);
    const totalsBefore = w.snap!.totals;
    onLine(
      `${freeze ? 'with the freeze recipe' : 'as it is'}: pid ${server.pid}, ${workers.length} workers; sending the load`,
    );
    const started = Date.now();
    // Sampled through the load as well: the container's peak may be under it (or at the start).
    const ticker = setInterval(() => void w.tick().catch(() => {}), TICK_MS);
    let sent: { ok: number; failed: number };
    try {
      sent = load.command
        ? await runLoadCommand(load.command)
        : await sendRequests(load.url!, load.requests, load.concurrency ?? workers.length);
    } finally {
      clearInterval(ticker);
    }
    const seconds = (Date.now() - started) / 1000;
    // The agents write once a second: wait for a report written after the load ended. A
    // snapshot's rows carry the agent state read after the tick before it: one tick more.
    const loadEnd = Date.now() / 1000;
    for (let i = 0; i < 12; i++) {
      await sleep(TICK_MS);
      await w.tick();
      if (pids.every((pid) => !w.tree.gc.has(pid) || (w.tree.gcAt.get(pid) ?? 0) > loadEnd)) break;
    }
    await w.tick();
    const alive = w.workers().filter((p) => pids.includes(p.pid));
    const copiedAfter = (
      await copiedSinceFork(
        reader,
        server.pid,
        alive.map((p) => p.pid),
      )
    ).copied;
    const result: ServerPass = {
      freeze,
      implementation: w.tree.implementation,
      master: { pid: server.pid, before: masterBefore, after: figures(master(), null, server.pid) },
      workers: alive.map((p) => ({
        index: (p.index ?? 0) + 1,
        pid: p.pid,
        before: before.get(p.pid)!,
        after: figures(p, copiedAfter.get(p.pid) ?? null, p.pid),
      })),
      replaced: pids.length - alive.length,
      load: {
        requests: load.command ? 0 : load.requests,
        ok: sent.ok,
        failed: sent.failed,
        seconds,
        command: load.command ? load.command.join(' ') : null,
      },
      pss: { before: totalsBefore.pss, after: w.snap!.totals.pss },
      rss: { before: totalsBefore.rss, after: w.snap!.totals.rss },
      memory: w.peaks.memory,
    };
    return result;
  } finally {
    w.close();
    await lifecycle.untrack(server);
  }
}
