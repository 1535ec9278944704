/**
 * The only module that reads /proc. What walks page tables (smaps_rollup, smaps, maps, pagemap)
 * is read asynchronously (libuv's thread pool), so a slow rollup of a large process never blocks
 * the event loop. stat, children and cmdline files, which the kernel writes from a few fields
 * in microseconds, are read synchronously, a slice of processes at a time: through the thread
 * pool each cost ~100 us of the main thread in requests and wake-ups, against ~20 us read at
 * once, which was most of a 2,000-process tree's CPU. The sampled tree's files are held open
 * between ticks (held-files.ts). A process that vanished between listing and reading is
 * reported as gone; a permission error keeps its reason.
 */
import * as fsc from 'node:fs';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { sanitize } from '../format/sanitize';
import { nextTurn } from '../util/next-turn';
import { readKpagecount, readPagemap } from './frames';
import { HeldFiles } from './held-files';
import { memoryRoomOf, type MemoryRoom } from './machine';
import { classify, type Read } from './read-result';
import {
  kernelMovesPrint,
  parseMaps,
  parseVmstatField,
  parseChildren,
  parseMeminfo,
  parseSmapsRollup,
  parseStat,
  type Mapping,
  type ProcStat,
  type SmapsRollup,
} from './parse';

export type { Read, ReadError } from './read-result';
export { coalesce, PAGE_SIZE } from './frames';

/** Whether a read of n bytes into a buffer of size calls for another: the buffer filled, or the file is read to its end. */
function readsOn(n: number, size: number, untilEof: boolean | ((n: number) => boolean)): boolean {
  const more = typeof untilEof === 'function' ? untilEof(n) : untilEof;
  return n === size || (more && n > 0);
}

/** Processes whose stat and children files are read between two turns of the event loop (~2 ms). */
const TREE_SLICE = 64;

/** A seq_file hands out at most this much per read. */
const SEQ_PAGE = 4096;

/** A cmdline file's NUL-separated words, joined with spaces; its owner chose every byte. */
function commandText(raw: string): string {
  return sanitize(raw.split('\0').filter(Boolean).join(' '));
}

export class ProcReader {
  /** The sampled tree's stat, children, cmdline and smaps_rollup files, kept open between ticks (held-files.ts). */
  private readonly held: HeldFiles | null;

  /** hold: keep the tree's files open (a number: at most that many). */
  constructor(
    readonly root = '/proc',
    options: { hold?: boolean | number } = {},
  ) {
    this.held = options.hold === true ? new HeldFiles(root) : options.hold ? new HeldFiles(root, options.hold) : null;
  }

  /** How many /proc files are held open now. */
  get heldCount(): number {
    return this.held?.size ?? 0;
  }

  /**
   * /proc files report size 0, so readFile would open, fstat, read, read again and close: five
   * trips through the thread pool. open, read into one buffer (again only if it filled), close:
   * three. With hundreds of processes a tick, that matters. But a file of many records (maps,
   * smaps) comes a seq_file page at a time, each read short of the buffer: those are read on
   * until a read returns nothing (untilEof), or all but the first ~40 mappings would be lost.
   */
  private text(...parts: Array<string | number>): Promise<string> {
    return this.read(false, parts);
  }

  private textUntilEof(...parts: Array<string | number>): Promise<string> {
    return this.read(true, parts);
  }

  /**
   * A children file is a seq_file of short records ("1234 "): a read returns at most a page of
   * them. One that came back nearly a page long may have more behind it (a master with a
   * thousand workers); a shorter one is the whole list, without a read more for every process.
   */
  private childrenText(pid: number, tid: number): string {
    const more = (n: number): boolean => n > SEQ_PAGE - 16;
    // Empty is an answer here (no children), not a sign of a dead fd.
    return tid === pid
      ? this.readHeldNow(pid, `task/${tid}/children`, more, true)
      : this.readNow(more, [pid, 'task', tid, 'children']);
  }

  private readonly scratch = Buffer.allocUnsafe(8192);
  private readonly buffers: Buffer[] = [];

  /** The same reads, at once: for the small files the kernel writes without walking memory. */
  private readNow(untilEof: boolean | ((n: number) => boolean), parts: Array<string | number>): string {
    const fd = fsc.openSync(path.join(this.root, ...parts.map(String)), 'r');
    try {
      return this.readFdNow(fd, untilEof);
    } finally {
      fsc.closeSync(fd);
    }
  }

  /** Reads fd from offset 0: a seq_file read at 0 writes the file afresh, so a held fd reads today's text. */
  private readFdNow(fd: number, untilEof: boolean | ((n: number) => boolean)): string {
    const chunks: Buffer[] = [];
    for (let at = 0; ; ) {
      const n = fsc.readSync(fd, this.scratch, 0, this.scratch.length, at);
      at += n;
      const last = !readsOn(n, this.scratch.length, untilEof);
      if (last && !chunks.length) return this.scratch.toString('utf8', 0, n); // the usual case: one read
      chunks.push(Buffer.from(this.scratch.subarray(0, n)));
      if (last) return Buffer.concat(chunks).toString('utf8');
    }
  }

  /**
   * A tree member's file through its held fd. An fd that fails or reads empty (unless empty is
   * an answer) is dropped and the path opened afresh, whose answer (the process is gone, or the
   * text of what now has the pid) is the one returned. An open error is thrown as it comes.
   */
  private readHeldNow(
    pid: number,
    name: string,
    untilEof: boolean | ((n: number) => boolean),
    emptyOk = false,
  ): string {
    const file = this.held?.acquire(pid, name);
    if (file) {
      try {
        const text = this.readFdNow(file.fd, untilEof);
        if (text || emptyOk) return text;
      } catch {
        // gone, reaped or exec'd: read the path below
      } finally {
        this.held!.release(file);
      }
      this.held!.drop(pid);
    }
    return this.readNow(untilEof, [pid, ...name.split('/')]);
  }

  /** The same for a file that walks memory (smaps_rollup): the read goes through the thread pool. */
  private async readHeld(pid: number, name: string): Promise<string> {
    const file = this.held?.acquire(pid, name);
    if (file) {
      try {
        // A buffer from a small pool: a new 8 KiB one per read was a thousand a second at 2,000 processes.
        const buf = this.buffers.pop() ?? Buffer.allocUnsafe(8192);
        const text = await new Promise<string>((resolve, reject) => {
          fsc.read(file.fd, buf, 0, buf.length, 0, (err, n) =>
            err ? reject(err) : n === buf.length ? reject(new Error('long')) : resolve(buf.toString('latin1', 0, n)),
          );
        }).finally(() => this.buffers.length < 4 && this.buffers.push(buf));
        if (text) return text;
      } catch {
        // gone, reaped or exec'd (or, never seen, longer than a buffer): read the path below
      } finally {
        this.held!.release(file);
      }
      this.held!.drop(pid);
    }
    return this.text(pid, name);
  }

  private read(untilEof: boolean | ((n: number) => boolean), parts: Array<string | number>): Promise<string> {
    const file = path.join(this.root, ...parts.map(String));
    return new Promise((resolve, reject) => {
      fsc.open(file, 'r', (err, fd) => {
        if (err) return reject(err);
        const chunks: Buffer[] = [];
        const next = (): void => {
          const buf = Buffer.allocUnsafe(8192);
          fsc.read(fd, buf, 0, buf.length, null, (rerr, n) => {
            if (rerr) return fsc.close(fd, () => reject(rerr));
            chunks.push(buf.subarray(0, n));
            if (readsOn(n, buf.length, untilEof)) return next();
            fsc.close(fd, () => resolve(Buffer.concat(chunks).toString('utf8')));
          });
        };
        next();
      });
    });
  }

  /** Whether this looks like a Linux procfs we can use. */
  async available(): Promise<boolean> {
    try {
      await fs.access(path.join(this.root, 'self', 'stat'));
      return true;
    } catch {
      return false;
    }
  }

  async stat(pid: number): Promise<Read<ProcStat>> {
    return this.statNow(pid, false);
  }

  /** held: a member of the sampled tree, whose stat fd is kept for the next tick. */
  private statNow(pid: number, held: boolean): Read<ProcStat> {
    try {
      const value = parseStat(held ? this.readHeldNow(pid, 'stat', false) : this.readNow(false, [pid, 'stat']));
      // An empty read means the process is being reaped.
      return value ? { ok: true, value } : { ok: false, error: 'gone', message: 'process exited' };
    } catch (err) {
      return { ok: false, ...classify(err) };
    }
  }

  async smapsRollup(pid: number): Promise<Read<SmapsRollup>> {
    try {
      const value = parseSmapsRollup(await this.readHeld(pid, 'smaps_rollup'));
      // A zombie or exiting process has an empty rollup.
      return value ? { ok: true, value } : { ok: false, error: 'gone', message: 'process exited' };
    } catch (err) {
      return { ok: false, ...classify(err) };
    }
  }

  async maps(pid: number): Promise<Read<Mapping[]>> {
    try {
      return { ok: true, value: parseMaps(await this.textUntilEof(pid, 'maps')) };
    } catch (err) {
      return { ok: false, ...classify(err) };
    }
  }

  /** The whole /proc/PID/smaps text (per mapping figures): the copy map's fallback without CAP_SYS_ADMIN. */
  async smaps(pid: number): Promise<Read<string>> {
    try {
      return { ok: true, value: await this.textUntilEof(pid, 'smaps') };
    } catch (err) {
      return { ok: false, ...classify(err) };
    }
  }

  /** The raw pagemap entries of each [start, end) range of pid's address space (frames.ts). */
  pagemap(pid: number, ranges: ReadonlyArray<readonly [number, number]>): Promise<Read<Buffer[]>> {
    return readPagemap(path.join(this.root, String(pid), 'pagemap'), ranges);
  }

  /** How many page tables map each frame (frames ascending), or null without CAP_SYS_ADMIN (frames.ts). */
  kpagecount(frames: ArrayLike<number>): Promise<Float64Array | null> {
    return readKpagecount(path.join(this.root, 'kpagecount'), frames, this.scratch);
  }

  /** The machine-wide counters of what the kernel does to pages on its own (parse.ts, KERNEL_MOVES). */
  kernelMoves(ksmFullScans = '/sys/kernel/mm/ksm/full_scans'): string | null {
    let ksm: string | null = null;
    try {
      ksm = fsc.readFileSync(ksmFullScans, 'utf8');
    } catch {
      // no KSM in this kernel: its scans read as absent
    }
    try {
      return kernelMovesPrint(this.readNow(true, ['vmstat']), ksm);
    } catch {
      return null;
    }
  }

  /** The real uid that owns pid (from status), or null when it is gone. */
  async uid(pid: number): Promise<number | null> {
    try {
      const m = /^Uid:\s+(\d+)/m.exec(await this.text(pid, 'status'));
      return m ? Number(m[1]) : null;
    } catch {
      return null;
    }
  }

  /** The command line, NUL-separated in /proc, joined with spaces; its owner chose every byte. */
  async cmdline(pid: number): Promise<string | null> {
    try {
      return commandText(await this.text(pid, 'cmdline'));
    } catch {
      return null;
    }
  }

  /**
   * The same at once, through the held fd of a sampled tree's member: the kernel copies it from
   * the process's memory at each read (no buffer kept, and an exec shows). A tree of 2,000
   * re-reads 400 a second; through the thread pool each cost three round trips.
   */
  cmdlineNow(pid: number): string | null {
    try {
      return commandText(this.readHeldNow(pid, 'cmdline', false, true));
    } catch {
      return null;
    }
  }

  /** Direct children of pid: the children file of each thread (CONFIG_PROC_CHILDREN), or a scan. */
  async children(pid: number): Promise<number[]> {
    try {
      const tids = await fs.readdir(path.join(this.root, String(pid), 'task'));
      const lists = tids.map((tid) => {
        try {
          return this.childrenText(pid, Number(tid));
        } catch {
          return null;
        }
      });
      if (lists.every((l) => l !== null)) return [...new Set(lists.flatMap((l) => parseChildren(l!)))];
    } catch {
      return [];
    }
    return (await this.scanParents()).get(pid) ?? [];
  }

  /**
   * The tree below root with every member's stat, in one pass: per process its stat and its main
   * thread's children file; the other threads' children files only when stat says it has more
   * than one thread. Breadth first: the root, then its children, then theirs. A process that
   * vanished on the way is left out.
   */
  async tree(root: number): Promise<Map<number, Read<ProcStat>>> {
    const out = new Map<number, Read<ProcStat>>();
    let level = [root];
    let slice = 0;
    while (level.length) {
      const next: number[] = [];
      for (const pid of level) {
        // A key waits at most one slice, not the whole tree.
        if (++slice % TREE_SLICE === 0) await nextTurn();
        const st = this.statNow(pid, true);
        out.set(pid, st);
        if (!st.ok) continue;
        // Every thread's children file (the main thread's among them) when there are several.
        if (st.value.numThreads > 1) {
          next.push(...(await this.children(pid)));
          continue;
        }
        try {
          next.push(...parseChildren(this.childrenText(pid, pid)));
        } catch {
          // gone since its stat was read
        }
      }
      level = [...new Set(next)].filter((p) => !out.has(p));
    }
    this.held?.keepOnly(new Set([...out].filter(([, st]) => st.ok).map(([pid]) => pid)));
    return out;
  }

  private async scanParents(): Promise<Map<number, number[]>> {
    const byParent = new Map<number, number[]>();
    const names = (await fs.readdir(this.root)).filter((n) => /^\d+$/.test(n));
    const stats = await Promise.all(names.map((n) => this.stat(Number(n))));
    for (const s of stats) {
      if (!s.ok) continue;
      const list = byParent.get(s.value.ppid) ?? [];
      list.push(s.value.pid);
      byParent.set(s.value.ppid, list);
    }
    return byParent;
  }

  /** MemAvailable, MemTotal and this process's cgroup memory limit and usage (v2 or v1): machine.ts. */
  async memoryRoom(cgroupRoot = '/sys/fs/cgroup'): Promise<MemoryRoom> {
    return memoryRoomOf(await this.meminfo(), path.join(this.root, 'self', 'cgroup'), cgroupRoot);
  }

  /** How many processes the OOM killer has killed since boot (Linux 4.13+). */
  async oomKills(): Promise<number | null> {
    try {
      return parseVmstatField(await this.text('vmstat'), 'oom_kill');
    } catch {
      return null;
    }
  }

  async meminfo(): Promise<Record<string, number> | null> {
    try {
      return parseMeminfo(await this.text('meminfo'));
    } catch {
      return null;
    }
  }
}
