/**
 * Page frames: a process's entries in /proc/PID/pagemap and how many page tables map each frame
 * (/proc/kpagecount), read in few, large reads. The copy map and the outside watch stand on them.
 */
import * as fsc from 'node:fs';
import { promises as fs } from 'node:fs';
import { nextTurn } from '../util/next-turn';
import { classify, type Read } from './read-result';

export const PAGE_SIZE = 4096; // pagemap has one entry per 4 KiB page, huge pages included

/** Ranges closer than this are read from pagemap together: 1 MiB of gap costs 2 KiB of entries. */
const PAGEMAP_GAP = 1048576;

/** Groups of ranges (by index) read as one span: ranges in address order, gaps up to maxGap. */
export function coalesce(
  ranges: ReadonlyArray<readonly [number, number]>,
  maxGap: number,
): Array<{ start: number; end: number; members: number[] }> {
  const order = ranges.map((_, i) => i).sort((a, b) => ranges[a][0] - ranges[b][0]);
  const groups: Array<{ start: number; end: number; members: number[] }> = [];
  for (const i of order) {
    const [start, end] = ranges[i];
    const last = groups[groups.length - 1];
    if (last && start - last.end <= maxGap) {
      last.end = Math.max(last.end, end);
      last.members.push(i);
    } else {
      groups.push({ start, end, members: [i] });
    }
  }
  return groups;
}

/** kpagecount: frames this close are read together (a gap of 16 costs 128 bytes); spans read between turns. */
const KPAGE_GAP = 16;
const KPAGE_SLICE = 256;

/**
 * The raw pagemap entries (8 bytes a page) of each [start, end) range of pid's address space.
 * Ranges in address order that lie close together are read in one go (the gap's entries read as
 * zero and cost 8 bytes a page): a Python process has hundreds of small mappings, and each read
 * is a trip through libuv's thread pool. Needs ptrace access; frame numbers read as zero without
 * CAP_SYS_ADMIN.
 */
export async function readPagemap(
  file: string,
  ranges: ReadonlyArray<readonly [number, number]>,
): Promise<Read<Buffer[]>> {
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(file, 'r');
  } catch (err) {
    return { ok: false, ...classify(err) };
  }
  try {
    const out = new Array<Buffer>(ranges.length);
    for (const group of coalesce(ranges, PAGEMAP_GAP)) {
      const buf = Buffer.alloc(((group.end - group.start) / PAGE_SIZE) * 8);
      let n = 0;
      while (n < buf.length) {
        const { bytesRead } = await fh.read(buf, n, buf.length - n, (group.start / PAGE_SIZE) * 8 + n);
        if (bytesRead === 0) break;
        n += bytesRead;
      }
      for (const i of group.members) {
        const [start, end] = ranges[i];
        const from = ((start - group.start) / PAGE_SIZE) * 8;
        out[i] = buf.subarray(from, from + ((end - start) / PAGE_SIZE) * 8);
      }
    }
    return { ok: true, value: out };
  } catch (err) {
    return { ok: false, ...classify(err) };
  } finally {
    await fh.close().catch(() => {});
  }
}

/**
 * How many page tables map each frame (frames ascending), from /proc/kpagecount: 8 bytes a frame,
 * at frame * 8. Null without CAP_SYS_ADMIN (the file is root's, mode 0400). Read at once, frames
 * closer than KPAGE_GAP in one read: a tree's ~5,000 library frames lie in ~900 such spans,
 * ~2 ms; each through the thread pool would cost ~100 us of this thread. A slice of spans
 * between turns of the event loop.
 */
export async function readKpagecount(
  file: string,
  frames: ArrayLike<number>,
  scratch: Buffer,
): Promise<Float64Array | null> {
  let fd: number;
  try {
    fd = fsc.openSync(file, 'r');
  } catch {
    return null;
  }
  const out = new Float64Array(frames.length);
  try {
    for (let i = 0, spans = 0; i < frames.length; ) {
      if (++spans % KPAGE_SLICE === 0) await nextTurn();
      let j = i + 1;
      while (j < frames.length && frames[j] - frames[j - 1] <= KPAGE_GAP && frames[j] - frames[i] < scratch.length / 8)
        j++;
      const first = frames[i];
      const bytes = (frames[j - 1] - first + 1) * 8;
      const n = fsc.readSync(fd, scratch, 0, bytes, first * 8);
      for (let k = i; k < j; k++) {
        const at = (frames[k] - first) * 8;
        out[k] = at + 8 <= n ? scratch.readUInt32LE(at) + scratch.readUInt32LE(at + 4) * 4294967296 : -1;
      }
      i = j;
    }
    return out;
  } catch {
    return null;
  } finally {
    fsc.closeSync(fd);
  }
}
