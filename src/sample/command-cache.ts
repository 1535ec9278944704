/**
 * Command lines of the tree, read again only when a process is new or its line is older than
 * REREAD_MS: a worker may rename itself after fork (setproctitle), but a tree of 1,000 processes
 * should not cost 1,000 reads a tick.
 */
import type { ProcStat } from '../proc/parse';
import type { ProcReader } from '../proc/read';
import { sanitize } from '../format/sanitize';
import { nextTurn } from '../util/next-turn';

export const REREAD_MS = 5000;
const SLICE = 64;

export class CommandCache {
  private readonly known = new Map<number, { starttime: number; command: string; at: number }>();

  constructor(private readonly reader: Pick<ProcReader, 'cmdlineNow'>) {}

  /** pid -> command line (stat's comm in brackets when cmdline is empty, as ps shows a zombie or kernel thread). */
  async read(stats: readonly ProcStat[], now: number): Promise<Map<number, string>> {
    const stale = stats.filter((s) => {
      const k = this.known.get(s.pid);
      return !k || k.starttime !== s.starttime || now - k.at >= REREAD_MS;
    });
    // Read at once (~10 us each), a slice between turns of the event loop so that a key waits little.
    for (let i = 0; i < stale.length; i++) {
      if (i && i % SLICE === 0) await nextTurn();
      const s = stale[i];
      const line = this.reader.cmdlineNow(s.pid);
      this.known.set(s.pid, { starttime: s.starttime, command: line || `[${sanitize(s.comm)}]`, at: now });
    }
    const live = new Set(stats.map((s) => s.pid));
    for (const pid of this.known.keys()) if (!live.has(pid)) this.known.delete(pid);
    return new Map(stats.map((s) => [s.pid, this.known.get(s.pid)!.command]));
  }
}
