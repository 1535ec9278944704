/**
 * attach --match REGEX: the server's master found by its command line, as a sidecar must (it
 * starts beside the server and cannot know its pid). The master is the oldest matching process
 * whose parent does not match: gunicorn's workers share the master's command line.
 */
import { promises as fs } from 'node:fs';
import type { ProcReader } from '../proc/read';

export interface Candidate {
  readonly pid: number;
  readonly ppid: number;
  readonly starttime: number;
  readonly command: string;
}

/** The master among the processes (pure): matching, its parent not matching, oldest; never one of `not`. */
export function pickMaster(all: readonly Candidate[], pattern: RegExp, not: ReadonlySet<number>): Candidate | null {
  const matching = all.filter((c) => !not.has(c.pid) && pattern.test(c.command));
  const pids = new Set(matching.map((c) => c.pid));
  const roots = matching.filter((c) => !pids.has(c.ppid));
  roots.sort((a, b) => a.starttime - b.starttime || a.pid - b.pid);
  return roots[0] ?? null;
}

/** This process and its ancestors: `sh -c "cowtop attach --match gunicorn"` matches itself. */
async function selfAndAncestors(reader: ProcReader): Promise<Set<number>> {
  const out = new Set<number>([process.pid]);
  let pid = process.ppid;
  while (pid > 1 && !out.has(pid)) {
    out.add(pid);
    const st = await reader.stat(pid);
    if (!st.ok) break;
    pid = st.value.ppid;
  }
  return out;
}

/** One scan of the processes this reader sees. */
export async function findMaster(reader: ProcReader, pattern: RegExp): Promise<Candidate | null> {
  const not = await selfAndAncestors(reader);
  const names = (await fs.readdir(reader.root)).filter((n) => /^\d+$/.test(n));
  const all: Candidate[] = [];
  for (const n of names) {
    const pid = Number(n);
    if (not.has(pid)) continue;
    const [st, command] = await Promise.all([reader.stat(pid), reader.cmdline(pid)]);
    // Kernel threads have no command line: nothing to attach to.
    if (!st.ok || !command) continue;
    all.push({ pid, ppid: st.value.ppid, starttime: st.value.starttime, command });
  }
  return pickMaster(all, pattern, not);
}
