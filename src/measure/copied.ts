/**
 * The one reading of copied bytes that compare and run --compare make: each worker's bytes
 * copied from the parent since fork (the copy map, page by page), and what those pages held
 * where the experiment said; null where frames are unreadable (no CAP_SYS_ADMIN).
 */
import type { PageKinds } from '../experiment/page-kinds';
import type { ProcReader } from '../proc/read';
import { readCopyMap } from '../sample/copy-map';

export interface Copied {
  copied: Map<number, number | null>; // pid -> bytes
  kinds: Map<number, Record<string, number> | null>; // pid -> bytes per kind of object
}

export async function copiedSinceFork(
  reader: ProcReader,
  root: number,
  pids: number[],
  kinds: PageKinds | null = null,
): Promise<Copied> {
  const map = await readCopyMap(reader, root, pids, kinds);
  const ok = !('error' in map) && map.privileged;
  const worker = (pid: number) => (ok ? map.workers.find((w) => w.pid === pid) : undefined);
  const kindsOf = (pid: number): Record<string, number> | null => {
    const k = worker(pid)?.copiedKinds;
    return k ? Object.fromEntries(k.map((x) => [x.kind, x.bytes])) : null;
  };
  return {
    copied: new Map(pids.map((pid) => [pid, worker(pid)?.total.copied ?? null])),
    kinds: new Map(pids.map((pid) => [pid, kindsOf(pid)])),
  };
}
