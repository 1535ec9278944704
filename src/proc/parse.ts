import { sanitize } from '../format/sanitize';

/** Memory figures of one process from /proc/PID/smaps_rollup, in bytes. */
export interface SmapsRollup {
  rss: number;
  pss: number;
  uss: number; // privateClean + privateDirty (smem's definition)
  pssAnon?: number;
  pssFile?: number;
  pssShmem?: number;
  pssDirty?: number;
  sharedClean: number;
  sharedDirty: number;
  privateClean: number;
  privateDirty: number;
  swap?: number;
  swapPss?: number;
}

const FIELDS: Record<string, keyof SmapsRollup> = {
  Rss: 'rss',
  Pss: 'pss',
  Pss_Anon: 'pssAnon',
  Pss_File: 'pssFile',
  Pss_Shmem: 'pssShmem',
  Pss_Dirty: 'pssDirty',
  Shared_Clean: 'sharedClean',
  Shared_Dirty: 'sharedDirty',
  Private_Clean: 'privateClean',
  Private_Dirty: 'privateDirty',
  Swap: 'swap',
  SwapPss: 'swapPss',
};

const REQUIRED: Array<keyof SmapsRollup> = ['rss', 'pss', 'sharedClean', 'sharedDirty', 'privateClean', 'privateDirty'];

/**
 * Parses smaps_rollup (or a single smaps block). Fields the kernel does not print are left out,
 * never reported as zero. Returns null when the text lacks the fields every kernel since 4.14 has
 * (empty or truncated text).
 */
export function parseSmapsRollup(text: string): SmapsRollup | null {
  const out: Partial<Record<keyof SmapsRollup, number>> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_]+):\s+(\d+) kB\s*$/.exec(line);
    if (!m) continue;
    const key = FIELDS[m[1]];
    if (key) out[key] = Number(m[2]) * 1024;
  }
  for (const k of REQUIRED) if (out[k] === undefined) return null;
  out.uss = out.privateClean! + out.privateDirty!;
  return out as SmapsRollup;
}
/** The fields of /proc/PID/stat that cowtop uses (man 5 proc_pid_stat). */
export interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  flags: number; // PF_* (PF_KTHREAD: a kernel thread)
  minflt: number;
  cminflt: number;
  majflt: number;
  cmajflt: number;
  utime: number; // clock ticks
  stime: number;
  numThreads: number;
  starttime: number; // clock ticks after boot: with pid, tells a reused pid apart
  vsize: number;
  rssPages: number;
}

/**
 * Parses /proc/PID/stat. The command name sits in parentheses and may itself hold spaces and
 * ')', so the fields are split after the last ')'. Returns null for empty or truncated text.
 */
export function parseStat(text: string): ProcStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  const rest = text.slice(close + 1).trim().split(/\s+/);
  // rest[0] is field 3 (state); field n is rest[n - 3].
  const f = (n: number): number => Number(rest[n - 3]);
  // state is one letter (R, S, D, Z...): anything else is not a stat line.
  if (rest.length < 22 || !Number.isInteger(pid) || !/^[A-Za-z]$/.test(rest[0])) return null;
  const stat: ProcStat = {
    pid,
    comm: sanitize(text.slice(open + 1, close)), // anyone can name a process anything
    state: rest[0],
    ppid: f(4),
    flags: f(9),
    minflt: f(10),
    cminflt: f(11),
    majflt: f(12),
    cmajflt: f(13),
    utime: f(14),
    stime: f(15),
    numThreads: f(20),
    starttime: f(22),
    vsize: f(23),
    rssPages: f(24),
  };
  for (const v of Object.values(stat)) if (typeof v === 'number' && !Number.isFinite(v)) return null;
  return stat;
}

export const PF_KTHREAD = 0x00200000;

/** /proc/PID/task/TID/children: space-separated pids. */
export function parseChildren(text: string): number[] {
  return text.split(/\s+/).filter((s) => /^\d+$/.test(s)).map(Number);
}

/** MemAvailable and MemTotal from /proc/meminfo, in bytes. */
export function parseMeminfo(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^(\w+(?:\(\w+\))?):\s+(\d+)(?: kB)?/.exec(line);
    if (m) out[m[1]] = Number(m[2]) * (line.includes('kB') ? 1024 : 1);
  }
  return out;
}

/** Where this process's memory cgroup lives, from /proc/self/cgroup (v2 "0::/path", v1 "N:memory:/path"). */
export function parseCgroupPaths(text: string): { v2: string | null; v1Memory: string | null } {
  let v2: string | null = null;
  let v1Memory: string | null = null;
  for (const line of text.split('\n')) {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line.trim()) ?? [];
    if (path === undefined) continue;
    if (controllers === '') v2 = path;
    else if (controllers.split(',').includes('memory')) v1Memory = path;
  }
  return { v2, v1Memory };
}

/** A cgroup memory limit file: "max" (v2) or a number; absurdly large v1 values mean no limit. */
export function parseCgroupLimit(text: string): number | null {
  const t = text.trim();
  if (t === 'max' || !/^\d+$/.test(t)) return null;
  const n = Number(t);
  return n >= 2 ** 60 ? null : n;
}

/** One counter of /proc/vmstat (e.g. oom_kill), or null when the kernel has none. */
export function parseVmstatField(text: string, field: string): number | null {
  const m = new RegExp(`^${field} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : null;
}

/** One line of /proc/PID/maps. */
export interface Mapping {
  start: number;
  end: number;
  perms: string; // e.g. rw-p
  offset: number;
  inode: number;
  path: string; // '' for anonymous memory; [heap], [stack], a file...
}

/** Parses /proc/PID/maps; lines that do not parse are skipped. */
export function parseMaps(text: string): Mapping[] {
  const out: Mapping[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) ([r-][w-][x-][ps]) ([0-9a-f]+) [0-9a-f]+:[0-9a-f]+ (\d+)\s*(.*)$/.exec(line);
    if (!m) continue;
    const start = parseInt(m[1], 16);
    const end = parseInt(m[2], 16);
    if (!(end > start) || !Number.isSafeInteger(end)) continue;
    out.push({ start, end, perms: m[3], offset: parseInt(m[4], 16), inode: Number(m[5]), path: sanitize(m[6]) });
  }
  return out;
}

/**
 * Parses /proc/PID/smaps: each mapping's header line (as in maps) with its own figures. A block
 * that lacks the fields of a rollup is left out.
 */
export function parseSmapsMappings(text: string): Array<{ mapping: Mapping; rollup: SmapsRollup }> {
  const out: Array<{ mapping: Mapping; rollup: SmapsRollup }> = [];
  let head: Mapping | null = null;
  let body: string[] = [];
  const flush = (): void => {
    const r = head ? parseSmapsRollup(body.join('\n')) : null;
    if (head && r) out.push({ mapping: head, rollup: r });
  };
  for (const line of text.split('\n')) {
    const m = /^[0-9a-f]+-[0-9a-f]+ /.test(line) ? parseMaps(line) : [];
    if (m.length) {
      flush();
      head = m[0];
      body = [];
    } else {
      body.push(line);
    }
  }
  flush();
  return out;
}

/** One 64-bit entry of /proc/PID/pagemap (kernel admin-guide/mm/pagemap.rst). */
export interface PageEntry {
  present: boolean; // bit 63
  swapped: boolean; // bit 62
  exclusive: boolean; // bit 56: mapped by this process only (4.2+)
  softDirty: boolean; // bit 55
  pfn: number; // bits 0-54 when present; 0 without CAP_SYS_ADMIN
}

export function decodePageEntry(lo: number, hi: number): PageEntry {
  const present = (hi & 0x80000000) !== 0;
  return {
    present,
    swapped: (hi & 0x40000000) !== 0,
    exclusive: (hi & 0x01000000) !== 0,
    softDirty: (hi & 0x00800000) !== 0,
    pfn: present ? (hi & 0x007fffff) * 0x100000000 + (lo >>> 0) : 0,
  };
}
