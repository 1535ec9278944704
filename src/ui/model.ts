/**
 * What the dashboard remembers between snapshots: bounded histories for the charts, the event
 * log, and the view state (sort, units, pause, help). It is fed snapshots and reports; it never
 * reads /proc.
 */
import type { AttachInfo } from '../session/monitor';
import type { LogLine } from '../experiment/experiment';
import type { ReadyMessage, Report } from '../experiment/protocol';
import { reportEvents, type UiEvent } from './report-events';
import type { Snapshot } from '../sample/snapshot';
import { oomText } from '../sample/cgroup-watch';
import { Ring } from './ring';

export const HISTORY = 600; // samples kept for the charts: 10 minutes at the default interval
export const EVENTS = 500;
const GROWTH_WINDOW_MS = 60_000;
const MARK_RANK = ['', 'f', 'F', 's', 'w', 'g', 'x', 'O'];

export type ColumnId =
  | 'role'
  | 'pid'
  | 'command'
  | 'rss'
  | 'pss'
  | 'uss'
  | 'copied'
  | 'traced'
  | 'shared'
  | 'growth'
  | 'minflt'
  | 'majflt'
  | 'gc'
  | 'gen0'
  | 'colls'
  | 'last'
  | 'cpu';
export type Units = 'MiB' | 'KiB' | 'heap';
export type ChartId = 'uss' | 'footprint' | 'faults';
export const CHARTS: ChartId[] = ['uss', 'footprint', 'faults'];

export type { UiEvent } from './report-events';

/** One point of history: what the charts draw. Worker series are keyed by worker slot. */
export interface HistoryPoint {
  t: number;
  /** The sampling interval when it was taken: a longer wait than that is a gap in the charts. */
  every?: number;
  uss: Map<number, number>; // slot -> USS bytes
  faults: Map<number, number>; // slot -> minor faults per second
  pss: number | null; // null: unknown (a process of the tree could not be read)
  rss: number | null;
  frozenSlots: Set<number>; // split view: the slots whose worker was forked frozen
  marker: string; // '' or g (full collection), F (freeze on), f (freeze off), w (workload), x (exit)
}

/**
 * What the keys mean now: normal; help (arrows scroll it); filter (keys edit the filter, as btop's
 * line editor); confirm (k: pick a signal, Enter sends); detail (Enter: one process in full);
 * map (m: the copy map; the other keys still work under it).
 */
export type Mode = 'normal' | 'help' | 'filter' | 'confirm' | 'detail' | 'map' | 'search' | 'sort';

/** k's question: which process (as shown), and which of SIGNALS is picked. */
export interface Confirm {
  key: string; // rowKey of the process
  pid: number;
  starttime: number | null;
  what: string; // how the table names it, e.g. "worker 3"
  signal: number; // index into SIGNALS
}

export const INTERVALS = [100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000];

export interface ViewState {
  sort: { column: ColumnId; desc: boolean };
  units: Units;
  paused: boolean;
  mode: Mode;
  chart: ChartId; // the chart shown when only one fits
  pending: string | null; // a command under way, e.g. "re-forking with freeze"
  notice: string | null; // something the user must know now: the parent died, memory is short
  table: TableView;
  helpScroll: number; // the first line of the help or detail shown (clamped when drawn)
  helpAtEnd: boolean; // End: the last lines, kept in view as the pane grows (the copy map comes later)
  confirm: Confirm | null;
  detail: string | null; // rowKey of the process in the detail pane
  sortPick: number; // F6's menu: the column picked (index into COLUMNS)
}

/**
 * The process table's own view-state, as htop's Panel keeps it: the selected process (pid and
 * start time, so it survives sorts and re-forks while that process lives), the first row shown,
 * and how many rows the last frame had room for (what a page is).
 */
export interface TableView {
  selected: string | null;
  scrollTop: number;
  height: number;
  filter: string; // rows whose pid, role or command holds it (case-insensitive); '' shows all
  tree: boolean; // t: rows nested under their parents, as htop's tree view
  search: string; // F3: what the search line jumps to (view-modes.ts)
}

/** Columns whose first press sorts biggest first: sizes, rates, counts (htop's defaultSortDesc). */
const ASCENDING: ReadonlySet<ColumnId> = new Set(['role', 'pid', 'command']);

export type Move = number | 'home' | 'end' | 'pageup' | 'pagedown';

export class DashboardModel {
  readonly history = new Ring<HistoryPoint>(HISTORY);
  readonly events = new Ring<UiEvent>(EVENTS);
  latest: Snapshot | null = null;
  /** What is on screen: the latest snapshot, or the one shown when the display was paused. */
  shown: Snapshot | null = null;
  ready: ReadyMessage | null = null;
  attached: AttachInfo | null = null; // set when watching a tree cowtop did not start
  intervalMs = 1000; // the sampling interval in force ([ and ] change it)
  caption: string | null = null; // cowtop demo: the tour's caption band, above the footer
  view: ViewState = {
    sort: { column: 'role', desc: false },
    units: 'MiB',
    paused: false,
    mode: 'normal',
    chart: 'uss',
    pending: null,
    notice: null,
    table: { selected: null, scrollTop: 0, height: 10, filter: '', tree: false, search: '' },
    helpScroll: 0,
    helpAtEnd: false,
    confirm: null,
    detail: null,
    sortPick: 0,
  };
  private marker = '';
  private lastWorkload: string | null = null;

  constructor(readonly startedAt: number) {}

  /** Workers of the last re-fork not yet seen in a sample: until then the header says so. */
  private awaiting: number[] | null = null;

  private toldMapFallback = false;

  pushSnapshot(s: Snapshot): void {
    this.latest = s;
    for (const o of s.ooms ?? []) {
      this.addEvent('error', oomText(o), s.at);
      this.mark('O');
    }
    if (s.copies && !s.copies.privileged && !this.toldMapFallback) {
      this.toldMapFallback = true; // said once, in words, with what would enable it
      this.addEvent('error', `copy map: ${s.copies.why ?? 'frame numbers unreadable'}`, s.at);
    }
    if (this.awaiting?.every((pid) => s.processes.some((p) => p.pid === pid))) {
      this.awaiting = null;
      this.view.pending = null; // the new workers are on screen with their own figures
    }
    if (!this.view.paused || !this.shown) this.shown = s; // paused before the first sample: show it
    const uss = new Map<number, number>();
    const faults = new Map<number, number>();
    const frozenSlots = new Set<number>();
    for (const p of s.processes) {
      if (p.role !== 'worker' || !p.alive || p.index === null) continue;
      if (p.uss !== null) uss.set(p.index, p.uss);
      if (p.frozen) frozenSlots.add(p.index);
      if (p.minfltDelta !== null) faults.set(p.index, (p.minfltDelta * 1000) / s.elapsedMs);
    }
    const cg = s.cgroups?.[0];
    if (cg?.usage != null) {
      if (this.cgroupUsage.length && this.cgroupUsage[0].path !== cg.path) this.cgroupUsage.length = 0;
      this.cgroupUsage.push({ t: s.at, usage: cg.usage, path: cg.path });
      while (this.cgroupUsage.length > 1 && s.at - this.cgroupUsage[0].t > GROWTH_WINDOW_MS) this.cgroupUsage.shift();
    }
    this.history.push({
      t: s.t,
      every: this.intervalMs,
      uss,
      faults,
      pss: s.totals.pss,
      rss: s.totals.rss,
      frozenSlots,
      marker: this.marker,
    });
    this.marker = '';
  }

  /**
   * Moves the selection among keys (the rows in screen order). The first move selects the first
   * row (or the last, going up); a selected process that is gone is looked for no more.
   */
  moveSelection(keys: readonly string[], move: Move): void {
    if (!keys.length) return;
    const t = this.view.table;
    const page = Math.max(1, t.height - 1);
    const delta = move === 'pageup' ? -page : move === 'pagedown' ? page : move;
    const at = t.selected === null ? -1 : keys.indexOf(t.selected);
    let i: number;
    if (delta === 'home') i = 0;
    else if (delta === 'end') i = keys.length - 1;
    else if (at < 0) i = delta > 0 ? 0 : keys.length - 1;
    else i = at + delta;
    t.selected = keys[Math.max(0, Math.min(keys.length - 1, i))];
  }

  /** Sorts by a column; the same column again reverses it. */
  sortBy(column: ColumnId): void {
    const s = this.view.sort;
    if (s.column === column) s.desc = !s.desc;
    else this.view.sort = { column, desc: !ASCENDING.has(column) };
  }

  cycleUnits(): void {
    const order: Units[] = ['MiB', 'KiB', 'heap'];
    this.view.units = order[(order.indexOf(this.view.units) + 1) % order.length];
  }

  nextChart(): void {
    this.view.chart = CHARTS[(CHARTS.indexOf(this.view.chart) + 1) % CHARTS.length];
  }

  toggleHelp(): void {
    this.view.mode = this.view.mode === 'help' ? 'normal' : 'help';
    this.overlayFromTop();
  }

  toggleMap(): void {
    this.view.mode = this.view.mode === 'map' ? 'normal' : 'map';
  }

  /** Whether what is on screen needs the copy map read (its pass costs a pagemap read per process). */
  get wantsMap(): boolean {
    return this.view.mode === 'map' || this.view.mode === 'detail';
  }

  toggleTree(): void {
    this.view.table.tree = !this.view.table.tree;
  }

  /** / opens the filter line with what was there; typing narrows the rows at once. */
  startFilter(): void {
    this.view.mode = 'filter';
  }

  /** A key in filter mode: printable text, backspace, Enter keeps it, Esc clears it. */
  filterKey(key: string, ch?: string): void {
    const t = this.view.table;
    if (key === 'enter') this.view.mode = 'normal';
    else if (key === 'escape') this.clearFilter();
    else if (key === 'backspace') t.filter = t.filter.slice(0, -1);
    else if (key === 'C-u') t.filter = '';
    else if (ch && ch.length === 1 && ch >= ' ' && ch !== '\x7f' && t.filter.length < 64) t.filter += ch;
  }

  clearFilter(): void {
    this.view.table.filter = '';
    this.view.mode = 'normal';
  }

  /** k on the selected row: ask first, SIGTERM picked. */
  askSignal(target: Omit<Confirm, 'signal'>): void {
    this.view.confirm = { ...target, signal: 0 };
    this.view.mode = 'confirm';
  }

  /** Moves the pick among the signals (arrows), wrapping. */
  pickSignal(delta: number, count: number): void {
    const c = this.view.confirm;
    if (c) c.signal = (((c.signal + delta) % count) + count) % count;
  }

  /** Enter on a row: its detail pane, kept on that process while it lives. */
  openDetail(key: string): void {
    this.view.detail = key;
    this.view.mode = 'detail';
    this.overlayFromTop();
  }

  /** Esc, or any key an overlay does not take: back to the table. */
  closeOverlay(): void {
    this.view.mode = 'normal';
    this.view.confirm = null;
    this.view.detail = null;
    this.overlayFromTop();
  }

  /** [ and ]: the next slower or faster of INTERVALS from the current one. */
  static nextInterval(current: number, dir: 1 | -1): number {
    if (dir > 0) return INTERVALS.find((i) => i > current) ?? INTERVALS[INTERVALS.length - 1];
    return [...INTERVALS].reverse().find((i) => i < current) ?? INTERVALS[0];
  }

  /** A new overlay (or none) starts at its first line. */
  private overlayFromTop(): void {
    this.view.helpScroll = 0;
    this.view.helpAtEnd = false;
  }

  /** What a frame drew: the table's scroll (clamped to keep the selection in view), a page's
   * size, and the overlay's first line (End went past the last one: back to it). */
  drawn(table: { scrollTop: number; visibleRows: number }, overlay: { scroll: number; kind: string } | null): void {
    this.view.table.scrollTop = table.scrollTop;
    if (table.visibleRows > 0) this.view.table.height = table.visibleRows;
    if (overlay && overlay.kind !== 'confirm') this.view.helpScroll = overlay.scroll;
  }

  /** Scrolls the help by lines, or to an end; the frame clamps it to what there is. After End
   * the pane stays at its end while lines come in above (as tail -f), until it is scrolled. */
  scrollHelp(move: number | 'home' | 'end'): void {
    const v = this.view;
    v.helpAtEnd = move === 'end';
    v.helpScroll = move === 'home' ? 0 : move === 'end' ? Number.MAX_SAFE_INTEGER : Math.max(0, v.helpScroll + move);
  }

  /** The tree's cgroup usage over the last minute: how fast it nears its limit. */
  private readonly cgroupUsage: Array<{ t: number; usage: number; path: string }> = [];

  /** Bytes a second the tree's cgroup grew over the last minute; null before 10 s of it. */
  cgroupGrowth(): number | null {
    const u = this.cgroupUsage;
    if (u.length < 2) return null;
    const span = u[u.length - 1].t - u[0].t;
    return span < 10_000 ? null : ((u[u.length - 1].usage - u[0].usage) * 1000) / span;
  }

  /** Where the screen stopped when paused (like htop's Z): sampling and history go on behind it. */
  private pausedAt: { history: number; events: number; now: number } | null = null;

  setPaused(paused: boolean, now = Date.now()): void {
    this.view.paused = paused;
    this.pausedAt = paused ? { history: this.history.pushed, events: this.events.pushed, now } : null;
    if (!paused) this.shown = this.latest;
  }

  /** The chart history on screen: up to the pause, if paused. */
  shownHistory(n: number): HistoryPoint[] {
    return this.pausedAt ? this.history.lastUpTo(n, this.pausedAt.history) : this.history.last(n);
  }

  shownEvents(n: number): UiEvent[] {
    return this.pausedAt ? this.events.lastUpTo(n, this.pausedAt.events) : this.events.last(n);
  }

  /** The time the screen shows: the moment of the pause, while paused. */
  shownTime(now: number): number {
    return this.pausedAt?.now ?? now;
  }

  /** The strongest event of a tick wins the timeline cell: an OOM kill above all, then an unexpected exit. */
  private mark(m: string): void {
    if (MARK_RANK.indexOf(m) > MARK_RANK.indexOf(this.marker)) this.marker = m;
  }

  /** The marker the next history point will carry (for tests of the timeline). */
  get pendingMarker(): string {
    return this.marker;
  }

  addEvent(kind: UiEvent['kind'], text: string, now = Date.now()): void {
    this.events.push({ t: now - this.startedAt, kind, text });
  }

  /** Reports become events; gc samples only feed snapshots. */
  /** A report changes what the model knows (ready, what a re-fork waits for) and says itself in the log. */
  onReport(r: Report, now = Date.now()): void {
    for (const [kind, text] of reportEvents(r)) this.addEvent(kind, text, now);
    switch (r.type) {
      case 'ready':
        this.ready = r;
        this.lastWorkload = r.workload;
        break;
      case 'exit':
        if (this.awaiting) this.awaiting = this.awaiting.filter((pid) => pid !== r.pid); // it will not show
        if (!r.requested) this.mark('x');
        break;
      case 'collection':
        if (r.generation === 2) this.mark('g');
        break;
      case 'refork':
        // Not done until a sample shows the new workers: no 'frozen 0' from the old state.
        this.awaiting = r.workers;
        this.view.pending = r.workers.length ? 're-forked: reading the new workers...' : null;
        // A re-fork for a new workload is a w; into the split view an s; else the freeze mode, F or f.
        this.mark(
          this.lastWorkload !== null && r.workload !== this.lastWorkload ? 'w' : r.split ? 's' : r.freeze ? 'F' : 'f',
        );
        this.lastWorkload = r.workload;
        break;
      case 'scale':
      case 'error':
        this.view.pending = null;
        break;
      default:
        break;
    }
  }

  onLog(l: LogLine, now = Date.now()): void {
    this.addEvent(l.stream === 'stderr' ? 'error' : 'log', `[${l.stream}] ${l.text}`, now);
  }
}
