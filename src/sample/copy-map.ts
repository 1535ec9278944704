/**
 * The copy map: for a parent and its workers, page by page, which of each worker's private
 * writable pages are still the parent's (same frame in /proc/PID/pagemap), which copy-on-write
 * copied (both present, different frames), which are new since fork (only the worker has one),
 * which are in swap; per mapping (pymalloc's arenas and other anonymous memory, [heap], [stack],
 * each library's writable data); and, for each page of the parent's anonymous memory, how many
 * workers still share it (the map pane's grid).
 *
 * Frame numbers read as zero without CAP_SYS_ADMIN: then copied cannot be told from shared, and
 * the map falls back to what /proc/PID/smaps says per mapping (private and shared bytes).
 */
import { parseSmapsMappings, type Mapping } from '../proc/parse';
import { PAGE_SIZE, type ProcReader } from '../proc/read';
import { mapLimit } from '../util/map-limit';
import { kindOf, type PageKinds } from '../experiment/page-kinds';

export interface CopySplit {
  shared: number; // bytes still mapped to the parent's frame
  copied: number; // bytes copy-on-write copied from the parent
  new: number; // bytes present only in the worker (allocated since fork)
  swapped: number;
}

export interface MappingCopies extends CopySplit {
  label: string; // 'anon' (pymalloc arenas, mmap), '[heap]', '[stack]', or a file's name (its writable data)
  size: number; // bytes of address space
}

export interface WorkerCopies {
  pid: number;
  total: CopySplit;
  mappings: MappingCopies[]; // biggest copied first
  /** What the copied pages held in the parent (the experiment's kinds): bytes per kind, 'other' last; null when unknown. */
  copiedKinds: Array<{ kind: string; bytes: number }> | null;
}

/** Without the privilege: per mapping, what smaps says (copied and new are one figure then). */
export interface FallbackMapping {
  label: string;
  private: number; // Private_Clean + Private_Dirty
  shared: number; // Shared_Clean + Shared_Dirty
}

export interface CopyMap {
  at: number; // when it was read, ms since epoch
  tookMs: number; // what the pass cost, wall clock
  parentPid: number;
  /** Frame numbers were readable: the split below is exact. */
  privileged: boolean;
  workers: WorkerCopies[]; // empty when not privileged
  /** The parent's anonymous memory, one entry per present page in address order: workers still sharing it. */
  sharers: Uint8Array;
  workerCount: number;
  /** Not privileged: per worker, per mapping, from smaps. */
  fallback: Array<{ pid: number; mappings: FallbackMapping[] }>;
  why: string | null; // what is missing and what would enable it
}

export const PRESENT = 0x80000000;
const YIELD_PAGES = 16384; // ~2 ms of classifying between turns of the event loop
const SWAPPED = 0x40000000;
export const PFN_HI = 0x007fffff;

/** Private writable memory: where copy-on-write copies can land (anonymous, [heap], [stack], a library's .data/.bss). */
export function isPrivateWritable(m: Mapping): boolean {
  return m.perms[1] === 'w' && m.perms[3] === 'p';
}

/** Anonymous memory: pymalloc's arenas, mmap'd blocks, [heap]. The map pane draws these. */
export function isAnonymous(m: Mapping): boolean {
  return isPrivateWritable(m) && (m.path === '' || m.path === '[heap]' || (m.inode === 0 && !m.path.startsWith('[')));
}

/** How a mapping is named in the breakdown. */
export function mappingLabel(m: Mapping): string {
  if (m.path === '' || (m.inode === 0 && !m.path.startsWith('['))) return 'anon';
  if (m.path.startsWith('[')) return m.path;
  return m.path.slice(m.path.lastIndexOf('/') + 1);
}

const emptySplit = (): CopySplit => ({ shared: 0, copied: 0, new: 0, swapped: 0 });

/**
 * Pure: compares one worker range with the parent's entries over the same addresses. parent is
 * null where the parent has no mapping; sharers (with its offset) counts, per parent page, the
 * workers still on its frame. Returns whether any frame number was non-zero.
 */
export function classifyRange(
  parent: Buffer | null,
  worker: Buffer,
  into: CopySplit,
  sharers?: { counts: Uint8Array; index: Int32Array; offset: number },
  kinds?: { table: PageKinds; firstPage: number; counts: Float64Array },
): boolean {
  // Typed views, not Buffer.readUInt32LE per entry: a 2,000,000-object tree has ~90,000 pages a process.
  const w = words(worker);
  const p = parent ? words(parent) : null;
  let frames = false;
  let shared = 0,
    copied = 0,
    fresh = 0,
    swapped = 0;
  for (let i = 0, page = 0; i + 1 < w.length; i += 2, page++) {
    const whi = w[i + 1];
    if (whi & SWAPPED) {
      swapped++;
      continue;
    }
    if (!(whi & PRESENT)) continue;
    const wlo = w[i];
    if (whi & PFN_HI || wlo) frames = true;
    const phi = p ? p[i + 1] : 0;
    if (!(phi & PRESENT)) {
      fresh++;
      continue;
    }
    if ((phi & PFN_HI) === (whi & PFN_HI) && p![i] === wlo) {
      shared++;
      if (sharers) {
        const k = sharers.index[sharers.offset + page];
        if (k >= 0 && sharers.counts[k] < 255) sharers.counts[k]++;
      }
    } else {
      copied++;
      if (kinds) {
        const k = kindOf(kinds.table, kinds.firstPage + page);
        kinds.counts[k < 0 ? kinds.table.names.length : k]++;
      }
    }
  }
  into.shared += shared * PAGE_SIZE;
  into.copied += copied * PAGE_SIZE;
  into.new += fresh * PAGE_SIZE;
  into.swapped += swapped * PAGE_SIZE;
  return frames;
}

/** Little-endian 32-bit words over a pagemap buffer (x86 and arm64 are little-endian; the entries are host-endian u64). */
export function words(b: Buffer): Uint32Array {
  return b.byteOffset % 4 === 0
    ? new Uint32Array(b.buffer, b.byteOffset, b.length >>> 2)
    : new Uint32Array(Uint8Array.from(b).buffer);
}

/** [start, end) pieces of w, each with the parent mapping under it (or none). */
function overlaps(w: Mapping, parent: readonly Mapping[]): Array<{ start: number; end: number; parent: number }> {
  const out: Array<{ start: number; end: number; parent: number }> = [];
  let at = w.start;
  parent.forEach((p, i) => {
    if (p.end <= at || p.start >= w.end) return;
    if (p.start > at) out.push({ start: at, end: p.start, parent: -1 });
    const end = Math.min(p.end, w.end);
    out.push({ start: Math.max(p.start, at), end, parent: i });
    at = end;
  });
  if (at < w.end) out.push({ start: at, end: w.end, parent: -1 });
  return out;
}

/** A whole map pass. Reads run on libuv's pool, two processes at a time. */
export async function readCopyMap(
  reader: ProcReader,
  parentPid: number,
  workerPids: readonly number[],
  kinds: PageKinds | null = null,
): Promise<CopyMap | { error: string }> {
  const started = Date.now();
  const t0 = process.hrtime.bigint();
  const pm = await reader.maps(parentPid);
  if (!pm.ok) return { error: `parent ${parentPid}: ${pm.message}` };
  const parentMaps = pm.value.filter(isPrivateWritable).sort((a, b) => a.start - b.start);
  const pp = await reader.pagemap(
    parentPid,
    parentMaps.map((m) => [m.start, m.end] as const),
  );
  if (!pp.ok) return { error: `parent pagemap: ${pp.message}` };
  // The grid's pages: the parent's present anonymous pages, in address order.
  const pageIndex = parentMaps.map((m, i) => {
    const entries = pp.value[i];
    const index = new Int32Array(entries.length / 8).fill(-1);
    return { index, anon: isAnonymous(m) };
  });
  let count = 0;
  let parentFrames = false;
  parentMaps.forEach((_, i) => {
    const e = words(pp.value[i]);
    for (let k = 0, page = 0; k + 1 < e.length; k += 2, page++) {
      const hi = e[k + 1];
      if (!(hi & PRESENT)) continue;
      if (hi & PFN_HI || e[k]) parentFrames = true;
      if (pageIndex[i].anon) pageIndex[i].index[page] = count++;
    }
  });
  // A parent with no page present is tearing down (it exited and its memory is gone): against
  // it every worker page would look new and nothing copied. No map, rather than a false one.
  if (count === 0) return { error: `parent ${parentPid} has no memory present (exiting)` };
  const sharers = new Uint8Array(count);
  const base = { at: started, parentPid, sharers, workerCount: workerPids.length };
  if (!parentFrames && count > 0) {
    const fallback = await mapLimit(workerPids, 2, async (pid) => ({
      pid,
      mappings: await smapsBreakdown(reader, pid),
    }));
    return {
      ...base,
      privileged: false,
      workers: [],
      sharers: new Uint8Array(0),
      fallback,
      tookMs: Number(process.hrtime.bigint() - t0) / 1e6,
      why: 'page frame numbers read as zero: telling copied pages from shared ones needs root or CAP_SYS_ADMIN; per mapping, smaps gives private and shared bytes instead',
    };
  }
  const workers = (
    await mapLimit(workerPids, 2, async (pid): Promise<WorkerCopies | null> => {
      const wm = await reader.maps(pid);
      if (!wm.ok) return null;
      const mine = wm.value.filter(isPrivateWritable);
      const pieces = mine.flatMap((w) => overlaps(w, parentMaps).map((p) => ({ ...p, label: mappingLabel(w) })));
      const wp = await reader.pagemap(
        pid,
        pieces.map((p) => [p.start, p.end] as const),
      );
      if (!wp.ok) return null;
      const byLabel = new Map<string, MappingCopies>();
      const total = emptySplit();
      const kindCounts = kinds ? new Float64Array(kinds.names.length + 1) : null;
      let since = 0;
      for (const [i, piece] of pieces.entries()) {
        const into = byLabel.get(piece.label) ?? { label: piece.label, size: 0, ...emptySplit() };
        byLabel.set(piece.label, into);
        into.size += piece.end - piece.start;
        const pages = (piece.end - piece.start) / PAGE_SIZE;
        const first = piece.parent >= 0 ? (piece.start - parentMaps[piece.parent].start) / PAGE_SIZE : 0;
        // Adjacent arenas merge into one mapping of hundreds of MiB: classified in slices, with a
        // turn of the event loop between them, so that a key pressed meanwhile is drawn at once.
        for (let from = 0; from < pages; from += YIELD_PAGES) {
          const to = Math.min(pages, from + YIELD_PAGES);
          since += to - from;
          if (since >= YIELD_PAGES) {
            since = 0;
            await new Promise((r) => setImmediate(r));
          }
          const parentBuf =
            piece.parent >= 0 ? pp.value[piece.parent].subarray((first + from) * 8, (first + to) * 8) : null;
          const share =
            piece.parent >= 0
              ? { counts: sharers, index: pageIndex[piece.parent].index, offset: first + from }
              : undefined;
          const kindsHere =
            kinds && kindCounts && piece.parent >= 0
              ? { table: kinds, firstPage: piece.start / PAGE_SIZE + from, counts: kindCounts }
              : undefined;
          classifyRange(parentBuf, wp.value[i].subarray(from * 8, to * 8), into, share, kindsHere);
        }
      }
      for (const m of byLabel.values())
        for (const k of ['shared', 'copied', 'new', 'swapped'] as const) total[k] += m[k];
      const mappings = [...byLabel.values()]
        .filter((m) => m.shared + m.copied + m.new + m.swapped > 0)
        .sort((a, b) => b.copied - a.copied || b.new - a.new);
      const copiedKinds =
        kinds && kindCounts
          ? [...kinds.names, 'other'].map((kind, k) => ({ kind, bytes: kindCounts[k] * PAGE_SIZE }))
          : null;
      return { pid, total, mappings, copiedKinds };
    })
  ).filter((w): w is WorkerCopies => w !== null);
  return {
    ...base,
    privileged: true,
    workers,
    fallback: [],
    why: null,
    tookMs: Number(process.hrtime.bigint() - t0) / 1e6,
  };
}

/** Per mapping label, Private and Shared bytes from /proc/PID/smaps (readable by the process's owner). */
async function smapsBreakdown(reader: ProcReader, pid: number): Promise<FallbackMapping[]> {
  const r = await reader.smaps(pid);
  if (!r.ok) return [];
  const out = new Map<string, FallbackMapping>();
  for (const { mapping, rollup } of parseSmapsMappings(r.value)) {
    if (!isPrivateWritable(mapping)) continue;
    const label = mappingLabel(mapping);
    const m = out.get(label) ?? { label, private: 0, shared: 0 };
    m.private += rollup.privateClean + rollup.privateDirty;
    m.shared += rollup.sharedClean + rollup.sharedDirty;
    out.set(label, m);
  }
  return [...out.values()].filter((m) => m.private + m.shared > 0).sort((a, b) => b.private - a.private);
}

/** The map pane's grid: cells of runs of pages, each the share of workers that copied its pages (0 calm .. 1 hot). */
export function heatCells(map: Pick<CopyMap, 'sharers' | 'workerCount'>, cells: number): Float32Array {
  const n = map.sharers.length;
  const out = new Float32Array(Math.max(0, Math.min(cells, n)));
  if (!out.length || map.workerCount === 0) return out;
  const per = n / out.length;
  for (let c = 0; c < out.length; c++) {
    const from = Math.floor(c * per);
    const to = Math.max(from + 1, Math.floor((c + 1) * per));
    let sum = 0;
    for (let i = from; i < to; i++) sum += Math.min(map.sharers[i], map.workerCount);
    out[c] = 1 - sum / ((to - from) * map.workerCount);
  }
  return out;
}

/** "52% lists, 30% records, 1% module objects, 17% other": what a worker's copied pages held, biggest first. */
export function kindsText(w: Pick<WorkerCopies, 'copiedKinds' | 'total'>): string | null {
  if (!w.copiedKinds || w.total.copied === 0) return null;
  const sum = w.copiedKinds.reduce((a, k) => a + k.bytes, 0);
  if (!sum) return null;
  return w.copiedKinds
    .filter((k) => Math.round((100 * k.bytes) / sum) > 0)
    .sort((a, b) => (a.kind === 'other' ? 1 : b.kind === 'other' ? -1 : b.bytes - a.bytes))
    .map((k) => `${Math.round((100 * k.bytes) / sum)}% ${k.kind}`)
    .join(', ');
}
