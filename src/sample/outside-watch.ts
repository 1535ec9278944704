/**
 * Whether anything outside the tree changed how a quiet process's pages are shared, told without
 * walking its page tables: what lets the 5 s bound vouch for a rollup instead of reading it again.
 *
 * A rollup moves when the process's own memory moves (its stat shows that: rollup-cache.ts) or
 * when another process starts or stops mapping one of its pages. Anonymous pages are shared only
 * by fork: within the tree, once the root's memory came from an exec (its vdso lies elsewhere
 * than its parent's) and no member left the tree alive. File and shmem pages are shared with
 * anyone. So the watch keeps, per process, the frames of its file-backed mappings (pagemap) and
 * how many page tables map each (/proc/kpagecount), taken before and after a rollup read; while
 * those counts stay the same, so does the rollup. A tree's ~5,000 library frames cost ~2 ms to
 * check, its 9 rollups of 360 MB ~80-180 ms to read. What the kernel does on its own (migration,
 * huge-page collapse, swap-out, KSM) moves machine-wide counters (KERNEL_MOVES); any move drops
 * every baseline. Frame numbers and kpagecount need CAP_SYS_ADMIN: without it the bound re-reads
 * rollups, a few a tick.
 */
import type { ProcStat } from '../proc/parse';
import { PAGE_SIZE, type ProcReader } from '../proc/read';
import { PFN_HI, PRESENT, words } from './copy-map';

/** Processes smaller than this are re-read: their rollup costs about what a baseline does. */
export const WATCH_MIN_RSS = 32 * 1048576;
/** Baselines kept at most (~30-60 KB each): a bigger tree's further processes are re-read round-robin. */
export const WATCH_MAX = 256;

interface Baseline {
  frames: Float64Array; // ascending, unique
  counts: Float64Array;
  kernel: string;
}

/** Pure: the frame numbers of the present pages in pagemap buffers, ascending and unique. */
export function presentFrames(buffers: readonly Buffer[]): Float64Array {
  const frames: number[] = [];
  for (const b of buffers) {
    const w = words(b);
    for (let i = 0; i + 1 < w.length; i += 2) {
      const hi = w[i + 1];
      if (hi & PRESENT) frames.push((hi & PFN_HI) * 4294967296 + w[i]);
    }
  }
  return unionOf([Float64Array.from(frames)]);
}

/** Pure: whether a process's counts are the same in a reading of (ascending) frames. */
export function sameCounts(
  base: { frames: Float64Array; counts: Float64Array },
  frames: Float64Array,
  counts: Float64Array,
): boolean {
  let j = 0;
  for (let i = 0; i < base.frames.length; i++) {
    while (j < frames.length && frames[j] < base.frames[i]) j++;
    if (j === frames.length || frames[j] !== base.frames[i] || counts[j] !== base.counts[i]) return false;
  }
  return true;
}

/** Pure: the ascending union of ascending frame lists (one typed sort: a Set of ~20,000 numbers cost ~3x more). */
export function unionOf(lists: Iterable<Float64Array>): Float64Array {
  const parts = [...lists];
  const all = new Float64Array(parts.reduce((n, l) => n + l.length, 0));
  let at = 0;
  for (const l of parts) {
    all.set(l, at);
    at += l.length;
  }
  all.sort();
  let n = 0;
  for (let i = 0; i < all.length; i++) if (i === 0 || all[i] !== all[i - 1]) all[n++] = all[i];
  return all.slice(0, n);
}

/** Pure: the counts of frames (a subset of union, both ascending) out of a reading of union. */
export function countsOf(frames: Float64Array, union: Float64Array, counts: Float64Array): Float64Array {
  const out = new Float64Array(frames.length);
  for (let i = 0, j = 0; i < frames.length; i++) {
    while (union[j] < frames[i]) j++;
    out[i] = counts[j];
  }
  return out;
}

export class OutsideWatch {
  private readonly baselines = new Map<number, Baseline>();
  /** null: not asked yet. The root whose anonymous pages are known to stay in the tree. */
  private closedRoot: { root: number; closed: boolean } | null = null;
  private privileged: boolean | null = null;
  /** A member left the tree alive: its anonymous pages may still be shared with the tree's. */
  private escaped = false;
  captures = 0;
  checks = 0;
  vouched = 0;

  constructor(
    private readonly reader: ProcReader,
    private readonly minRss = WATCH_MIN_RSS,
  ) {}

  /** Once per root: the privilege, and whether the root's memory came from an exec. */
  async prepare(root: number): Promise<void> {
    if (this.privileged === null) this.privileged = (await this.reader.kpagecount([0])) !== null;
    if (!this.privileged || this.closedRoot?.root === root) return;
    this.closedRoot = { root, closed: await this.execBoundary(root) };
  }

  /** The root's vdso lies elsewhere than its parent's: ASLR placed it afresh at exec, where a fork copies it. */
  private async execBoundary(root: number): Promise<boolean> {
    const st = await this.reader.stat(root);
    if (!st.ok) return false;
    if (st.value.ppid === 0) return true;
    const [mine, parents] = await Promise.all([this.vdso(root), this.vdso(st.value.ppid)]);
    return mine !== null && parents !== null && mine !== parents;
  }

  private async vdso(pid: number): Promise<number | null> {
    const maps = await this.reader.maps(pid);
    return maps.ok ? (maps.value.find((m) => m.path === '[vdso]')?.start ?? null) : null;
  }

  /** Whether a baseline may be taken for this process: privileged, closed, big enough to be worth it. */
  eligible(stat: ProcStat): boolean {
    if (this.baselines.size >= WATCH_MAX && !this.baselines.has(stat.pid)) return false;
    return (
      this.privileged === true &&
      this.closedRoot?.closed === true &&
      !this.escaped &&
      stat.rssPages * PAGE_SIZE >= this.minRss
    );
  }

  has(pid: number): boolean {
    return this.baselines.has(pid);
  }

  /**
   * Runs the rollup reads of pids with baselines around them: each one's frames, then their map
   * counts before and after the reads (one kpagecount pass for all). A process whose counts
   * differ (a sharer came or went during the read) gets none: it is read again when due.
   */
  async around<T>(pids: readonly number[], read: () => Promise<T>): Promise<T> {
    for (const pid of pids) this.baselines.delete(pid);
    if (!pids.length) return read();
    const kernel = this.reader.kernelMoves();
    const framesOf = new Map<number, Float64Array>();
    for (const pid of pids) {
      const maps = await this.reader.maps(pid);
      if (!maps.ok) continue;
      const pm = await this.reader.pagemap(
        pid,
        maps.value.filter((m) => m.inode !== 0).map((m) => [m.start, m.end] as const),
      );
      if (pm.ok) framesOf.set(pid, presentFrames(pm.value));
    }
    const union = unionOf(framesOf.values());
    const before = await this.reader.kpagecount(union);
    const value = await read();
    const after = before && kernel !== null ? await this.reader.kpagecount(union) : null;
    if (!before || !after || this.reader.kernelMoves() !== kernel) return value;
    for (const [pid, frames] of framesOf) {
      if (this.baselines.size >= WATCH_MAX) break;
      const base = { frames, counts: countsOf(frames, union, before) };
      if (sameCounts(base, union, after)) {
        this.baselines.set(pid, { ...base, kernel: kernel! });
        this.captures++;
      }
    }
    return value;
  }

  /** Of these processes (each with a baseline), the ones whose sharing may have moved; their baselines are dropped. */
  async changed(pids: readonly number[]): Promise<Set<number>> {
    this.checks++;
    const kernel = this.reader.kernelMoves();
    const frames = unionOf(pids.map((pid) => this.baselines.get(pid)?.frames ?? new Float64Array(0)));
    const counts = await this.reader.kpagecount(frames);
    const out = new Set<number>();
    for (const pid of pids) {
      const b = this.baselines.get(pid);
      if (!b || !counts || kernel !== b.kernel || !sameCounts(b, frames, counts)) {
        out.add(pid);
        this.baselines.delete(pid);
      } else this.vouched++;
    }
    return out;
  }

  forget(pid: number): void {
    this.baselines.delete(pid);
  }

  forgetAll(): void {
    this.baselines.clear();
  }

  keepOnly(live: ReadonlySet<number>): void {
    for (const pid of this.baselines.keys()) if (!live.has(pid)) this.baselines.delete(pid);
  }

  /**
   * A member gone from the tree. Exited, or exec'd since (its vdso moved): nothing of the tree's
   * memory goes with it. Alive and re-parented as a fork of the tree's memory: the tree's
   * anonymous pages may now be shared outside it, and the watch stops for good.
   */
  async left(pid: number, starttime: number | null): Promise<void> {
    const st = await this.reader.stat(pid);
    if (!st.ok || st.value.state === 'Z' || st.value.state === 'X' || st.value.starttime !== starttime) return;
    const root = this.closedRoot?.root;
    const [its, roots] = await Promise.all([this.vdso(pid), root === undefined ? null : this.vdso(root)]);
    if (its !== null && roots !== null && its !== roots) return;
    this.escaped = true;
    this.baselines.clear();
  }

  get active(): boolean {
    return this.privileged === true && this.closedRoot?.closed === true && !this.escaped;
  }
}
