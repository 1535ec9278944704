/**
 * Which of a worker's pages are still the parent's, found by comparing page frame numbers in
 * /proc/PID/pagemap at the same addresses. Over the private writable anonymous memory of both
 * (pymalloc's arenas, [heap], the stack), a worker's page is
 *   shared  when both map the same frame,
 *   copied  when both have a present page there with different frames (copy-on-write broke it),
 *   new     when only the worker has one (allocated since fork),
 *   swapped when the worker's page is in swap.
 * Frame numbers read as zero without CAP_SYS_ADMIN: then the split cannot be told, and is null.
 */
import { isPrivateAnon, type Mapping } from '../proc/parse';
import { PAGE_SIZE, type ProcReader } from '../proc/read';

export interface CopySplit {
  shared: number; // bytes
  copied: number;
  new: number;
  swapped: number;
}

export type CopyResult = { ok: true; split: CopySplit } | { ok: false; why: string };

const PRESENT = 0x80000000;
const SWAPPED = 0x40000000;
const PFN_HI = 0x007fffff;

/** Pure: classifies the pages of one range, given both processes' raw entries (parent may be null: no mapping there). */
export function classifyPages(parent: Buffer | null, worker: Buffer, into: CopySplit & { framesSeen: boolean }): void {
  for (let off = 0; off + 8 <= worker.length; off += 8) {
    const whi = worker.readUInt32LE(off + 4);
    if (whi & SWAPPED) {
      into.swapped += PAGE_SIZE;
      continue;
    }
    if (!(whi & PRESENT)) continue;
    const wlo = worker.readUInt32LE(off);
    if ((whi & PFN_HI) || wlo) into.framesSeen = true;
    const phi = parent ? parent.readUInt32LE(off + 4) : 0;
    if (!(phi & PRESENT)) {
      into.new += PAGE_SIZE;
      continue;
    }
    const same = (phi & PFN_HI) === (whi & PFN_HI) && parent!.readUInt32LE(off) === wlo;
    if (same) into.shared += PAGE_SIZE;
    else into.copied += PAGE_SIZE;
  }
}

/** [start, end) pieces of w: each with the parent mapping over it, or none. */
function overlaps(w: Mapping, parent: readonly Mapping[]): Array<{ start: number; end: number; inParent: boolean }> {
  const out: Array<{ start: number; end: number; inParent: boolean }> = [];
  let at = w.start;
  for (const p of parent) {
    if (p.end <= at || p.start >= w.end) continue;
    if (p.start > at) out.push({ start: at, end: p.start, inParent: false });
    const end = Math.min(p.end, w.end);
    out.push({ start: Math.max(p.start, at), end, inParent: true });
    at = end;
  }
  if (at < w.end) out.push({ start: at, end: w.end, inParent: false });
  return out;
}

export async function copiedFromParent(reader: ProcReader, parentPid: number, workerPid: number): Promise<CopyResult> {
  const [pm, wm] = await Promise.all([reader.maps(parentPid), reader.maps(workerPid)]);
  if (!pm.ok) return { ok: false, why: `parent: ${pm.message}` };
  if (!wm.ok) return { ok: false, why: `worker: ${wm.message}` };
  const parentAnon = pm.value.filter(isPrivateAnon).sort((a, b) => a.start - b.start);
  const pieces = wm.value.filter(isPrivateAnon).flatMap((w) => overlaps(w, parentAnon));
  const shared = pieces.filter((p) => p.inParent).map((p) => [p.start, p.end] as const);
  const [pp, wp] = await Promise.all([reader.pagemap(parentPid, shared), reader.pagemap(workerPid, pieces.map((p) => [p.start, p.end] as const))]);
  if (!pp.ok) return { ok: false, why: `parent pagemap: ${pp.message}` };
  if (!wp.ok) return { ok: false, why: `worker pagemap: ${wp.message}` };
  const acc = { shared: 0, copied: 0, new: 0, swapped: 0, framesSeen: false };
  let k = 0;
  pieces.forEach((piece, i) => classifyPages(piece.inParent ? pp.value[k++] : null, wp.value[i], acc));
  if (!acc.framesSeen && acc.shared + acc.copied > 0) {
    return { ok: false, why: 'page frame numbers read as zero: telling copied pages from shared ones needs root or CAP_SYS_ADMIN' };
  }
  return { ok: true, split: { shared: acc.shared, copied: acc.copied, new: acc.new, swapped: acc.swapped } };
}
