/**
 * One worker's pages against its parent's: the copy map's split (copy-map.ts) for a single
 * worker, as compare and the strategies table use it. null split when frame numbers cannot be
 * read (no CAP_SYS_ADMIN).
 */
import type { ProcReader } from '../proc/read';
import { readCopyMap, type CopySplit } from './copy-map';

export type { CopySplit } from './copy-map';
export type CopyResult = { ok: true; split: CopySplit } | { ok: false; why: string };

export async function copiedFromParent(reader: ProcReader, parentPid: number, workerPid: number): Promise<CopyResult> {
  const map = await readCopyMap(reader, parentPid, [workerPid]);
  if ('error' in map) return { ok: false, why: map.error };
  if (!map.privileged) return { ok: false, why: map.why ?? 'frame numbers unreadable' };
  const w = map.workers[0];
  return w ? { ok: true, split: w.total } : { ok: false, why: `worker ${workerPid}: gone` };
}
