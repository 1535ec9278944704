/** Shared by the integration tests: run the real cowtop, check which processes are alive. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');
export const BIN = join(ROOT, 'bin', 'cowtop.js');
export const FIXTURES = join(ROOT, 'test', 'fixtures');

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 120_000): Promise<RunResult> {
  return finished(startCli(args, env), timeoutMs);
}

export function finished(child: ChildProcess, timeoutMs = 120_000): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => (stdout += d));
  child.stderr?.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out; stdout so far: ${stdout.slice(-500)} stderr: ${stderr.slice(-500)}`));
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export function alive(pid: number): boolean {
  try {
    // A zombie still answers kill(0); it holds no memory, so it does not count.
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').pop()!.split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Every process this test file starts carries this tag in its environment (set here, inherited
 * by every spawn, every cowtop and every Python under it), so that "nothing left running" looks
 * only at what this file started: a user's own cowtop beside `npm test` is none of its business.
 */
export const TEST_TAG = `${process.pid}-${Math.random().toString(36).slice(2)}`;
process.env.COWTOP_TEST_TAG = TEST_TAG;

/** Whether pid was started by this test file (its environment carries our tag). */
export function ours(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`COWTOP_TEST_TAG=${TEST_TAG}`);
  } catch {
    return false;
  }
}

/** The experiment processes this test file started that are still alive: none may outlive a test. */
export function experimentPids(): number[] {
  const { readdirSync } = require('node:fs') as typeof import('node:fs');
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes('cowtop_experiment') && ours(Number(name)) && alive(Number(name))) out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out;
}

/** Reads the JSON lines of a batch run until pred says enough. */
export function collectLines(child: ChildProcess, pred: (records: any[]) => boolean, timeoutMs: number): Promise<any[]> {
  const records: any[] = [];
  let buf = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out; got ${records.length} records`)), timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) if (l.trim()) records.push(JSON.parse(l));
      if (pred(records)) {
        clearTimeout(timer);
        resolve(records);
      }
    });
  });
}

/** A loopback port nobody listens on now, for a server a test starts. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
