/**
 * The memory guard: before the heap is built, refuse an experiment whose worst case (every worker
 * copying the whole heap) would not fit, from the bytes per object its first objects took (the
 * experiment measures them, then waits); while running, notice when memory runs short.
 */
import { formatBytes, formatCount } from '../format/units';
import type { MemoryRoom } from '../proc/machine';

export type { MemoryRoom };

/** What the machine (or the cgroup, when tighter) can still give. */
export function availableBytes(room: MemoryRoom): number | null {
  const cg =
    room.cgroupLimit !== null && room.cgroupUsage !== null ? Math.max(0, room.cgroupLimit - room.cgroupUsage) : null;
  if (room.memAvailable === null) return cg;
  return cg === null ? room.memAvailable : Math.min(room.memAvailable, cg);
}

export interface GuardVerdict {
  ok: boolean;
  heap: number;
  worst: number;
  available: number | null;
  message: string | null;
}

export const GUARD_SHARE = 0.8;

/** Worst case without freeze: the parent's heap plus a full copy in every worker. */
export function checkMemory(bytesPerObject: number, size: number, workers: number, room: MemoryRoom): GuardVerdict {
  const heap = bytesPerObject * size;
  const worst = (1 + workers) * heap;
  const available = availableBytes(room);
  if (available === null || worst <= GUARD_SHARE * available)
    return { ok: true, heap, worst, available, message: null };
  const where =
    room.cgroupLimit !== null && available < (room.memAvailable ?? Infinity) ? 'left in this cgroup' : 'available';
  return {
    ok: false,
    heap,
    worst,
    available,
    message:
      `--size ${formatCount(size)} with ${workers} workers could use ${formatBytes(worst)} without freeze ` +
      `((1 + ${workers}) x ${formatBytes(heap)} heap), more than ${GUARD_SHARE * 100}% of the ${formatBytes(available)} ${where}; ` +
      'use a smaller --size or --workers, or --force',
  };
}

/** Whether memory is short now: MemAvailable under minPercent of MemTotal (or the cgroup's limit). */
export function memoryLow(room: MemoryRoom, minPercent: number): string | null {
  const avail = availableBytes(room);
  const total = room.cgroupLimit ?? room.memTotal;
  if (avail === null || !total) return null;
  if (avail >= (minPercent / 100) * total) return null;
  return `memory is short: ${formatBytes(avail)} available of ${formatBytes(total)} (under ${minPercent}%); workers stopped`;
}

/** Heap bytes per object for this interpreter, measured the way the experiment builds it. */
