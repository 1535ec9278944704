/** Runs the sampler on a fixed schedule. Ticks never overlap: a slow tick delays the next one. */
import type { Sampler } from './sampler';
import type { Snapshot } from './snapshot';

export function startSampling(sampler: Sampler, intervalMs: number, onSnapshot: (s: Snapshot) => void, onError: (err: unknown) => void): () => void {
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let next = Date.now();
  const run = async (): Promise<void> => {
    if (stopped) return;
    try {
      const snap = await sampler.tick();
      if (!stopped) onSnapshot(snap);
    } catch (err) {
      onError(err);
    }
    if (stopped) return;
    next += intervalMs;
    const now = Date.now();
    if (next < now) next = now; // fell behind: do not try to catch up in a burst
    timer = setTimeout(run, next - now);
  };
  void run();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
