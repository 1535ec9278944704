/**
 * A running process tree that cowtop did not start (gunicorn, uWSGI, Celery): roles come from
 * the tree, workers are numbered as they appear (a respawned worker takes the freed number),
 * workers that vanish are kept as exited rows for a while, gc state comes from the agent.
 */
import { gcAgeOf, type CollectionMessage, type ExitMessage, type GcAge, type GcMessage } from '../experiment/protocol';
import type { ProcReader } from '../proc/read';
import type { SampleSource } from '../sample/sampler';
import type { Role, Snapshot } from '../sample/snapshot';
import { AgentReader, type AgentTarget } from './agent';
import { type Placement, placementOf } from '../proc/placement';
import * as path from 'node:path';

const KEEP_EXITED_MS = 60_000;
/** sys.implementation.name as people write it. */
const IMPLEMENTATIONS: Record<string, string> = { cpython: 'CPython', pypy: 'PyPy' };
const MAX_EXITED = 32;

export class AttachedTree implements SampleSource {
  readonly rootRole: Role = 'master';
  readonly workers = new Map<number, { index: number }>();
  readonly exits = new Map<number, ExitMessage>();
  readonly gc = new Map<number, GcMessage>();
  readonly lastCollection = new Map<number, CollectionMessage>();
  /** When each process's agent wrote the state in `gc` (epoch seconds). */
  readonly gcAt = new Map<number, number>();
  /** Each agent's write interval (ms): its data is stale past 3 of them. */
  private readonly gcEvery = new Map<number, number>();
  readonly workload = 'attached';
  private readonly exitedAt = new Map<number, number>();
  private live = new Set<number>();
  /** Owner uid and placement per process (pid:starttime): read once, not every tick. */
  private uids = new Map<string, { uid: number | null; inner: AgentTarget['inner'] }>();
  /** Where the root runs (its PID namespace, container, cgroup), once read. */
  rootPlacement: Placement | null = null;
  agentCount = 0;
  implementation: string | null = null;

  private readonly agents: AgentReader;

  constructor(
    readonly pid: number,
    private readonly reader: ProcReader,
    onNotice: (text: string) => void = () => {},
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.agents = new AgentReader(onNotice, env);
  }

  /**
   * Whether the tree runs frozen, as its processes report it: the workers' own frozen counts
   * (what gc.freeze() before fork leaves in each), else the master's while no worker reported.
   * Without the agent (a bash tree, a server without it) nobody knows: null, never a made-up
   * "off"; and what cowtop run asked for is no observation (a wrapper can lose the recipe).
   */
  get freeze(): boolean | null {
    let reported = false;
    for (const pid of this.workers.keys()) {
      const frozen = this.gc.get(pid)?.frozen;
      if (frozen === undefined || frozen === null) continue;
      if (frozen > 0) return true;
      reported = true;
    }
    if (reported) return false;
    const master = this.gc.get(this.pid)?.frozen;
    return master === undefined || master === null ? null : master > 0;
  }

  private readonly expected = new Map<number, string>();

  /** cowtop sent pid a signal: when it goes, that is why. */
  expectExit(pid: number, cause: string): void {
    this.expected.set(pid, cause);
  }

  /** How old a process's agent data is: an agent that cannot write (a full disk) leaves it as it was. */
  gcAge(pid: number, now: number): GcAge | null {
    const at = this.gcAt.get(pid);
    return gcAgeOf(at === undefined ? undefined : at * 1000, this.gcEvery.get(pid) ?? 1000, now);
  }

  /** Worker numbers in use, and the lowest that may be free: numbering 2,000 workers is O(n), not O(n^2). */
  private readonly usedIndex = new Set<number>();
  private freeHint = 0;

  retain(live: ReadonlySet<number>): void {
    for (const [pid, w] of this.workers) {
      if (live.has(pid)) continue;
      this.workers.delete(pid);
      this.usedIndex.delete(w.index);
      this.freeHint = Math.min(this.freeHint, w.index);
    }
  }

  /** A new worker takes the lowest free number, as a replaced worker's successor takes its place. */
  assignWorker(pid: number): number {
    const known = this.workers.get(pid);
    if (known) return known.index;
    while (this.usedIndex.has(this.freeHint)) this.freeHint++;
    const i = this.freeHint;
    this.usedIndex.add(i);
    this.workers.set(pid, { index: i });
    return i;
  }

  /**
   * After each snapshot: mark vanished processes, forget old ones. Returns what changed since the
   * last one: pids that appeared and pids that vanished, and the full collections refresh() saw.
   */
  async observe(
    snap: Snapshot,
    now = Date.now(),
  ): Promise<{ appeared: number[]; vanished: number[]; collections: CollectionMessage[] }> {
    const live = new Set(snap.processes.filter((p) => p.alive).map((p) => p.pid));
    const first = this.live.size === 0;
    const appeared = first ? [] : [...live].filter((p) => !this.live.has(p));
    const vanished: number[] = [];
    for (const pid of this.live) {
      if (live.has(pid) || pid === this.pid) continue;
      vanished.push(pid);
      // Not cowtop's child: its exit status is not cowtop's to read. A signal k sent is known;
      // anything else (a crash, the server recycling it, a pool child done) is not, and is not
      // said to be unexpected.
      const cause = this.expected.get(pid) ?? "cause unknown: not cowtop's child";
      this.expected.delete(pid);
      this.exits.set(pid, { type: 'exit', pid, requested: true, cause });
      this.exitedAt.set(pid, now);
      this.gcAt.delete(pid);
      this.gcEvery.delete(pid);
      this.inner.delete(pid);
      this.gc.delete(pid); // its number was freed by retain(), before this tick's rows were made
    }
    this.live = live;
    for (const [pid, at] of this.exitedAt) {
      if (now - at > KEEP_EXITED_MS || this.exitedAt.size > MAX_EXITED) {
        this.exitedAt.delete(pid);
        this.exits.delete(pid);
        this.lastCollection.delete(pid);
      }
    }
    const collections = this.collections;
    this.collections = [];
    return { appeared, vanished, collections };
  }

  /** Pids as their own namespace sees them, where that is not cowtop's. */
  private readonly inner = new Map<number, number>();

  innerPid(pid: number): number | null {
    return this.inner.get(pid) ?? null;
  }

  /** Its owner, and for a process in another mount namespace where its agent writes. */
  private async whereIs(pid: number): Promise<{ uid: number | null; inner: AgentTarget['inner'] }> {
    const [uid, placed] = await Promise.all([this.reader.uid(pid), placementOf(pid, this.reader.root)]);
    if (pid === this.pid && placed) this.rootPlacement = placed;
    if (placed?.otherPidNs) this.inner.set(pid, placed.innerPid);
    if (uid === null || !placed?.otherMountNs || placed.mountNs === null) return { uid, inner: null };
    return {
      uid,
      inner: {
        pid: placed.innerPid,
        uid: placed.innerUid ?? uid,
        root: path.join(this.reader.root, String(pid), 'root'),
        mountNs: placed.mountNs,
      },
    };
  }

  /** Full collections the agents counted since the last read: events, as the experiment's are. */
  private collections: CollectionMessage[] = [];

  /**
   * The agents' files of this tick's live processes, read before its rows are made: the rows
   * carry what each agent wrote by now, not what it wrote a tick ago.
   */
  async refresh(live: ReadonlyArray<{ pid: number; starttime: number | null }>): Promise<void> {
    const keys = new Set(live.map((p) => `${p.pid}:${p.starttime}`));
    for (const k of this.uids.keys()) if (!keys.has(k)) this.uids.delete(k);
    const targets = await Promise.all(
      live.map(async (p) => {
        const key = `${p.pid}:${p.starttime}`;
        if (!this.uids.has(key)) this.uids.set(key, await this.whereIs(p.pid));
        const { uid, inner } = this.uids.get(key)!;
        return { pid: p.pid, uid, starttime: p.starttime, inner };
      }),
    );
    const states = await this.agents.readAll(
      targets.flatMap((t) => (t.uid === null ? [] : [{ ...t, uid: t.uid } satisfies AgentTarget])),
    );
    let count = 0;
    for (const s of states) {
      count++;
      const before = this.gc.get(s.pid)?.stats?.[2]?.collections;
      const after = s.gc.stats?.[2]?.collections;
      if (before !== undefined && after !== undefined && after > before) {
        const last = s.last?.generation === 2 ? s.last : null;
        this.collections.push({
          type: 'collection',
          pid: s.pid,
          generation: 2,
          duration: last?.duration ?? null,
          collected: last?.collected ?? null,
          uncollectable: last?.uncollectable ?? null,
          explicit: false,
        });
      }
      this.gc.set(s.pid, s.gc);
      this.gcAt.set(s.pid, s.t);
      this.gcEvery.set(s.pid, (s.interval ?? 1) * 1000);
      if (s.last) this.lastCollection.set(s.pid, s.last);
      this.implementation = `${IMPLEMENTATIONS[s.implementation] ?? s.implementation} ${s.version}`;
    }
    this.agentCount = count;
  }
}
