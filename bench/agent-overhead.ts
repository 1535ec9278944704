/**
 * The gc agent's cost to the server it runs in (issue 13: under 2%): requests per second of a
 * real gunicorn + Flask app with 2 sync workers, without and with the agent injected as `cowtop
 * run` injects it, the same load (kept-alive loopback requests, 2 at a time) each. Rounds
 * alternate which goes first, so drift on this shared machine falls on both alike.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { sendRequests } from '../src/session/server-pass';
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

async function rate(withAgent: boolean, port: number, requests: number): Promise<number> {
  const base = { ...process.env };
  delete base.COWTOP_AGENT;
  const env = withAgent ? serverEnv(base, { freeze: false, keep: true, graceMs: 5000 }) : base;
  const child = spawn('/usr/bin/gunicorn', ['--preload', '-w', '2', '-b', `127.0.0.1:${port}`, 'app:app'], { cwd: APP, env, stdio: 'ignore' });
  try {
    await up(port);
    await sendRequests(`http://127.0.0.1:${port}/`, 500, 2); // warm-up: imports, caches, first collections
    const t0 = process.hrtime.bigint();
    const r = await sendRequests(`http://127.0.0.1:${port}/`, requests, 2);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.failed) throw new Error(`${r.failed} requests failed`);
    return r.ok / s;
  } finally {
    await stop(child);
  }
}

export async function agentOverhead(rounds = 8, requests = 4000, port = 18_571): Promise<unknown> {
  const plain: number[] = [];
  const agent: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const order = i % 2 === 0 ? [false, true] : [true, false];
    for (const a of order) (a ? agent : plain).push(await rate(a, port, requests));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const ratios = plain.map((p, i) => agent[i] / p);
  return {
    rounds,
    requests,
    plainRps: plain.map(Math.round),
    agentRps: agent.map(Math.round),
    medianPlain: Math.round(median(plain)),
    medianAgent: Math.round(median(agent)),
    // agent / plain in the same round, then the median over rounds: 1.00 is no cost.
    medianRatio: Number(median(ratios).toFixed(4)),
    difference: `${((1 - median(ratios)) * 100).toFixed(2)}%`,
  };
}
