/**
 * The memory cgroup a tree runs in (a container's, a systemd service's): what it is charged,
 * its limit, and the OOM kills in it. v2 (memory.current, memory.max, memory.high, memory.stat,
 * memory.events) and v1 (memory.usage_in_bytes, memory.limit_in_bytes, memory.stat,
 * memory.failcnt, memory.oom_control); kernel docs admin-guide/cgroup-v2.rst and
 * cgroup-v1/memory.rst. The parsers are pure; readCgroupMemory reads the files.
 */
import { constants, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { sanitize } from '../format/sanitize';
import { parseCgroupLimit } from './parse';

export interface CgroupMemory {
  readonly version: 1 | 2;
  /** As /proc/PID/cgroup names it (sanitized: a container runtime chose it). */
  readonly path: string;
  readonly usage: number | null; // bytes charged, page cache included
  /** The lowest limit on it and on its ancestors (a pod's limit over a container's); null: none. */
  readonly limit: number | null;
  readonly high: number | null; // v2 memory.high: throttled past it
  readonly anon: number | null; // memory.stat anon (v2) / total_rss (v1)
  readonly file: number | null; // page cache: file (v2) / total_cache (v1)
  readonly shmem: number | null;
  /** Processes the kernel's OOM killer killed in it since it was made (v1 needs Linux 4.19). */
  readonly oomKills: number | null;
  /** Times it hit its limit: oom events (v2) or failcnt (v1). */
  readonly limitHits: number | null;
  /** The pids in it (cgroup.procs, its own, not its descendants'), at most PIDS_CAP. */
  readonly pids: readonly number[] | null;
}

const PIDS_CAP = 100_000;

/** "key value" lines (memory.stat, memory.events, memory.oom_control). */
export function parseFlatKeyed(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+) (\d+)$/.exec(line.trim());
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

const num = (text: string | null): number | null => {
  const t = text?.trim();
  return t && /^\d+$/.test(t) ? Number(t) : null;
};

const lowest = (limits: Array<number | null>): number | null => {
  const set = limits.filter((l): l is number => l !== null);
  return set.length ? Math.min(...set) : null;
};

/** The files of one cgroup directory, by name (null: absent). */
export type CgroupFiles = Record<string, string | null>;

/** What one cgroup's files say; ancestors' limit files (v2) come in as ancestorMax. */
export function cgroupMemoryOf(
  version: 1 | 2,
  cgPath: string,
  f: CgroupFiles,
  ancestorMax: Array<string | null> = [],
): CgroupMemory {
  const stat = parseFlatKeyed(f['memory.stat'] ?? '');
  const pids =
    f['cgroup.procs'] === null || f['cgroup.procs'] === undefined
      ? null
      : // v1 may list a process once per thread ("not free of duplicate TGIDs"): once each here.
        [
          ...new Set(
            f['cgroup.procs']
              .split('\n')
              .filter((l) => /^\d+$/.test(l))
              .slice(0, PIDS_CAP)
              .map(Number),
          ),
        ];
  const limitOf = (t: string | null | undefined): number | null => (t == null ? null : parseCgroupLimit(t));
  if (version === 2) {
    const events = parseFlatKeyed(f['memory.events'] ?? '');
    return {
      version,
      path: sanitize(cgPath),
      usage: num(f['memory.current'] ?? null),
      limit: lowest([limitOf(f['memory.max']), ...ancestorMax.map(limitOf)]),
      high: limitOf(f['memory.high']),
      anon: stat.anon ?? null,
      file: stat.file ?? null,
      shmem: stat.shmem ?? null,
      oomKills: events.oom_kill ?? null,
      limitHits: events.oom ?? events.max ?? null,
      pids,
    };
  }
  const oom = parseFlatKeyed(f['memory.oom_control'] ?? '');
  // hierarchical_memory_limit: the lowest limit of it and its ancestors, as v1 enforces it.
  const hier = stat.hierarchical_memory_limit;
  return {
    version,
    path: sanitize(cgPath),
    usage: num(f['memory.usage_in_bytes'] ?? null),
    limit: lowest([limitOf(f['memory.limit_in_bytes']), hier === undefined ? null : limitOf(String(hier))]),
    high: null,
    anon: stat.total_rss ?? stat.rss ?? null,
    file: stat.total_cache ?? stat.cache ?? null,
    shmem: stat.total_shmem ?? stat.shmem ?? null,
    oomKills: oom.oom_kill ?? null,
    limitHits: num(f['memory.failcnt'] ?? null),
    pids,
  };
}

const V1_FILES = [
  'memory.usage_in_bytes',
  'memory.limit_in_bytes',
  'memory.stat',
  'memory.failcnt',
  'memory.oom_control',
  'cgroup.procs',
];
const V2_FILES = ['memory.current', 'memory.max', 'memory.high', 'memory.stat', 'memory.events', 'cgroup.procs'];
const FILE_CAP = 1 << 20; // cgroup.procs of 100,000 pids; the others are a few hundred bytes

async function readCapped(file: string, flags: number = constants.O_RDONLY): Promise<string | null> {
  let fh: fs.FileHandle | null = null;
  try {
    fh = await fs.open(file, flags);
    const buf = Buffer.alloc(FILE_CAP);
    let n = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, null);
      if (bytesRead === 0 || n + bytesRead >= buf.length) return buf.toString('utf8', 0, n + bytesRead);
      n += bytesRead;
    }
  } catch {
    return null;
  } finally {
    await fh?.close().catch(() => {});
  }
}

/**
 * Where a cgroup's files are: the hierarchy's mount, or (inside a container with its own
 * cgroup namespace, where /proc/PID/cgroup says "/") the mount's root itself.
 */
function candidates(version: 1 | 2, cgPath: string, root: string): string[] {
  const rel = cgPath.replace(/^\/+/, '');
  if (rel.split('/').includes('..')) return [];
  return version === 1
    ? [path.join(root, 'memory', rel), path.join(root, 'memory')]
    : [path.join(root, rel), path.join(root, 'unified', rel), root];
}

/** One cgroup's memory as its files say now; null when they cannot be read. */
export async function readCgroupMemory(
  version: 1 | 2,
  cgPath: string,
  root = '/sys/fs/cgroup',
): Promise<CgroupMemory | null> {
  for (const dir of candidates(version, cgPath, root)) {
    const files: CgroupFiles = {};
    const names = version === 1 ? V1_FILES : V2_FILES;
    const texts = await Promise.all(names.map((n) => readCapped(path.join(dir, n))));
    if (texts[0] === null) continue; // memory.usage_in_bytes / memory.current: not this directory
    for (const [i, n] of names.entries()) files[n] = texts[i];
    if (version === 1) return cgroupMemoryOf(1, cgPath, files);
    // A pod's limit sits on the pod's cgroup, above the container's: the lowest one holds.
    const ancestors: string[] = [];
    for (let d = path.dirname(dir); d.length > root.length && d.startsWith(root); d = path.dirname(d))
      ancestors.push(path.join(d, 'memory.max'));
    return cgroupMemoryOf(2, cgPath, files, await Promise.all(ancestors.map(readCapped)));
  }
  return null;
}

/**
 * The cgroup as the process's own mount namespace shows it, for a cgroup this namespace cannot
 * reach: a sidecar in its own cgroup namespace sees its pod neighbour's cgroup as "/../<id>",
 * and its /sys/fs/cgroup holds only itself. The neighbour's /sys/fs/cgroup (a cgroup namespace's
 * mount shows its root: the container's cgroup) is opened beneath /proc/PID/root without
 * following a link, and trusted only if its cgroup.procs holds pid.
 */
export async function readCgroupMemoryVia(
  version: 1 | 2,
  cgPath: string,
  pidRoot: string,
  pid: number,
): Promise<CgroupMemory | null> {
  const names = version === 1 ? ['sys', 'fs', 'cgroup', 'memory'] : ['sys', 'fs', 'cgroup'];
  const flags = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
  const opened: fs.FileHandle[] = [];
  try {
    // pidRoot itself is the kernel's link to that process's root: followed on purpose.
    opened.push(await fs.open(pidRoot, constants.O_RDONLY | constants.O_DIRECTORY));
    for (const n of names) opened.push(await fs.open(`/proc/self/fd/${opened[opened.length - 1].fd}/${n}`, flags));
    const dir = `/proc/self/fd/${opened[opened.length - 1].fd}`;
    const list = version === 1 ? V1_FILES : V2_FILES;
    const texts = await Promise.all(
      list.map((n) => readCapped(path.join(dir, n), constants.O_RDONLY | constants.O_NOFOLLOW)),
    );
    const files: CgroupFiles = {};
    for (const [i, n] of list.entries()) files[n] = texts[i];
    const mem = texts[0] === null ? null : cgroupMemoryOf(version, cgPath, files);
    return mem?.pids?.includes(pid) ? mem : null;
  } catch {
    return null;
  } finally {
    await Promise.all(opened.map((h) => h.close().catch(() => {})));
  }
}
