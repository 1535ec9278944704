/** Shared by the integration tests: run the real cowtop, check which processes are alive. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { parseSmapsRollup } from '../src/proc/parse';
import type { Snapshot } from '../src/sample/snapshot';

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
  return spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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

export async function waitUntil(
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
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

// Every cowtop a test starts keeps its settings file here, never in the user's own ~/.config.
const CONFIG_HOME = mkdtempSync(join(tmpdir(), 'cowtop-config-'));
process.env.XDG_CONFIG_HOME = CONFIG_HOME;
process.on('exit', () => rmSync(CONFIG_HOME, { recursive: true, force: true }));
let configs = 0;
/** A settings home of its own for one dashboard: what one test pressed never starts the next. */
export const freshConfigHome = (): string => join(CONFIG_HOME, String(++configs));

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
      if (
        readFileSync(`/proc/${name}/cmdline`, 'utf8').includes('cowtop_experiment') &&
        ours(Number(name)) &&
        alive(Number(name))
      )
        out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out;
}

/** Reads the JSON lines of a batch run until pred says enough. */
export function collectLines(
  child: ChildProcess,
  pred: (records: any[]) => boolean,
  timeoutMs: number,
): Promise<any[]> {
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

/** The first line a stream prints: with PYTHONUNBUFFERED set, Python's print writes each piece on its own. */
export function firstLine(stream: Readable): Promise<string> {
  let buf = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      stream.off('data', onData);
      resolve(buf.slice(0, nl));
    };
    stream.on('data', onData);
    stream.once('end', () => reject(new Error(`the stream ended before a line; got ${JSON.stringify(buf)}`)));
  });
}

/**
 * A root that maps an 8 MiB file and an outsider (in no tree of the root's) that maps the same
 * pages: they share them, so they count in neither's USS. When the outsider exits (leave()),
 * the root's pages become its own and its USS jumps by the file's size, though nothing in the
 * root moved.
 */
export async function outsideSharer(): Promise<{
  root: ChildProcess;
  ussNow: () => number;
  leave: () => Promise<void>;
  stop: () => void;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'cowtop-sharer-'));
  const file = join(dir, 'shared.bin');
  writeFileSync(file, Buffer.alloc(8 * 1048576, 1));
  // Reads every page of the file; with an argument it exits when its stdin closes.
  const code = `import mmap, sys, time\nf = open(${JSON.stringify(file)}, "rb")\nm = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)\ns = sum(m[i] for i in range(0, len(m), 4096))\nprint("ready", flush=True)\nsys.stdin.read() if len(sys.argv) > 1 else time.sleep(120)\n`;
  const root = spawn('python3', ['-c', code], { stdio: ['pipe', 'pipe', 'inherit'] });
  const outsider = spawn('python3', ['-c', code, 'wait'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const stop = () => {
    root.kill('SIGKILL');
    outsider.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all([firstLine(root.stdout!), firstLine(outsider.stdout!)]);
  } catch (e) {
    stop();
    throw e;
  }
  const ussNow = () => parseSmapsRollup(readFileSync(`/proc/${root.pid}/smaps_rollup`, 'utf8'))!.uss;
  const leave = async () => {
    const exited = new Promise((r) => outsider.once('exit', r));
    outsider.stdin!.end();
    await exited;
  };
  return { root, ussNow, leave, stop };
}

/** The least an outside sharer's exit adds to the root's USS: its 8 MiB file, less a page or so of slack. */
export const SHARED_FILE_GROWTH = 7 * 1048576;

/**
 * Ticks every 500 ms until the root's USS as sampled has grown by the shared file since `shown`
 * (the figure before the outsider left): a rollup read after the exit. Not equality with /proc:
 * other Pythons on the machine (npm test runs two files at once) map the root's libpython pages
 * as they start and exit, which moves its USS by a few pages between any read and the next.
 * Returns the ms that took, or null past limitMs.
 */
export async function msToCatchUp(
  tick: () => Promise<Snapshot>,
  shown: number,
  since: number,
  limitMs: number,
): Promise<number | null> {
  while (Date.now() - since < limitMs) {
    await sleep(500);
    if ((await tick()).processes[0].uss! - shown >= SHARED_FILE_GROWTH) return Date.now() - since;
  }
  return null;
}

let unprivileged: string | null = null;

/**
 * cowtop as another user can run it: bin/, dist/src/, package.json and the runtime packages,
 * copied once per test file to a world-readable temporary directory. A checkout under a private
 * directory (root's home, a 0700 mktemp -d) cannot be read by nobody; the copy can. Returns the
 * copy's root (its bin/cowtop.js and dist/src/ mirror the checkout's); removed when the file ends.
 */
export function unprivilegedCopy(): string {
  if (unprivileged) return unprivileged;
  const fs = require('node:fs') as typeof import('node:fs');
  const dir = mkdtempSync(join(tmpdir(), 'cowtop-unpriv-'));
  fs.chmodSync(dir, 0o755);
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  for (const part of ['bin', 'dist/src', 'python', 'package.json'])
    fs.cpSync(join(ROOT, part), join(dir, part), { recursive: true });
  // The runtime packages and what they need (npm's layout here is flat).
  const seen = new Set<string>();
  const want = (name: string): void => {
    if (seen.has(name) || !fs.existsSync(join(ROOT, 'node_modules', name, 'package.json'))) return;
    seen.add(name);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8'));
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) want(dep);
  };
  for (const dep of Object.keys(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).dependencies)) want(dep);
  for (const name of seen)
    fs.cpSync(join(ROOT, 'node_modules', name), join(dir, 'node_modules', name), { recursive: true });
  // Every level readable and searchable by others, whatever the umask made of the copies.
  const open = (p: string): void => {
    const st = fs.lstatSync(p);
    if (st.isSymbolicLink()) return;
    fs.chmodSync(p, st.isDirectory() ? 0o755 : st.mode & 0o111 ? 0o755 : 0o644);
    if (st.isDirectory()) for (const n of fs.readdirSync(p)) open(join(p, n));
  };
  open(dir);
  return (unprivileged = dir);
}

/**
 * A full disk for a test: a tmpfs of one page, mounted on a fresh directory (root only), passed
 * to fn, unmounted after. cowtop writes only regular files, so a device like /dev/full is no
 * stand-in for it.
 */
export async function withFullDisk(fn: (dir: string) => Promise<void>): Promise<void> {
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const dir = mkdtempSync(join(tmpdir(), 'cowtop-fulldisk-'));
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4k', 'tmpfs', dir], { encoding: 'utf8' });
  if (m.status !== 0) throw new Error(`cannot mount a small tmpfs: ${m.stderr}`);
  try {
    await fn(dir);
  } finally {
    spawnSync('umount', ['-l', dir]);
    rmSync(dir, { recursive: true, force: true });
  }
}
