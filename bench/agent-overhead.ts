/**
 * The gc agent's cost to the server it runs in (issue 13: under 2%): requests per second of a
 * real gunicorn + Flask app with 2 sync workers, without and with the agent injected as `cowtop
 * run` injects it, the same load (kept-alive loopback requests, 2 at a time) each. Rounds
 * alternate which goes first, so drift on this shared machine falls on both alike.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sendRequests } from '../src/measure/server-pass';
import { serverEnv } from '../src/session/server-process';

const APP = join(__dirname, '..', '..', 'test', 'fixtures', 'gunicorn');

async function up(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const r = await sendRequests(`http://127.0.0.1:${port}/`, 1, 1);
    if (r.ok === 1) return;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error('gunicorn did not answer');
}

async function stop(child: ChildProcess): Promise<void> {
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await gone;
}

/** utime + stime of the server's processes (the master and its workers), clock ticks. */
function cpuTicks(master: number): number {
  const ticks = (pid: number): number => {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return Number(f[11]) + Number(f[12]);
    } catch {
      return 0;
    }
  };
  const kids = readFileSync(`/proc/${master}/task/${master}/children`, 'utf8')
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map(Number);
  return [master, ...kids].reduce((a, p) => a + ticks(p), 0);
}

/**
 * CPU time (ns, /proc/PID/task/TID/schedstat) of the server's threads: all, and the ones that
 * are not a process's main thread. A sync gunicorn worker and its master run no thread of their
 * own, so with the agent those are the agent's writers: its cost, measured apart from the noise.
 */
function threadNs(master: number): { all: number; extra: number } {
  const kids = readFileSync(`/proc/${master}/task/${master}/children`, 'utf8')
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map(Number);
  let all = 0;
  let extra = 0;
  for (const pid of [master, ...kids]) {
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        const ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
        all += ns;
        if (Number(tid) !== pid) extra += ns;
      } catch {
        // gone
      }
    }
  }
  return { all, extra };
}

async function rate(
  withAgent: boolean,
  port: number,
  requests: number,
): Promise<{ rps: number; cpuMsPerRequest: number; threadShare: number }> {
  const base = { ...process.env };
  delete base.COWTOP_AGENT;
  const env = withAgent ? serverEnv(base, { freeze: false, keep: true, graceMs: 5000 }, 'bench') : base;
  const child = spawn('/usr/bin/gunicorn', ['--preload', '-w', '2', '-b', `127.0.0.1:${port}`, 'app:app'], {
    cwd: APP,
    env,
    stdio: 'ignore',
  });
  try {
    await up(port);
    await sendRequests(`http://127.0.0.1:${port}/`, 500, 2); // warm-up: imports, caches, first collections
    const c0 = cpuTicks(child.pid!);
    const n0 = threadNs(child.pid!);
    const t0 = process.hrtime.bigint();
    const r = await sendRequests(`http://127.0.0.1:${port}/`, requests, 2);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    const c1 = cpuTicks(child.pid!);
    const n1 = threadNs(child.pid!);
    if (r.failed) throw new Error(`${r.failed} requests failed`);
    // USER_HZ is 100 on Linux: a tick is 10 ms.
    return {
      rps: r.ok / s,
      cpuMsPerRequest: ((c1 - c0) * 10) / r.ok,
      threadShare: (n1.extra - n0.extra) / Math.max(1, n1.all - n0.all),
    };
  } finally {
    await stop(child);
  }
}

export async function agentOverhead(rounds = 8, requests = 4000, port = 18_571): Promise<unknown> {
  const plain: Array<{ rps: number; cpuMsPerRequest: number; threadShare: number }> = [];
  const agent: typeof plain = [];
  for (let i = 0; i < rounds; i++) {
    const order = i % 2 === 0 ? [false, true] : [true, false];
    for (const a of order) (a ? agent : plain).push(await rate(a, port, requests));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const rpsRatio = median(plain.map((p, i) => agent[i].rps / p.rps));
  // The server's own CPU per request: what the agent's thread adds, less blurred by scheduling.
  const cpuRatio = median(plain.map((p, i) => agent[i].cpuMsPerRequest / p.cpuMsPerRequest));
  return {
    rounds,
    requests,
    plainRps: plain.map((x) => Math.round(x.rps)),
    agentRps: agent.map((x) => Math.round(x.rps)),
    plainCpuMsPerRequest: plain.map((x) => Number(x.cpuMsPerRequest.toFixed(3))),
    agentCpuMsPerRequest: agent.map((x) => Number(x.cpuMsPerRequest.toFixed(3))),
    // agent / plain in the same round, then the median over rounds: 1.00 is no cost.
    rpsRatio: Number(rpsRatio.toFixed(4)),
    rpsDifference: `${((1 - rpsRatio) * 100).toFixed(2)}%`,
    cpuRatio: Number(cpuRatio.toFixed(4)),
    cpuDifference: `${((cpuRatio - 1) * 100).toFixed(2)}%`,
    // The agent's writer threads' share of the server's CPU during the load (0 without it).
    agentThreadShare: `${(median(agent.map((x) => x.threadShare)) * 100).toFixed(3)}%`,
    plainThreadShare: `${(median(plain.map((x) => x.threadShare)) * 100).toFixed(3)}%`,
  };
}
