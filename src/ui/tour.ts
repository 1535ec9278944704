/**
 * `cowtop demo`: the dashboard driven by a script of steps, each with a caption that says what is
 * about to happen and what to watch. The steps are one table (like the key table): each acts
 * through the same actions the keys use, then waits until its effect is on screen (a sample
 * shows it), never for a fixed time, so the tour is right on a slow machine too; --speed scales
 * only the pauses after each effect.
 */
import { formatBytes, formatCount, formatReduction } from '../format/units';
import type { Snapshot } from '../sample/snapshot';
import type { DashboardModel } from './model';

/** What a step may do: the dashboard's own actions. */
export interface TourActions {
  collect(): void;
  freeze(on: boolean): void;
  workload(name: string): void;
  split(on: boolean): void;
  map(open: boolean): void;
}

/** What a step's effect is judged against: the moment it started. */
export interface StepStart {
  seq: number; // the last snapshot's sequence number when the step began
  workers: number[]; // live worker pids then
}

export interface TourStep {
  id: number;
  name: string;
  needsFreeze?: boolean; // skipped, with the reason, where gc.freeze() does not exist (PyPy)
  caption(m: DashboardModel): string;
  start(a: TourActions): void;
  done(m: DashboardModel, s: Snapshot, at: StepStart): boolean;
  holdMs: number; // how long the caption stays once the effect is on screen, at --speed 1
  after?(a: TourActions): void;
}

const workers = (s: Snapshot) => s.processes.filter((p) => p.role === 'worker' && p.alive);
const heap = (m: DashboardModel): number => m.ready?.heapBytes ?? 0;
/** A sample taken after the step began (two ticks on, so it saw what the step did). */
const later = (s: Snapshot, at: StepStart, ticks = 2): boolean => s.seq >= at.seq + ticks;
/** Every live worker is one forked since the step began, and sampled. */
const reforked = (m: DashboardModel, s: Snapshot, at: StepStart): boolean =>
  !m.view.pending && workers(s).length > 0 && workers(s).every((p) => !at.workers.includes(p.pid) && p.uss !== null);
const grown = (s: Snapshot, share: number, h: number): boolean =>
  workers(s).length > 0 && workers(s).every((p) => (p.ussGrowth ?? 0) > share * h);
const meanUss = (s: Snapshot, frozen: boolean): number => {
  const ws = workers(s).filter((p) => p.frozen === frozen && p.uss !== null);
  return ws.length ? ws.reduce((a, p) => a + p.uss!, 0) / ws.length : 0;
};

export const TOUR: TourStep[] = [
  {
    id: 1,
    name: 'fork',
    caption: (m) => {
      const s = m.latest;
      const n = s ? workers(s).length : 0;
      // Said once there is something to say: no "built 0 records and forked 0 workers".
      if (!m.ready || !s || n === 0)
        return 'The parent is building its heap of records; the workers fork once it is built.';
      const size = (b: number | null): string => (b === null ? '?' : formatBytes(b));
      return `The parent built ${formatCount(m.ready.size)} records (${formatBytes(heap(m))}) and forked ${n} worker${n === 1 ? '' : 's'}. They share almost everything: Σ PSS ${size(s.totals.pss)}, the real footprint, against Σ RSS ${size(s.totals.rss)}, what top adds up.`;
    },
    start: () => {},
    done: (m, s) => m.ready !== null && workers(s).length > 0 && workers(s).every((p) => p.uss !== null),
    holdMs: 6000,
  },
  {
    id: 2,
    name: 'collect',
    caption: () =>
      'g: every worker runs gc.collect(). Watch USS per worker jump and the faults/s spike: the collector writes into every object it scans, so each page it touches is copied.',
    start: (a) => a.collect(),
    done: (m, s, at) => later(s, at) && grown(s, 0.3, heap(m)),
    holdMs: 6000,
  },
  {
    id: 3,
    name: 'map',
    caption: () =>
      "m: the copy map. Each cell is a run of the parent's pages; red where every worker holds its own copy. The collector's writes copied them, and the line under the grid says what they held.",
    start: (a) => a.map(true),
    done: (_m, s, at) => later(s, at, 1) && !!s.copies,
    holdMs: 7000,
    after: (a) => a.map(false),
  },
  {
    id: 4,
    name: 'freeze',
    needsFreeze: true,
    caption: () =>
      "f: the workers are forked again, this time after gc.freeze(): the parent's objects move to a permanent generation that the collector never scans.",
    start: (a) => a.freeze(true),
    done: (m, s, at) => s.freeze === true && reforked(m, s, at),
    holdMs: 4000,
  },
  {
    id: 5,
    name: 'collect frozen',
    needsFreeze: true,
    caption: () =>
      'g again: the same collection in every worker. USS stays flat and no page is copied: the frozen heap is never written.',
    start: (a) => a.collect(),
    done: (_m, s, at) => later(s, at, 3) && workers(s).every((p) => (p.gc?.sinceFork?.[2] ?? 0) >= 1),
    holdMs: 6000,
  },
  {
    id: 6,
    name: 'read',
    needsFreeze: true,
    caption: () =>
      'The read workload: the workers only read the shared data, and still copy it, frozen or not: reading an object writes its reference count. The limit of gc.freeze().',
    start: (a) => a.workload('read'),
    done: (m, s, at) => reforked(m, s, at) && grown(s, 0.2, heap(m)),
    holdMs: 6000,
  },
  {
    id: 7,
    name: 'split',
    needsFreeze: true,
    caption: () =>
      'The split view: half the workers forked before gc.freeze() (no-frz), half after (frozen), all collecting, side by side.',
    start: (a) => a.split(true),
    done: (m, s, at) => s.split && reforked(m, s, at) && meanUss(s, false) > meanUss(s, true) + 0.3 * heap(m),
    holdMs: 5000,
  },
  {
    id: 8,
    name: 'verdict',
    caption: (m) => {
      const s = m.latest;
      // Only what was measured: an interpreter without gc.freeze() ran no freeze step.
      if (m.ready && !m.ready.freezeSupported)
        return `Verdict: a full collection in each worker copies most of the heap into it; ${m.ready.implementation} has no gc.freeze(), so the freeze steps did not run.`;
      if (!s?.split)
        return 'Verdict: a full collection in each worker copies most of the heap into it; gc.freeze() before fork keeps it shared.';
      const a = meanUss(s, false);
      const b = meanUss(s, true);
      return `Verdict: gc.freeze() kept ${formatBytes(a - b)} per worker shared. Unfrozen workers hold ${formatBytes(a)} each, frozen ones ${formatBytes(b)} (${formatReduction(a > 0 ? 1 - b / a : null)}).`;
    },
    start: () => {},
    done: () => true,
    holdMs: 8000,
  },
];

/** --steps 1,2,4: the steps in the order given; an unknown id is an error (one line). */
export function pickSteps(list: string | null): TourStep[] | string {
  if (list === null) return TOUR;
  const ids = list
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  const out: TourStep[] = [];
  for (const id of ids) {
    const step = /^\d+$/.test(id) ? TOUR.find((s) => s.id === Number(id)) : undefined;
    if (!step)
      return `--steps: no step ${JSON.stringify(id)}; the steps are ${TOUR.map((s) => `${s.id} ${s.name}`).join(', ')}`;
    out.push(step);
  }
  return out.length ? out : '--steps needs at least one step';
}

/** How long a step may wait for its effect before the tour says so and goes on. */
export const STEP_TIMEOUT_MS = 90_000;

/**
 * Runs the steps: start, wait for the effect, hold the caption, next. advance() is called on
 * every snapshot and report and by a timer; it does one thing at a time.
 */
export class Tour {
  private index = -1;
  private phase: 'wait' | 'hold' | 'done' = 'hold';
  private startedAt = 0;
  private holdUntil = 0;
  private at: StepStart = { seq: 0, workers: [] };
  private note = '';
  private takenOver = false; // the viewer ended it: no caption stays
  paused = false;
  private pausedAt = 0;

  constructor(
    readonly steps: TourStep[],
    private readonly speed: number,
    private readonly actions: TourActions,
    private readonly canFreeze: () => boolean,
    private readonly onEnd: () => void,
  ) {}

  get finished(): boolean {
    return this.phase === 'done';
  }

  /** The caption band: which step, and its text (or why it was skipped). */
  caption(m: DashboardModel): string | null {
    if (this.index < 0 || this.takenOver) return null;
    // Over: the last step's caption (the verdict) stays, and says the keys are the viewer's.
    const over = this.index >= this.steps.length;
    const i = Math.min(this.index, this.steps.length - 1);
    const head = `step ${i + 1}/${this.steps.length}`;
    const text = this.note || this.steps[i].caption(m);
    if (over) return `${head}  ${text}  (tour over: the keyboard is yours; q quits)`;
    // The pause is said first: the caption may be cut at two lines.
    return this.paused
      ? `${head}  (tour paused: space resumes; any other key takes over)  ${text}`
      : `${head}  ${text}`;
  }

  togglePause(now = Date.now()): void {
    this.paused = !this.paused;
    if (this.paused) this.pausedAt = now;
    else {
      const gap = now - this.pausedAt;
      this.holdUntil += gap;
      this.startedAt += gap;
    }
  }

  /** The viewer took over: the tour ends where it is. */
  stop(): void {
    this.phase = 'done';
    this.index = this.steps.length;
    this.takenOver = true;
  }

  advance(m: DashboardModel, now = Date.now()): void {
    if (this.paused || this.phase === 'done') return;
    const s = m.latest;
    if (!s || m.view.pending) return; // a re-fork under way: its effect is not on screen yet
    if (this.phase === 'hold') {
      if (now < this.holdUntil) return;
      if (this.index >= 0) this.steps[this.index].after?.(this.actions);
      if (this.index + 1 >= this.steps.length) {
        this.index++; // the last caption stays, note and all
        this.phase = 'done';
        this.onEnd();
        return;
      }
      this.index++;
      this.note = '';
      const step = this.steps[this.index];
      if (step.needsFreeze && !this.canFreeze()) {
        this.note = `${step.name}: skipped: ${m.ready?.implementation ?? 'this interpreter'} has no gc.freeze()`;
        this.phase = 'hold';
        this.holdUntil = now + 3000 / this.speed;
        return;
      }
      this.at = { seq: s.seq, workers: s.processes.filter((p) => p.role === 'worker' && p.alive).map((p) => p.pid) };
      this.startedAt = now;
      this.phase = 'wait';
      step.start(this.actions);
      return;
    }
    const step = this.steps[this.index];
    if (step.done(m, s, this.at)) {
      this.phase = 'hold';
      this.holdUntil = now + step.holdMs / this.speed;
    } else if (now - this.startedAt > STEP_TIMEOUT_MS) {
      this.note = `${step.name}: its effect did not show within ${STEP_TIMEOUT_MS / 1000} s; going on`;
      this.phase = 'hold';
      this.holdUntil = now + 3000 / this.speed;
    }
  }
}
