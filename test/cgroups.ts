/**
 * Real v1 memory cgroups for tests (these machines mount v1 memory, writable by root): made
 * under /sys/fs/cgroup/memory/cowtop-test-TAG/, shaped like Docker's (docker/<64 hex>), and
 * removed by the test that made them once the processes in them are gone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { alive, FIXTURES, TEST_TAG, waitUntil } from './helpers';
import { children } from './gunicorn';

const V1 = '/sys/fs/cgroup/memory';
let made = 0;

/** Whether this machine can make v1 memory cgroups (root, the hierarchy mounted). */
export function canMakeV1(): string | false {
  if (process.getuid?.() !== 0) return 'making cgroups needs root';
  if (!existsSync(join(V1, 'cgroup.procs'))) return 'no v1 memory hierarchy at /sys/fs/cgroup/memory';
  return false;
}

export interface TestCgroup {
  /** As /proc/PID/cgroup names it. */
  path: string;
  dir: string;
  /** The directories made, deepest last. */
  dirs: string[];
  file: (name: string) => string;
}

/** A Docker-shaped cgroup, its limit on the leaf or on the parent (hierarchical_memory_limit). */
export function makeCgroup(limit: number, on: 'leaf' | 'parent'): TestCgroup {
  const id = `${TEST_TAG.replace(/[^0-9a-z]/g, '')
    .padEnd(8, '0')
    .slice(0, 8)}${String(made++).padStart(4, '0')}`;
  const hex = Buffer.from(id).toString('hex').padEnd(64, 'c').slice(0, 64);
  const top = `/cowtop-test-${TEST_TAG}-${made}`;
  const path = `${top}/docker/${hex}`;
  const dirs = [top, `${top}/docker`, path].map((p) => join(V1, p));
  for (const d of dirs) mkdirSync(d);
  writeFileSync(join(on === 'leaf' ? dirs[2] : dirs[0], 'memory.limit_in_bytes'), String(limit));
  return { path, dir: dirs[2], dirs, file: (name) => readFileSync(join(dirs[2], name), 'utf8') };
}

// A fixed script: it moves itself into the cgroup, then becomes the command it is given.
const ENTER = 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"';

/** A command line that moves itself into the cgroup, then execs command. */
export const enterCommand = (cg: TestCgroup, command: string[]): string[] => [
  '/bin/sh',
  '-c',
  ENTER,
  'sh',
  cg.dir,
  ...command,
];

/** command, started inside the cgroup (it moves itself in, then execs). */
export function spawnIn(
  cg: TestCgroup,
  command: string[],
  stdio: 'ignore' | 'pipe' = 'ignore',
  env: NodeJS.ProcessEnv = process.env,
): ChildProcess {
  const [file, ...args] = enterCommand(cg, command);
  return spawn(file, args, { stdio: ['ignore', stdio, stdio], env });
}

/**
 * Its own cgroup and mount namespaces, as a container's: its /sys/fs/cgroup/memory shows only
 * the cgroup it is in. A fixed script; the command comes after it.
 */
export const OWN_CGROUP_NS = [
  'unshare',
  '--cgroup',
  '--mount',
  '/bin/sh',
  '-c',
  // A tmpfs first, as a runtime does: the host's mount of the hierarchy is busy.
  'mount -t tmpfs cowtop-test /sys/fs/cgroup && mkdir /sys/fs/cgroup/memory && mount -t cgroup -o memory cgroup /sys/fs/cgroup/memory && exec "$@"',
  'sh',
];

/** tree.py (a parent and n children) inside the cgroup; child 1 allocates once trigger exists. */
export async function treeIn(cg: TestCgroup, trigger: string, n = 2, prefix: string[] = []): Promise<ChildProcess> {
  const proc = spawnIn(cg, [...prefix, 'python3', join(FIXTURES, 'cgroup', 'tree.py'), trigger, String(n)]);
  try {
    await waitUntil(() => children(proc.pid!).length === n, 10_000, 'the tree in its cgroup');
  } catch (e) {
    await removeCgroup(cg, proc); // the caller gets no tree to clean up after
    throw e;
  }
  return proc;
}

/** Kills the tree, then removes the cgroup's directories once nothing is left in them. */
export async function removeCgroup(cg: TestCgroup, tree: ChildProcess | null): Promise<void> {
  if (tree?.pid) {
    const kids = children(tree.pid);
    for (const p of [tree.pid, ...kids]) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {}
    }
    await waitUntil(() => ![tree.pid!, ...kids].some(alive), 10_000, 'the tree to go');
  }
  for (const d of [...cg.dirs].reverse()) {
    await waitUntil(
      () => {
        try {
          rmdirSync(d);
          return true;
        } catch (e: any) {
          return e.code === 'ENOENT';
        }
      },
      10_000,
      `cgroup ${d} removed`,
    );
  }
}
