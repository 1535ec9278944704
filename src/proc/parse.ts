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

/** The rollup's lines cowtop reads, in the order their figures are kept. */
const FIELD_NAMES = [
  'Rss',
  'Pss',
  'Shared_Clean',
  'Shared_Dirty',
  'Private_Clean',
  'Private_Dirty',
  'Pss_Anon',
  'Pss_File',
  'Pss_Shmem',
  'Pss_Dirty',
  'Swap',
  'SwapPss',
] as const;

/** Which of FIELD_NAMES text[at, at + length) is, or -1: compared in place, no string made. */
function fieldAt(text: string, at: number, length: number): number {
  for (let f = 0; f < FIELD_NAMES.length; f++)
    if (FIELD_NAMES[f].length === length && text.startsWith(FIELD_NAMES[f], at)) return f;
  return -1;
}
const REQUIRED_FIELDS = 6; // the first six: every kernel since 4.14 prints them

/** JavaScript's \s, by character code: the parsers below scan text instead of splitting it. */
function isSpace(c: number): boolean {
  return (
    c === 32 ||
    (c >= 9 && c <= 13) ||
    c === 160 ||
    c === 5760 ||
    (c >= 8192 && c <= 8202) ||
    c === 8232 ||
    c === 8233 ||
    c === 8239 ||
    c === 8287 ||
    c === 12288 ||
    c === 65279
  );
}

/** The decimal integer text[from, to) (an optional '-', then digits), or NaN for anything else. */
function intAt(text: string, from: number, to: number): number {
  const neg = text.charCodeAt(from) === 45;
  const start = neg ? from + 1 : from;
  if (start >= to) return NaN;
  let v = 0;
  for (let i = start; i < to; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return NaN;
    v = v * 10 + d;
  }
  // Past 15 digits the running sum may round differently from the text's nearest double.
  if (to - start > 15) v = Number(text.slice(start, to));
  return neg ? -v : v;
}

const figures = new Float64Array(FIELD_NAMES.length);

/**
 * Parses smaps_rollup (or a single smaps block): lines "Name:   1234 kB". Fields the kernel does
 * not print are left out, never reported as zero. Returns null when the text lacks the fields
 * every kernel since 4.14 has (empty or truncated text). It scans the text in place: a
 * 2,000-process tree reads a thousand rollups a second, and splitting them into lines and
 * regex matches was a third of what cowtop allocated.
 */
export function parseSmapsRollup(text: string): SmapsRollup | null {
  figures.fill(NaN);
  const n = text.length;
  for (let at = 0; at < n; ) {
    let eol = text.indexOf('\n', at);
    if (eol < 0) eol = n;
    // ^([A-Za-z_]+):\s+(\d+) kB\s*$
    let i = at;
    for (
      let c = text.charCodeAt(i);
      i < eol && ((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95);
      c = text.charCodeAt(++i)
    );
    const field = i > at && text.charCodeAt(i) === 58 ? fieldAt(text, at, i - at) : -1;
    if (field >= 0) {
      let j = i + 1;
      while (j < eol && isSpace(text.charCodeAt(j))) j++;
      const digits = j;
      while (j < eol && text.charCodeAt(j) >= 48 && text.charCodeAt(j) <= 57) j++;
      let k = j + 3;
      const unit = j > digits && digits > i + 1 && text.startsWith(' kB', j);
      while (unit && k < eol && isSpace(text.charCodeAt(k))) k++;
      if (unit && k === eol) figures[field] = intAt(text, digits, j) * 1024;
    }
    at = eol + 1;
  }
  for (let f = 0; f < REQUIRED_FIELDS; f++) if (Number.isNaN(figures[f])) return null;
  const out: SmapsRollup = {
    rss: figures[0],
    pss: figures[1],
    uss: figures[4] + figures[5],
    sharedClean: figures[2],
    sharedDirty: figures[3],
    privateClean: figures[4],
    privateDirty: figures[5],
  };
  if (!Number.isNaN(figures[6])) out.pssAnon = figures[6];
  if (!Number.isNaN(figures[7])) out.pssFile = figures[7];
  if (!Number.isNaN(figures[8])) out.pssShmem = figures[8];
  if (!Number.isNaN(figures[9])) out.pssDirty = figures[9];
  if (!Number.isNaN(figures[10])) out.swap = figures[10];
  if (!Number.isNaN(figures[11])) out.swapPss = figures[11];
  return out;
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
  // The fields after ')', scanned in place (a 2,000-process tree reads 2,000 stat lines a
  // second): field 3 is the state, then numbers; field n is statFields[n].
  const n = text.length;
  let field = 2;
  let state = '';
  for (let i = close + 1; field < 24; ) {
    while (i < n && isSpace(text.charCodeAt(i))) i++;
    if (i >= n) break;
    const start = i;
    while (i < n && !isSpace(text.charCodeAt(i))) i++;
    field++;
    if (field === 3) state = text.slice(start, i);
    else if (STAT_WANTED[field]) statFields[field] = intAt(text, start, i);
  }
  // state is one letter (R, S, D, Z...): anything else is not a stat line.
  if (field < 24 || !Number.isInteger(pid) || !/^[A-Za-z]$/.test(state)) return null;
  const f = statFields;
  const stat: ProcStat = {
    pid,
    comm: sanitize(text.slice(open + 1, close)), // anyone can name a process anything
    state,
    ppid: f[4],
    flags: f[9],
    minflt: f[10],
    cminflt: f[11],
    majflt: f[12],
    cmajflt: f[13],
    utime: f[14],
    stime: f[15],
    numThreads: f[20],
    starttime: f[22],
    vsize: f[23],
    rssPages: f[24],
  };
  for (const v of Object.values(stat)) if (typeof v === 'number' && !Number.isFinite(v)) return null;
  return stat;
}

const statFields = new Float64Array(25);
const STAT_WANTED = new Array<boolean>(25).fill(false);
for (const i of [4, 9, 10, 11, 12, 13, 14, 15, 20, 22, 23, 24]) STAT_WANTED[i] = true;

export const PF_KTHREAD = 0x00200000;

/** /proc/PID/task/TID/children: space-separated pids. */
export function parseChildren(text: string): number[] {
  return text
    .split(/\s+/)
    .filter((s) => /^\d+$/.test(s))
    .map(Number);
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

/**
 * What the kernel did to pages on its own, machine-wide: migrated them (compaction, NUMA),
 * collapsed them into huge pages, swapped them out or freed lazily freed ones, and KSM's scans.
 * Any of these can change a process's rollup without a fault of its own; the outside watch drops
 * its baselines when this moves. Missing counters (an older kernel) read as absent.
 */
export const KERNEL_MOVES = ['pgmigrate_success', 'thp_collapse_alloc', 'pswpout', 'zswpout', 'pglazyfreed'] as const;

export function kernelMovesPrint(vmstat: string, ksmFullScans: string | null): string {
  return [
    ...KERNEL_MOVES.map((f) => parseVmstatField(vmstat, f) ?? '-'),
    ksmFullScans === null ? '-' : ksmFullScans.trim(),
  ].join(' ');
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
