/** `cowtop attach <pid>`: sample a running tree, with gc state from the agent where it runs. */
import type { AttachInfo, Monitor } from './monitor';
import { SampledMonitor } from './sampled-monitor';
import { lifecycle } from '../lifecycle';
import { UsageError } from '../util/usage-error';
import { PF_KTHREAD } from '../proc/parse';
import { startSampling, type SamplingLoop } from '../sample/loop';
import { Sampler } from '../sample/sampler';
import type { Snapshot } from '../sample/snapshot';
import { agentDirProblem } from '../attach/agent';
import { AttachedTree } from '../attach/tree';
import { findMaster } from '../attach/find';

export class AttachSession extends SampledMonitor implements Monitor {
  readonly kind = 'attach';
  readonly experiment = null;
  attached: AttachInfo | null = null;
  protected tree: AttachedTree | null = null;
  private loop: SamplingLoop | null = null;
  private toldDenied = false;
  private toldNoAgent = false;
  /** Where the agents write (COWTOP_AGENT_DIR): cowtop run's server environment, else cowtop's. */
  protected agentEnv: NodeJS.ProcessEnv = process.env;
  private toldStale = false;
  private gone = false;

  constructor(
    readonly options: {
      pid: number;
      interval: number;
      procRoot: string;
      match?: { pattern: RegExp; waitMs: number } | null;
    },
  ) {
    // The pid may be set later, by a subclass that starts the tree (cowtop run).
    super(options.procRoot);
    lifecycle.onExit(() => this.loop?.stop());
  }

  async start(): Promise<void> {
    if (!(await this.reader.available()))
      throw new UsageError(`cannot read ${this.options.procRoot}: attach needs Linux /proc`);
    if (this.options.match) this.options.pid = await this.waitForMatch(this.options.match);
    const { pid } = this.options;
    const stat = await this.reader.stat(pid);
    if (!stat.ok) {
      throw new UsageError(
        stat.error === 'gone' ? `no process with pid ${pid}` : `cannot read process ${pid}: ${stat.message}`,
      );
    }
    if (stat.value.flags & PF_KTHREAD)
      throw new UsageError(`pid ${pid} (${stat.value.comm}) is a kernel thread: it has no user memory to watch`);
    const command = (await this.reader.cmdline(pid)) || stat.value.comm;
    this.attached = { pid, command, agents: 0, implementation: null };
    const tree = (this.tree = new AttachedTree(pid, this.reader, (text) => this.emit('notice', text), this.agentEnv));
    // A directory the agent will not write into is said now: otherwise only "no gc agent
    // answered" would come, seconds later, without why.
    const uid = await this.reader.uid(pid);
    const why = uid === null ? null : agentDirProblem(uid, this.agentEnv);
    if (why) {
      this.toldNoAgent = true;
      this.emit('notice', `${why}: memory and faults only`);
    }
    const sampler = new Sampler(this.reader, tree, { map: this.mapWish });
    this.emit('spawn');
    this.loop = startSampling(
      sampler,
      this.options.interval,
      (snap) => void this.onSnapshot(snap),
      (err) => this.emit('log', { stream: 'stderr', text: `sampling failed: ${(err as Error).message}` }),
    );
  }

  private async onSnapshot(snap: Snapshot): Promise<void> {
    const tree = this.tree!;
    const { appeared, vanished, collections } = await tree.observe(snap);
    // The same events the experiment reports: a respawned worker appears, an exited one goes.
    for (const pid of vanished) this.emit('report', tree.exits.get(pid) ?? { type: 'exit', pid, requested: false });
    const byPid = appeared.length ? new Map(snap.processes.map((p) => [p.pid, p])) : null; // 2,000 appear at once
    for (const pid of appeared) {
      const p = byPid!.get(pid)!;
      this.emit('report', {
        type: 'fork',
        pid,
        parent: this.options.pid,
        index: p.index ?? -1,
        freeze: tree.freeze,
        workload: 'attached',
        generation: 0,
      });
    }
    for (const c of collections) this.emit('report', c);
    this.attached = {
      ...this.attached!,
      agents: tree.agentCount,
      implementation: tree.implementation,
      where: tree.rootPlacement,
    };
    this.emit('snapshot', snap);
    if (snap.denied > 0 && !this.toldDenied) {
      this.toldDenied = true;
      const uid = await this.reader.uid(this.options.pid);
      this.emit(
        'notice',
        `USS and PSS of ${snap.denied} processes are missing: permission denied (they belong to uid ${uid}); run as that user or as root. RSS and faults come from stat.`,
      );
    }
    const stale = snap.processes.filter((p) => p.alive && p.gcAge?.stale);
    if (stale.length && !this.toldStale) {
      this.toldStale = true;
      const oldest = Math.max(...stale.map((p) => p.gcAge!.ms));
      this.emit(
        'notice',
        `gc data of ${stale.length === 1 ? `pid ${stale[0].pid}` : `${stale.length} processes`} is ${Math.round(oldest / 1000)} s old: its agent has stopped writing (a full or read-only file system?); shown dimmed with its age until it writes again`,
      );
    }
    if (tree.agentCount === 0 && !this.toldNoAgent && snap.seq >= 3) {
      this.toldNoAgent = true;
      this.emit('log', {
        stream: 'stdout',
        text: 'no gc agent answered: memory and faults only (see cowtop agent --path)',
      });
    }
    if (!this.gone && !snap.processes.some((p) => p.pid === this.options.pid && p.alive)) {
      this.gone = true;
      this.emit('died', await this.rootGone());
    }
  }

  /** --match: polls until the master appears (a sidecar starts beside its server), or gives up. */
  private async waitForMatch(m: { pattern: RegExp; waitMs: number }): Promise<number> {
    const end = Date.now() + m.waitMs;
    let told = false;
    for (;;) {
      const found = await findMaster(this.reader, m.pattern);
      if (found) {
        this.emit(
          'notice',
          `attached to pid ${found.pid} (${found.command.slice(0, 60)}): it matches /${m.pattern.source}/`,
        );
        return found.pid;
      }
      if (Date.now() >= end)
        throw new Error(`no process matches /${m.pattern.source}/ after ${Math.round(m.waitMs / 1000)} s`);
      if (!told) this.emit('notice', `waiting for a process matching /${m.pattern.source}/`);
      told = true;
      await new Promise<void>((r) => setTimeout(r, 500));
    }
  }

  /** What the 'died' event says when the root exits. */
  protected async rootGone(): Promise<string> {
    return `pid ${this.options.pid} (${this.attached!.command.slice(0, 60)}) exited`;
  }

  /** The exit code --batch ends with when the root is gone: watching a server that stops is no failure. */
  get diedExitCode(): number {
    return 0;
  }

  protected expectExit(pid: number, cause: string): void {
    this.tree?.expectExit(pid, cause);
  }

  get intervalMs(): number {
    return this.options.interval;
  }

  /** Sampling only: the agents write at their own COWTOP_AGENT_INTERVAL. */
  setInterval(ms: number): void {
    this.options.interval = ms;
    this.loop?.setInterval(ms);
  }

  restart(): Promise<never> {
    return Promise.reject(new Error('an attached process cannot be restarted by cowtop'));
  }
}
