/**
 * Reads every process of the experiment once per tick and makes one immutable Snapshot. Deltas
 * are taken against the previous snapshot for the same pid *and* start time, so a reused pid
 * never inherits another process's counters.
 */
import type pidusageModule from 'pidusage';
import type { ProcReader, Read } from '../proc/read';
import type { ProcStat, SmapsRollup } from '../proc/parse';
import { sinceStart } from '../util/clock';
import { mapLimit } from '../util/map-limit';
import { nextTurn } from '../util/next-turn';
import { CgroupWatch } from './cgroup-watch';
import { CommandCache } from './command-cache';
import { readCopyMap, type CopyMap } from './copy-map';
import { OutsideWatch } from './outside-watch';
import { RollupCache } from './rollup-cache';
import type { MapWish, SampleSource } from './source';
import { totalsOf, type ProcessSample, type Role, type Snapshot } from './snapshot';

const CLOCK_TICKS = 100; // USER_HZ: 100 on every Linux architecture cowtop runs on

export type { MapWish, SampleSource } from './source';

interface Baseline {
  starttime: number | null;
  firstUss: number | null;
}

export class Sampler {
  private prev: Snapshot | null = null;
  private readonly baselines = new Map<number, Baseline>();
  private seq = 0;
  private procAvailable: boolean | null = null;
  private lastAt = Date.now();
  private rootGeneration: number | undefined;
  private readonly reuse: boolean; // false: every rollup read every tick, and no watch
  private movedRun = 0; // ticks in a row that the tree moved with the same members

  readonly rollups: RollupCache;
  /** Vouches for quiet processes' rollups between reads (root only): outside-watch.ts. */
  readonly watch: OutsideWatch;
  private readonly commands: CommandCache;
  /**
   * The copy map is read only while someone looks at it (the map or a detail pane, --map): it
   * costs a pagemap pass over every process. minGapMs keeps it to what it can afford: at least
   * five times its own last cost apart.
   */
  readonly map: MapWish;
  private lastMap: CopyMap | null = null;
  private mapNote: string | null = null;

  /** watchMinRss: the smallest process the outside watch takes a baseline for (tests lower it). */
  constructor(
    private readonly reader: ProcReader,
    private readonly source: SampleSource,
    options: { reuseRollups?: boolean; map?: MapWish; watchMinRss?: number } = {},
  ) {
    this.map = options.map ?? { wanted: false, minGapMs: 500 };
    this.reuse = options.reuseRollups ?? true;
    this.rollups = new RollupCache(this.reuse);
    this.watch = new OutsideWatch(reader, options.watchMinRss);
    this.commands = new CommandCache(reader);
    this.cgroups = new CgroupWatch(reader.root);
  }

  private readonly cgroups: CgroupWatch;

  get previous(): Snapshot | null {
    return this.prev;
  }

  async tick(): Promise<Snapshot> {
    const tickStart = process.hrtime.bigint();
    if (this.procAvailable === null) this.procAvailable = await this.reader.available();
    const now = Date.now();
    const elapsedMs = Math.max(1, now - this.lastAt);
    this.lastAt = now;
    const root = this.source.pid;
    // The parent's USS moves with its workers (pages they shared become its own when they exit):
    // its growth counts from the first sample after the latest fork of its workers.
    if (this.source.generation !== undefined && this.source.generation !== this.rootGeneration) {
      this.rootGeneration = this.source.generation;
      this.baselines.delete(root);
    }
    // The previous live rows by pid, once per tick: a linear search per row is O(n^2) on big trees.
    const before = new Map((this.prev?.processes ?? []).filter((p) => p.alive).map((p) => [p.pid, p]));
    const live = this.procAvailable
      ? await this.readProc(await this.reader.tree(root), before, elapsedMs)
      : await this.readPidusage([root, ...this.source.workers.keys()]);
    const livePids = new Set(live.map((p) => p.pid));
    const exited: ProcessSample[] = [];
    for (const [pid, exit] of this.source.exits) {
      if (livePids.has(pid)) continue;
      exited.push(this.exitedRow(pid, exit));
    }
    for (const pid of this.baselines.keys()) if (!livePids.has(pid)) this.baselines.delete(pid);
    const processes = [...live, ...exited].sort(byRoleThenIndex);
    const copies = this.procAvailable ? await this.copyMap(live, now) : null;
    const memory = this.procAvailable ? await this.cgroups.read(live, before) : null;
    // Stamped when the reads are done: an event that arrived during the tick (reads take a few ms,
    // a copy map more) then comes before this sample on the one clock, as it does in the output.
    const done = Date.now();
    const snap: Snapshot = Object.freeze({
      seq: ++this.seq,
      t: sinceStart(done),
      at: done,
      elapsedMs,
      freeze: this.source.freeze,
      strategy: this.source.gcStrategy ?? null,
      split: this.source.split ?? false,
      workload: this.source.workload,
      procAvailable: this.procAvailable,
      processes: Object.freeze(processes.map((p) => Object.freeze(p))),
      totals: Object.freeze(totalsOf(processes)),
      denied: processes.filter((p) => p.alive && p.error !== null).length,
      tickMs: Number(process.hrtime.bigint() - tickStart) / 1e6,
      copies,
      copiesNote: copies ? null : this.mapNote,
      ...(memory ? { cgroups: Object.freeze(memory.cgroups), ooms: Object.freeze(memory.ooms) } : {}),
    });
    this.prev = snap;
    return snap;
  }

  /** The copy map of this tick: read now if wanted and due, else the last one while wanted. */
  private async copyMap(live: readonly ProcessSample[], now: number): Promise<CopyMap | null> {
    if (!this.map.wanted) return (this.lastMap = null);
    const last = this.lastMap;
    const workers = live.filter((p) => p.role === 'worker').map((p) => p.pid);
    const current = new Set(workers); // a Set: 2,000 workers made includes() 4 million comparisons a tick
    const sameTree = last && last.workerCount === workers.length && last.workers.every((w) => current.has(w.pid));
    if (last && sameTree && now - last.at < Math.max(this.map.minGapMs, 5 * last.tookMs)) return last;
    const root = live.find((p) => p.pid === this.source.pid);
    if (!root) return null;
    const map = await readCopyMap(this.reader, root.pid, workers, this.source.kinds ?? null);
    if ('error' in map) {
      this.mapNote = map.error;
      return (this.lastMap = null);
    }
    this.mapNote = null;
    return (this.lastMap = Object.freeze(map));
  }

  /** Roles come from the tree: the root is the parent, its direct children are workers. */
  private frozenOf(pid: number): boolean | null {
    return this.source.split ? (this.source.workers.get(pid)?.freeze ?? null) : null;
  }

  private role(pid: number, ppid?: number): { role: Role; index: number | null } {
    if (pid === this.source.pid) return { role: this.source.rootRole ?? 'parent', index: null };
    const w = this.source.workers.get(pid);
    if (w) return { role: 'worker', index: w.index };
    if (ppid === this.source.pid) return { role: 'worker', index: this.source.assignWorker?.(pid) ?? null }; // not (yet) announced
    return { role: 'grandchild', index: null };
  }

  private async readProc(
    tree: Map<number, Read<ProcStat>>,
    prev: ReadonlyMap<number, ProcessSample>,
    elapsedMs: number,
  ): Promise<ProcessSample[]> {
    // stat for everyone (cheap, read with the tree); the rollups only when the tree's memory may
    // have changed, two at a time so that the kernel's page-table walks leave a core free.
    const stats: ProcStat[] = [];
    for (const st of tree.values()) {
      // Gone between listing and reading, or exited and not yet reaped: not a live row.
      if (st.ok && st.value.state !== 'Z' && st.value.state !== 'X') stats.push(st.value);
    }
    // In pid order: workers numbered on first sight are numbered as they were forked.
    stats.sort((a, b) => a.pid - b.pid);
    this.source.retain?.(new Set(stats.map((s) => s.pid)));
    const now = Date.now();
    if (this.reuse) await this.watch.prepare(this.source.pid);
    const plan = this.rollups.plan(stats, now, elapsedMs, (pid) => this.watch.has(pid));
    let toRead = stats;
    let vouched: number[] = [];
    if (plan.all) this.watch.forgetAll();
    else {
      const changed = plan.verify.size ? await this.watch.changed([...plan.verify]) : new Set<number>();
      vouched = [...plan.verify].filter((pid) => !changed.has(pid));
      toRead = stats.filter((s) => plan.pids.has(s.pid) || changed.has(s.pid));
    }
    const live = new Set(stats.map((s) => s.pid));
    if (this.watch.active) for (const [pid, p] of prev) if (!live.has(pid)) await this.watch.left(pid, p.starttime);
    this.watch.keepOnly(live);
    // The reads take baselines for the watch around them: on a quiet tree; and on a full read,
    // unless it is one of a run. A process started or exited (a fork phase: more are coming), or
    // the tree faulted in each of the last two ticks with the same members (a busy tree, which
    // would pay ~4 ms a process a tick for baselines it never uses). The workers' first reports
    // after a fork and a settled tree's occasional fault (often spread over two ticks) take them.
    // A read that finds every worker the experiment asked for ends its fork phase: it takes them,
    // where the 5 s bound would otherwise read every rollup again to take them.
    const joined = stats.length !== prev.size || stats.some((s) => !prev.has(s.pid));
    const complete = this.source.expectedWorkers !== undefined && stats.length === this.source.expectedWorkers + 1;
    const busy = plan.all && (!this.reuse || (joined && !complete) || this.movedRun >= 2);
    const capture = busy ? [] : toRead.filter((s) => this.watch.eligible(s)).map((s) => s.pid);
    for (const s of toRead) this.watch.forget(s.pid);
    this.movedRun = plan.all && !joined ? this.movedRun + 1 : 0;
    const [rollups] = await Promise.all([
      this.watch.around(capture, () =>
        mapLimit(toRead, ROLLUP_CONCURRENCY, async (s) => [s.pid, await this.reader.smapsRollup(s.pid)] as const),
      ),
      this.source.refresh?.(stats),
    ]);
    const fresh = new Map(rollups);
    this.rollups.store(stats, fresh, now, plan.all, vouched);
    const mems = new Map(stats.map((s) => [s.pid, fresh.get(s.pid) ?? this.rollups.reuse(s.pid)]));
    const commands = await this.commands.read(stats, now);
    const out: ProcessSample[] = [];
    for (let i = 0; i < stats.length; i++) {
      // A key waits for a slice of rows, not for all 2,000.
      if (i && i % ROW_SLICE === 0) await nextTurn();
      const stat = stats[i];
      const mem = mems.get(stat.pid)!;
      if (!mem.ok && mem.error === 'gone') continue; // exiting: its memory is already torn down
      const p = prev.get(stat.pid);
      out.push(
        this.liveRow(
          stat.pid,
          stat,
          mem,
          p?.starttime === stat.starttime ? p : undefined,
          elapsedMs,
          commands.get(stat.pid) ?? null,
        ),
      );
    }
    return out;
  }

  /** before: the same process (pid and start time) in the previous snapshot, if it was there. */
  private liveRow(
    pid: number,
    stat: ProcStat,
    mem: Read<SmapsRollup>,
    before: ProcessSample | undefined,
    elapsedMs: number,
    command: string | null,
  ): ProcessSample {
    const { role, index } = this.role(pid, stat.ppid);
    let base = this.baselines.get(pid);
    if (!base || base.starttime !== stat.starttime) {
      base = { starttime: stat.starttime, firstUss: null };
      this.baselines.set(pid, base);
    }
    const m = mem.ok ? mem.value : null;
    // The root's growth counts from its first sample with workers: before the first fork it is
    // still building the heap, and its USS falls as the pages become shared.
    const unforkedRoot = pid === this.source.pid && this.source.workers.size === 0;
    if (m && base.firstUss === null && !unforkedRoot) base.firstUss = m.uss;
    const ticks = stat.utime + stat.stime;
    return {
      pid,
      role,
      index,
      frozen: this.frozenOf(pid),
      alive: true,
      exit: null,
      state: stat.state,
      rss: m ? m.rss : stat.rssPages * PAGE,
      pss: m ? m.pss : null,
      uss: m ? m.uss : null,
      shared: m ? m.rss - m.uss : null,
      swap: m ? (m.swap ?? null) : null,
      ussGrowth: m && base.firstUss !== null ? m.uss - base.firstUss : null,
      minflt: stat.minflt,
      majflt: stat.majflt,
      // Same pid and start time as before, so the counters only grow: no clamp that could hide a mix-up.
      minfltDelta: before?.minflt != null ? stat.minflt - before.minflt : null,
      majfltDelta: before?.majflt != null ? stat.majflt - before.majflt : null,
      cpuTicks: ticks,
      cpu: before?.cpuTicks != null ? (((ticks - before.cpuTicks) / CLOCK_TICKS) * 1000 * 100) / elapsedMs : null,
      gc: this.source.gc.get(pid) ?? null,
      gcAge: this.source.gcAge?.(pid, Date.now()) ?? null,
      lastCollection: this.source.lastCollection.get(pid) ?? null,
      innerPid: this.source.innerPid?.(pid) ?? null,
      error: mem.ok || mem.error === 'gone' ? null : mem.message,
      starttime: stat.starttime,
      ppid: stat.ppid,
      command,
      rollup: m,
    };
  }

  /** Without /proc (macOS): RSS and CPU% from pidusage; USS, PSS and faults are unknown. */
  private async readPidusage(pids: number[]): Promise<ProcessSample[]> {
    // Loaded only here: where /proc exists, no start pays for it.
    const pidusage = (this.pidusage ??= require('pidusage') as typeof pidusageModule);
    const out: ProcessSample[] = [];
    await Promise.all(
      pids.map(async (pid) => {
        try {
          const s = await pidusage(pid);
          const { role, index } = this.role(pid);
          out.push({
            pid,
            role,
            index,
            frozen: this.frozenOf(pid),
            alive: true,
            exit: null,
            state: null,
            rss: s.memory,
            pss: null,
            uss: null,
            shared: null,
            swap: null,
            ussGrowth: null,
            minflt: null,
            majflt: null,
            minfltDelta: null,
            majfltDelta: null,
            cpuTicks: null,
            cpu: s.cpu,
            gc: this.source.gc.get(pid) ?? null,
            gcAge: this.source.gcAge?.(pid, Date.now()) ?? null,
            lastCollection: this.source.lastCollection.get(pid) ?? null,
            error: null,
            starttime: null,
          });
        } catch {
          // gone
        }
      }),
    );
    return out;
  }

  private exitedRow(pid: number, exit: ProcessSample['exit']): ProcessSample {
    const { index } = this.role(pid);
    const last = this.prev?.processes.find((p) => p.pid === pid);
    return {
      pid,
      role: last?.role ?? 'worker',
      index: last?.index ?? index,
      frozen: last?.frozen ?? null,
      alive: false,
      exit,
      state: null,
      rss: null,
      pss: null,
      uss: null,
      shared: null,
      swap: null,
      ussGrowth: last?.ussGrowth ?? null,
      minflt: last?.minflt ?? null,
      majflt: last?.majflt ?? null,
      minfltDelta: null,
      majfltDelta: null,
      cpuTicks: null,
      cpu: null,
      gc: last?.gc ?? null,
      lastCollection: this.source.lastCollection.get(pid) ?? last?.lastCollection ?? null,
      error: null,
      starttime: last?.starttime ?? null,
      ppid: last?.ppid ?? null,
      command: last?.command ?? null,
      rollup: null,
    };
  }

  private pidusage: typeof pidusageModule | null = null;

  /** Stops pidusage's internal history timers. */
  close(): void {
    this.pidusage?.clear();
  }
}

const PAGE = 4096;
const ROLLUP_CONCURRENCY = 2;
/** Rows made between two turns of the event loop (~3 ms at 2,000 processes). */
const ROW_SLICE = 256;

const ROLE_ORDER: Record<Role, number> = { parent: 0, master: 0, worker: 1, grandchild: 2 };
function byRoleThenIndex(a: ProcessSample, b: ProcessSample): number {
  return (
    ROLE_ORDER[a.role] - ROLE_ORDER[b.role] ||
    Number(b.alive) - Number(a.alive) ||
    (a.index ?? 1e9) - (b.index ?? 1e9) ||
    a.pid - b.pid
  );
}
