/** Runs the sampler on a fixed schedule. Ticks never overlap: a slow tick delays the next one. */
import type { Sampler } from './sampler';
import type { Snapshot } from './snapshot';

export interface SamplingLoop {
  stop(): void;
  /** Samples now (after the tick under way, if any): new workers show at once, not a tick later. */
  kick(): void;
  /** A new interval from now on; the tick under way, if any, finishes first. */
  setInterval(ms: number): void;
  readonly intervalMs: number;
}

export function startSampling(
  sampler: Sampler,
  intervalMs: number,
  onSnapshot: (s: Snapshot) => void,
  onError: (err: unknown) => void,
): SamplingLoop {
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let running = false;
  let kicked = false;
  let next = Date.now();
  const run = async (): Promise<void> => {
    if (stopped) return;
    running = true;
    kicked = false;
    try {
      const snap = await sampler.tick();
      if (!stopped) onSnapshot(snap);
    } catch (err) {
      onError(err);
    }
    running = false;
    if (stopped) return;
    next += intervalMs;
    const now = Date.now();
    if (next < now) next = now; // fell behind: do not try to catch up in a burst
    timer = setTimeout(run, kicked ? 0 : next - now);
  };
  void run();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
    get intervalMs() {
      return intervalMs;
    },
    setInterval(ms) {
      const last = next - intervalMs; // when the last tick was due
      intervalMs = ms;
      if (stopped || running) return; // run() schedules with the new one
      if (timer) clearTimeout(timer);
      next = Math.max(Date.now(), last + ms);
      timer = setTimeout(run, next - Date.now());
    },
    kick() {
      if (stopped) return;
      if (running) {
        kicked = true;
        return;
      }
      if (timer) clearTimeout(timer);
      next = Date.now();
      timer = setTimeout(run, 0);
    },
  };
}
