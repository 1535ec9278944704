/**
 * What the experiment session and the attach session share: the /proc reader, the copy map
 * wish their samplers read (kept here, so that a restarted experiment's new sampler gets it),
 * and k's signal.
 */
import { EventEmitter } from 'node:events';
import { ProcReader } from '../proc/read';
import { signalProcess, type SignalName } from '../proc/signal';
import type { MapWish } from '../sample/sampler';

/** The signals whose default is to end a process: after one of them, an exit is expected. */
const ENDS: ReadonlySet<string> = new Set(['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGKILL']);

export abstract class SampledMonitor extends EventEmitter {
  readonly reader: ProcReader;
  /** Handed to each Sampler by reference: wantMap changes what the next tick does. */
  readonly mapWish: MapWish = { wanted: false, minGapMs: 500 };

  constructor(procRoot: string) {
    super();
    this.reader = new ProcReader(procRoot, { hold: true });
  }

  wantMap(on: boolean, minGapMs = 500): void {
    this.mapWish.wanted = on;
    this.mapWish.minGapMs = minGapMs;
  }

  async signal(pid: number, starttime: number | null, signal: SignalName): Promise<{ ok: boolean; text: string }> {
    const r = await signalProcess(this.reader, pid, starttime, signal);
    // Its exit is then no surprise: the views say who asked for it.
    if (r.ok && ENDS.has(signal)) this.expectExit(pid, `${signal} sent by cowtop (k)`);
    return r;
  }

  /** Where the session's tree keeps the exits it was told to expect. */
  protected abstract expectExit(pid: number, cause: string): void;
}
