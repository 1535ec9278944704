/**
 * The memory cgroups a tree's processes are in, each tick: their usage against their limit,
 * and the OOM kills in them since the last tick, with the processes of the tree that went.
 * A process's cgroup is read each tick in its first seconds (a launcher enters its container's
 * cgroup, then execs the server: same pid, same start time) and every REREAD_MS after.
 */
import { readCgroupMemory, readCgroupMemoryVia } from '../proc/cgroup';
import { cgroupOfPid } from '../proc/placement';
import { formatBytes } from '../format/units';
import type { CgroupSample, OomKill, ProcessSample } from './snapshot';

export type { CgroupSample, OomKill };

/** At most this many cgroups a tick, those with most of the tree's processes first. */
const MAX_CGROUPS = 8;
const YOUNG_MS = 5000;
const HOLD_MS = 10_000;
const REREAD_MS = 30_000;

type Place = { version: 1 | 2; path: string } | null;

export class CgroupWatch {
  private readonly of = new Map<string, { place: Place; seen: number; read: number }>();
  private readonly oomBefore = new Map<string, number>();
  /** Where each process was a tick ago: an exited one's cgroup. */
  private lastPlace = new Map<number, string>();
  /**
   * OOM kills counted before their victim was seen gone: the kernel counts a kill as it sends
   * SIGKILL, and the process may still be listed that tick. Named once it vanishes, or after
   * HOLD_MS without a name (a victim under memory pressure can take seconds to exit).
   */
  private readonly pending = new Map<string, OomKill & { since: number }>();

  constructor(
    private readonly procRoot = '/proc',
    private readonly cgroupRoot = process.env.COWTOP_CGROUP_ROOT || '/sys/fs/cgroup',
  ) {}

  private async cgroupOf(pid: number, starttime: number | null): Promise<Place> {
    const key = `${pid}:${starttime}`;
    const now = Date.now();
    const had = this.of.get(key);
    if (had && now - had.seen >= YOUNG_MS && now - had.read < REREAD_MS) return had.place;
    const place = await cgroupOfPid(pid, this.procRoot);
    this.of.set(key, { place, seen: had?.seen ?? now, read: now });
    return place;
  }

  async read(
    live: readonly ProcessSample[],
    before: ReadonlyMap<number, ProcessSample>,
  ): Promise<{ cgroups: CgroupSample[]; ooms: OomKill[] }> {
    const now = Date.now();
    const keys = new Set(live.map((p) => `${p.pid}:${p.starttime}`));
    for (const k of this.of.keys()) if (!keys.has(k)) this.of.delete(k);
    const groups = new Map<string, { version: 1 | 2; path: string; pids: Set<number> }>();
    const place = new Map<number, string>();
    for (const p of live) {
      const cg = await this.cgroupOf(p.pid, p.starttime);
      if (!cg) continue;
      const key = `${cg.version}:${cg.path}`;
      const g = groups.get(key) ?? { ...cg, pids: new Set<number>() };
      g.pids.add(p.pid);
      groups.set(key, g);
      place.set(p.pid, key);
    }
    const chosen = [...groups.entries()].sort((a, b) => b[1].pids.size - a[1].pids.size).slice(0, MAX_CGROUPS);
    const cgroups: CgroupSample[] = [];
    const ooms: OomKill[] = [];
    for (const [key, g] of chosen) {
      const first = g.pids.values().next().value!;
      const mem =
        (await readCgroupMemory(g.version, g.path, this.cgroupRoot)) ??
        (await readCgroupMemoryVia(g.version, g.path, `${this.procRoot}/${first}/root`, first));
      if (!mem) continue;
      const outside = mem.pids === null ? null : mem.pids.filter((pid) => !g.pids.has(pid)).length;
      cgroups.push({ ...mem, treeProcesses: g.pids.size, outside });
      const was = this.oomBefore.get(key);
      if (mem.oomKills !== null) this.oomBefore.set(key, mem.oomKills);
      const gone = [...before.values()]
        .filter((p) => this.lastPlace.get(p.pid) === key && !place.has(p.pid))
        .map((p) => ({ pid: p.pid, role: p.role, index: p.index }));
      const held = this.pending.get(key);
      const more = was === undefined || mem.oomKills === null || mem.oomKills <= was ? 0 : mem.oomKills - was;
      if (!more && !held) continue;
      const kill = {
        cgroup: mem.path,
        kills: (held?.kills ?? 0) + more,
        usage: held?.usage ?? mem.usage,
        limit: mem.limit,
        gone,
        since: held?.since ?? now,
      };
      if (gone.length || now - kill.since >= HOLD_MS) {
        this.pending.delete(key);
        const { since: _, ...event } = kill;
        ooms.push(event);
      } else this.pending.set(key, kill);
    }
    this.lastPlace = place;
    return { cgroups, ooms };
  }
}

/** "worker 3 OOM-killed: cgroup /pod.../ at 2.0 GiB of 2.0 GiB", as the log and the records say it. */
export function oomText(o: OomKill): string {
  const who = o.gone.length
    ? o.gone
        .map((g) => (g.role === 'worker' && g.index !== null ? `worker ${g.index + 1}` : `${g.role} ${g.pid}`))
        .join(', ')
    : o.kills === 1
      ? 'a process'
      : `${o.kills} processes`;
  const at =
    o.usage === null ? '' : ` at ${formatBytes(o.usage)}${o.limit === null ? '' : ` of ${formatBytes(o.limit)}`}`;
  return `${who} OOM-killed: cgroup ${o.cgroup}${at}`;
}
