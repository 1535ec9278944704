/**
 * What the dashboard's keys, mouse and tour do, in one place: re-forks through the experiment's
 * methods (queued while one is under way), what is available now and why not, signals, export.
 * It changes the model and asks the session; it never draws (the dashboard does, when told).
 */
import { safeJson } from '../format/sanitize';
import { formatDuration } from '../format/units';
import { OutputError, writeOutput } from '../files/output';
import { CSV_HEADER, csvRows, sampleRecord } from '../export/records';
import type { Experiment } from '../experiment/experiment';
import { MAX_WORKERS, WORKLOADS } from '../experiment/options';
import type { ReforkChange } from '../experiment/protocol';
import { parseStrategy, strategyCycle } from '../experiment/strategy';
import { lifecycle } from '../lifecycle';
import { SIGNALS } from '../proc/signal';
import type { ProcessSample } from '../sample/snapshot';
import type { Monitor } from '../session/monitor';
import { dispatchKey, hitTest, type Key, type Mouse } from './input';
import type { Controller, Need } from './keys';
import { type ColumnId, DashboardModel, type Move } from './model';
import { everyText } from './render/frame';
import type { Frame } from './render/types';
import { roleText, rowKey, rowOrder } from './rows';
import type { TourActions } from './tour';
import { startSearch, startSortMenu } from './view-modes';

const MAX_QUEUED = 8;

export class DashboardController implements Controller {
  /** Re-fork keys pressed while one is under way wait their turn: w then s means both. */
  private readonly queued: Array<{ run: () => void; label: string }> = [];
  /** The table as last drawn: what a click lands on. */
  table: Frame['table'] | null = null;

  constructor(
    private readonly session: Monitor,
    private readonly model: DashboardModel,
    private readonly changed: () => void, // something to draw came in later (a restart, a signal's answer)
    private readonly exportFile: string | null = null,
  ) {}

  private get experiment(): Experiment | null {
    return this.session.experiment;
  }

  private say(text: string): void {
    this.model.addEvent('info', text);
  }

  /** Runs now, or queues behind the re-fork under way (returns false when it may run now). */
  private later(run: () => void, label: string): boolean {
    if (!this.model.view.pending) return false;
    if (this.queued.length < MAX_QUEUED) {
      this.queued.push({ run, label });
      this.say(`${label}: queued after ${this.model.view.pending.replace(/\.+$/, '')}`);
    }
    return true;
  }

  /** A sample is on screen: a row is selected from the first one on (Enter and k act at once, as in htop). */
  onSnapshot(): void {
    if (this.model.view.table.selected === null) this.select('home');
    this.runQueued(); // a re-fork is done once a sample shows its workers
  }

  /** A report or a sample came: the re-fork under way may be done, and the next key takes its turn. */
  runQueued(): void {
    if (this.model.view.pending || !this.queued.length) return;
    this.queued.shift()!.run();
  }

  /** A re-fork of the experiment's workers, said in the header until its report comes. */
  private refork(change: ReforkChange, pending: string): void {
    const e = this.experiment;
    if (!e?.alive) return;
    this.model.view.pending = pending;
    e.refork(change).catch(() => {}); // the model clears pending on the report; an exit says itself
  }

  can(what: Need): boolean {
    const e = this.experiment;
    // R restarts an experiment that died: not one that is still starting (none yet).
    if (what === 'restart')
      return this.session.kind === 'experiment' && e !== null && !e.alive && !this.model.view.pending;
    if (!e?.alive) return false;
    if (what === 'freeze') return this.model.ready?.freezeSupported ?? true;
    return true;
  }

  /** Why a key that needs this does nothing now, or null to stay silent. */
  unavailable(need: Need): string | null {
    const s = this.session;
    if (s.kind === 'attach') {
      if (need === 'restart') return null;
      return s.attached?.run
        ? `cowtop run watches the server: start it ${s.attached.run.freeze ? 'without' : 'with'} --freeze to compare, or use run --compare`
        : 'not for a process cowtop did not start (attach only watches)';
    }
    if (need === 'restart') return null; // only offered once the experiment has died
    if (!s.experiment?.alive) return 'the experiment is not running: R restarts it';
    const r = this.model.ready;
    if (need === 'freeze')
      return `gc.freeze() is not available in ${r?.implementation ?? 'this interpreter'} ${r?.version ?? ''}`.trim();
    return null;
  }

  toggleFreeze(): void {
    const e = this.experiment;
    if (!e || this.later(() => this.toggleFreeze(), 'f')) return;
    const next = !e.freeze;
    this.refork({ freeze: next, split: false }, `re-forking ${next ? 'with' : 'without'} gc.freeze()...`); // f leaves the split view
  }

  toggleSplit(): void {
    const e = this.experiment;
    if (!e || this.later(() => this.toggleSplit(), 's')) return;
    this.refork(
      { freeze: e.freeze, split: !e.split },
      `re-forking ${e.split ? 'all frozen' : 'half before, half after gc.freeze()'}...`,
    );
  }

  collect(): void {
    // The log says whom it reached once the parent reports it.
    this.experiment?.collect().catch(() => {});
  }

  scale(delta: number): void {
    const e = this.experiment;
    if (!e?.alive || this.later(() => this.scale(delta), delta > 0 ? '+' : '-')) return;
    const n = Math.max(1, Math.min(MAX_WORKERS, e.workers.size + delta));
    if (n === e.workers.size) return;
    this.model.view.pending = `${n} workers...`;
    e.scale(n).catch(() => {});
  }

  nextWorkload(): void {
    const e = this.experiment;
    if (!e?.alive || this.later(() => this.nextWorkload(), 'w')) return;
    const next = WORKLOADS[(WORKLOADS.indexOf(e.workload as never) + 1) % WORKLOADS.length];
    this.refork(
      { gc: e.gcStrategy, workload: next, workers: Math.max(1, e.workers.size) },
      `re-forking with workload ${next}...`,
    );
  }

  nextStrategy(): void {
    const e = this.experiment;
    if (!e?.alive || this.later(() => this.nextStrategy(), 'G')) return;
    const r = this.model.ready;
    const given = e.options.gc ? parseStrategy(e.options.gc) : null;
    const cycle = strategyCycle(given, r?.defaultThreshold ?? null, r?.unsupported ?? {});
    const next = cycle[(cycle.indexOf(e.gcStrategy) + 1) % cycle.length];
    this.refork({ gc: next, split: false }, `re-forking with gc strategy ${next}...`);
  }

  restart(): void {
    if (!this.can('restart')) return;
    this.model.view.pending = 'restarting the experiment...';
    this.say('restarting the experiment');
    const done = (err?: Error): void => {
      this.model.view.pending = null;
      if (err) this.model.addEvent('error', `restart failed: ${err.message}`);
      this.changed();
    };
    this.session.restart().then(() => done(), done);
  }

  select(move: Move): void {
    const s = this.model.shown;
    if (s)
      this.model.moveSelection(
        rowOrder(s, this.model.view, this.model.ready?.heapBytes ?? null, this.model.attached !== null),
        move,
      );
  }

  togglePause(): void {
    this.model.setPaused(!this.model.view.paused);
  }
  sortBy(column: ColumnId): void {
    this.model.sortBy(column);
  }
  cycleUnits(): void {
    this.model.cycleUnits();
  }
  nextChart(): void {
    this.model.nextChart();
  }
  toggleHelp(): void {
    this.model.toggleHelp();
  }
  toggleTree(): void {
    this.model.toggleTree();
  }
  toggleMap(): void {
    this.model.toggleMap();
  }
  startSearch(): void {
    startSearch(this.model);
  }
  sortMenu(): void {
    startSortMenu(this.model);
  }
  startFilter(): void {
    this.model.startFilter();
  }
  clearFilter(): void {
    this.model.clearFilter();
  }

  /** The selected row's process in what is on screen, if any. */
  private selected(): ProcessSample | null {
    return this.model.shown?.processes.find((p) => rowKey(p) === this.model.view.table.selected) ?? null;
  }

  askSignal(): void {
    const p = this.selected();
    if (!p) {
      this.say('k: select a row first (arrows, or click it)');
      return;
    }
    if (!p.alive) {
      this.say(`k: pid ${p.pid} has exited`);
      return;
    }
    this.model.askSignal({
      key: rowKey(p),
      pid: p.pid,
      starttime: p.starttime,
      what: p.role === 'worker' ? roleText(p) : p.role,
    });
  }

  /** k's Enter: the signal goes only if the pid still names the process that was shown. */
  sendSignal(): void {
    const c = this.model.view.confirm;
    this.model.closeOverlay();
    if (!c) return;
    void this.session.signal(c.pid, c.starttime, SIGNALS[c.signal]).then((r) => {
      this.model.addEvent(r.ok ? 'info' : 'error', `${c.what}: ${r.text}`);
      this.changed();
    });
  }

  openDetail(): void {
    const p = this.selected();
    if (!p) {
      this.say('Enter: select a row first (arrows, or click it)');
      return;
    }
    this.model.openDetail(rowKey(p));
  }

  changeInterval(dir: 1 | -1): void {
    const ms = DashboardModel.nextInterval(this.session.intervalMs, dir);
    if (ms === this.session.intervalMs) return;
    this.session.setInterval(ms);
    this.model.intervalMs = ms;
    this.say(
      `sampling ${everyText(ms)}${this.session.kind === 'attach' ? ' (gc agents write at their own interval)' : ''}`,
    );
  }

  exportSnapshot(): void {
    const snap = this.model.latest;
    if (!snap) return;
    const file = this.exportFile ?? `cowtop-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
    const text = /\.csv$/i.test(file)
      ? `${[CSV_HEADER, ...csvRows(snap)].join('\n')}\n`
      : `${safeJson(sampleRecord(snap), 2)}\n`;
    try {
      writeOutput(file, text);
      this.say(`exported the snapshot of ${formatDuration(snap.t)} to ${file}`);
    } catch (err) {
      const why =
        err instanceof OutputError
          ? `cannot export: ${err.message}`
          : `cannot export to ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
      this.model.addEvent('error', why);
    }
  }

  quit(): void {
    void lifecycle.exit(0);
  }

  /** One key: returns whether the screen must be drawn now. */
  key(key: Key, page: number): boolean {
    const out = dispatchKey(this.model, key, {
      can: (w) => this.can(w),
      unavailable: (n) => this.unavailable(n),
      page,
      signals: SIGNALS.length,
      rows: () => {
        const s = this.model.shown;
        const keys = s
          ? rowOrder(s, this.model.view, this.model.ready?.heapBytes ?? null, this.model.attached !== null)
          : [];
        const byKey = new Map((s?.processes ?? []).map((p) => [rowKey(p), p]));
        return { keys, sample: (k) => byKey.get(k) };
      },
    });
    switch (out.do) {
      case 'nothing':
        return false;
      case 'draw':
        return true;
      case 'run':
        out.binding.run(this);
        return true; // a key shows its effect at once, not at the next tick
      case 'say':
        this.say(out.text);
        return true;
      case 'send-signal':
        this.sendSignal();
        return true;
      case 'ask-signal':
        this.askSignal();
        return true;
      case 'quit':
        this.quit();
        return false;
    }
  }

  /** One mouse event on the table as last drawn: returns whether the screen must be drawn now. */
  mouse(m: Mouse): boolean {
    const out = hitTest(this.table, this.model.view.mode, m);
    if (out.do === 'move') this.select(out.by);
    else if (out.do === 'sort') this.model.sortBy(out.column);
    else if (out.do === 'select') this.model.view.table.selected = out.key;
    return out.do !== 'nothing';
  }

  /** cowtop demo: the tour acts through the same commands the keys send. */
  tourActions(): TourActions {
    const e = (): Experiment | null => this.experiment;
    const workers = (): number => Math.max(1, e()?.workers.size ?? 1);
    return {
      collect: () => this.collect(),
      freeze: (on) => {
        if (e()?.freeze !== on || e()?.split)
          this.refork(
            { freeze: on, split: false, workers: workers() },
            `re-forking ${on ? 'with gc.freeze()' : 'without freeze'}...`,
          );
      },
      workload: (name) =>
        this.refork(
          { workload: name, freeze: e()?.freeze ?? false, split: false, workers: workers() },
          `re-forking with workload ${name}...`,
        ),
      split: (on) =>
        this.refork(
          { freeze: true, split: on, workload: 'collect', workers: workers() },
          're-forking half before, half after gc.freeze()...',
        ),
      map: (open) => {
        if (open && this.model.view.mode !== 'map') this.model.toggleMap();
        if (!open && this.model.view.mode === 'map') this.model.closeOverlay();
      },
    };
  }
}
