/**
 * What the experiment session and the attach session share: the /proc reader, the copy map
 * wish their samplers read (kept here, so that a restarted experiment's new sampler gets it),
 * and k's signal.
 */
import { EventEmitter } from 'node:events';
import { ProcReader } from '../proc/read';
import { signalProcess, type SignalName } from '../proc/signal';
import type { MapWish } from '../sample/sampler';

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

  signal(pid: number, starttime: number | null, signal: SignalName): Promise<{ ok: boolean; text: string }> {
    return signalProcess(this.reader, pid, starttime, signal);
  }
}
