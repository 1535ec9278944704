/**
 * One running experiment and its sampling, as the dashboard and --batch both use it: start,
 * restart after the Python parent died, and stop the workers when memory runs short.
 */
import type { Experiment, LogLine } from '../experiment/experiment';
import { memoryLow } from '../experiment/memory';
import type { ExperimentOptions } from '../experiment/options';
import type { ReadyMessage, Report } from '../experiment/protocol';
import type { PythonInfo } from '../experiment/python';
import { lifecycle } from '../lifecycle';
import { startSampling, type SamplingLoop } from '../sample/loop';
import { Sampler } from '../sample/sampler';
import type { Snapshot } from '../sample/snapshot';
import type { Monitor } from './monitor';
import { SampledMonitor } from './sampled-monitor';
import { startExperiment, type Started } from './start-experiment';

const MEMORY_CHECK_MS = 2000; // MemAvailable moves in seconds, not in ticks

export interface SessionOptions {
  experiment: ExperimentOptions;
  procRoot: string;
  minAvailable: number; // percent of memory below which the workers are stopped
  force: boolean;
  /**
   * Samples the Python parent while it builds its heap, from the moment the memory guard lets the
   * build go (the dashboard: its row and charts grow as top's would). --batch leaves it off: its
   * samples are the tree's, from the fork.
   */
  sampleBuild?: boolean;
}

/**
 * Events: 'snapshot' (Snapshot), 'report' (Report), 'log' (LogLine), 'spawn' (Experiment),
 * 'died' (exit status of a Python parent nobody asked to stop), 'memory' (why workers stopped).
 */
export class Session extends SampledMonitor implements Monitor {
  readonly kind = 'experiment';
  readonly attached = null;
  experiment: Experiment | null = null;
  ready: ReadyMessage | null = null;
  python: PythonInfo | null = null;
  private sampler: Sampler | null = null;
  private loop: SamplingLoop | null = null;
  private memoryCheckedAt = 0;
  private memoryStopped = false;

  constructor(readonly options: SessionOptions) {
    super(options.procRoot);
    lifecycle.onExit(() => this.stopLoop());
  }

  async start(): Promise<ReadyMessage> {
    let started: Started;
    try {
      started = await startExperiment(
        this.options.experiment,
        { force: this.options.force, reader: this.reader },
        (l: LogLine) => this.emit('log', l),
        (e, python) => {
          this.experiment = e;
          this.python = python;
          e.on('report', (r: Report) => this.onReport(r));
          e.on('exit', (st) => {
            if (!lifecycle.isEnding && this.experiment === e)
              this.emit('died', `the experiment's Python parent exited (${st.signal ?? `code ${st.code}`})`);
          });
          // Called once the memory guard let the build go: the parent is all the tree there is.
          if (this.options.sampleBuild) this.startLoop(e);
          this.emit('spawn', e);
        },
      );
    } catch (err) {
      this.stopLoop(); // a build that failed leaves nothing sampling a dead process
      throw err;
    }
    this.ready = started.ready;
    this.memoryStopped = false;
    if (!this.loop) this.startLoop(started.experiment);
    return started.ready;
  }

  private startLoop(e: Experiment): void {
    this.sampler = new Sampler(this.reader, e, { map: this.mapWish });
    this.loop = startSampling(
      this.sampler,
      this.options.experiment.interval,
      (snap) => {
        this.emit('snapshot', snap);
        void this.watchMemory(snap);
      },
      (err) => this.emit('log', { stream: 'stderr', text: `sampling failed: ${(err as Error).message}` }),
    );
  }

  /** Starts a new experiment after the old one is gone (its Python parent died). */
  async restart(): Promise<ReadyMessage> {
    this.stopLoop();
    const old = this.experiment;
    this.experiment = null;
    if (old) await lifecycle.untrack(old);
    return this.start();
  }

  private oomKills: number | null = null;

  private onReport(r: Report): void {
    if (r.type === 'scale' && r.workers.length > 0) this.memoryStopped = false;
    if (r.type === 'ready') void this.reader.oomKills().then((n) => (this.oomKills = n));
    // New workers show at the next tick, not an interval later (a burst of forks makes two ticks at most).
    if (r.type === 'refork' || r.type === 'scale' || r.type === 'fork') this.loop?.kick();
    this.emit('report', r);
    if (r.type === 'exit' && !r.requested && r.signal === 9) void this.blameOom(r.pid);
  }

  /** A worker SIGKILLed by nobody we know: if the OOM killer's count went up, say so. */
  private async blameOom(pid: number): Promise<void> {
    const now = await this.reader.oomKills();
    if (now !== null && this.oomKills !== null && now > this.oomKills) {
      this.emit('log', {
        stream: 'stderr',
        text: `worker ${pid} was killed by the kernel's OOM killer (oom_kill ${this.oomKills} -> ${now})`,
      });
    }
    this.oomKills = now;
  }

  private async watchMemory(snap: Snapshot): Promise<void> {
    const e = this.experiment;
    if (!e?.alive || this.memoryStopped || !snap.procAvailable) return;
    if (!snap.processes.some((p) => p.role === 'worker' && p.alive)) return;
    if (Date.now() - this.memoryCheckedAt < MEMORY_CHECK_MS) return;
    this.memoryCheckedAt = Date.now();
    const why = memoryLow(await this.reader.memoryRoom(), this.options.minAvailable);
    if (!why || this.memoryStopped) return;
    this.memoryStopped = true;
    e.send({ cmd: 'stop' });
    this.emit('memory', why);
  }

  protected expectExit(pid: number, cause: string): void {
    this.experiment?.expectExit(pid, cause);
  }

  get intervalMs(): number {
    return this.options.experiment.interval;
  }

  /** Sampling and the Python gc reports both move to the new interval (a restart keeps it). */
  setInterval(ms: number): void {
    this.options.experiment.interval = ms;
    this.loop?.setInterval(ms);
    if (this.experiment?.alive) this.experiment.send({ cmd: 'interval', ms });
  }

  private stopLoop(): void {
    this.loop?.stop();
    this.loop = null;
    this.sampler?.close();
  }
}
