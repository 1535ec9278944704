/**
 * `cowtop`: the live dashboard. Wires the experiment, the sampler, the model, the key table and
 * the screen together; the lifecycle owns every way out.
 */
import { safeJson } from '../format/sanitize';
import { checkOutput, OutputError, writeOutput } from '../files/output';
import type { DashboardOptions } from './dashboard-options';
import type { Monitor } from '../session/monitor';
import { CSV_HEADER, csvRows, sampleRecord } from '../export/records';
import { formatDuration } from '../format/units';
import { CastRecorder, teeStdout } from './record';
import type { Experiment, LogLine } from '../experiment/experiment';
import { MAX_WORKERS, WORKLOADS } from '../experiment/options';
import type { Report } from '../experiment/protocol';
import { lifecycle } from '../lifecycle';
import { UsageError } from '../util/usage-error';
import type { Snapshot } from '../sample/snapshot';
import { KEYS, type Controller, type Need } from './keys';
import { parseStrategy, strategyCycle } from '../experiment/strategy';
import { DashboardModel, type ColumnId } from './model';
import { buildFrame, everyText } from './render/frame';
import { roleText, rowKey, rowOrder } from './rows';
import { SIGNALS } from '../proc/signal';
import { Tour } from './tour';
import type { ProcessSample } from '../sample/snapshot';
import type { DashboardScreen } from './screen';
import { makeTheme } from './theme';
import { splash } from './splash';

const FRAME_MS = 33; // at most ~30 frames a second, however many events arrive
const WHEEL_ROWS = 3; // rows the selection moves per wheel notch

/** The dashboard needs a terminal on both sides; anything else is told to use --batch. */
export function checkTerminal(env: NodeJS.ProcessEnv, stdin: { isTTY?: boolean }, stdout: { isTTY?: boolean }): void {
  if (!stdout.isTTY)
    throw new UsageError('the dashboard needs a terminal, and stdout is not one: use --batch for records on stdout');
  if (!stdin.isTTY) throw new UsageError('the dashboard reads keys, and stdin is not a terminal: use --batch');
  if (!env.TERM || env.TERM === 'dumb')
    throw new UsageError(
      `TERM=${env.TERM ?? ''} cannot draw the dashboard: use --batch, or set TERM (e.g. xterm-256color)`,
    );
}

export async function runDashboard(
  session: Monitor,
  opts: DashboardOptions = { record: null, exportFile: null },
): Promise<void> {
  checkTerminal(process.env, process.stdin, process.stdout);
  // Checked before anything starts: a file that cannot be written is bad input, exit 2.
  if (opts.exportFile) {
    try {
      checkOutput(opts.exportFile);
    } catch (err) {
      if (err instanceof OutputError) throw new UsageError(`cannot write --export ${err.file}: ${err.reason}`);
      throw err;
    }
  }
  const theme = makeTheme();
  const model = new DashboardModel(Date.now());
  model.intervalMs = session.intervalMs;
  if (opts.map) model.toggleMap(); // --map: the map pane from the start
  const recorder = opts.record
    ? new CastRecorder(opts.record, process.stdout.columns || 80, process.stdout.rows || 24, (why) => {
        model.addEvent('error', why);
        scheduleDraw();
      })
    : null;
  let ui: DashboardScreen | null = null;
  let lastFrame = 0;
  let mapWanted: boolean | null = null; // null: not told to the session yet
  let frameTimer: NodeJS.Timeout | null = null;
  const experiment = (): Experiment | null => session.experiment;

  const draw = (): void => {
    // A frame drawn now makes the one scheduled redundant: it would only cost a key its time.
    if (frameTimer) clearTimeout(frameTimer);
    frameTimer = null;
    if (!ui) return;
    lastFrame = Date.now();
    if (tour) model.caption = tour.caption(model);
    const frame = buildFrame(model, ui.cols, ui.rows, theme, controller.can, lastFrame);
    model.drawn(frame.table, frame.help);
    lastFrameTable = frame.table;
    // The copy map is read only while a pane shows it.
    if (model.wantsMap !== mapWanted) {
      mapWanted = model.wantsMap;
      // Attached: the COPIED column is what GROWTH cannot be (cowtop came after the fork), so the
      // map is read in the background too, every 10 s; the experiment reads it only when shown.
      if (session.kind === 'attach') session.wantMap(true, mapWanted ? 500 : 10_000);
      else session.wantMap(mapWanted);
    }
    ui.draw(frame);
  };
  /** One render per frame: many events in one frame's time make one render. */
  const scheduleDraw = (): void => {
    if (frameTimer) return;
    frameTimer = setTimeout(draw, Math.max(0, FRAME_MS - (Date.now() - lastFrame)));
  };

  /**
   * A key that re-forks, pressed while another re-fork is under way, waits its turn instead of
   * being dropped: w then s means both. Returns whether it was queued.
   */
  const queued: Array<{ run: () => void; label: string }> = [];
  const later = (run: () => void, label: string): boolean => {
    if (!model.view.pending) return false;
    if (queued.length < 8) {
      queued.push({ run, label });
      model.addEvent('info', `${label}: queued after ${model.view.pending.replace(/\.+$/, '')}`);
    }
    return true;
  };
  const runQueued = (): void => {
    if (model.view.pending || !queued.length) return;
    queued.shift()!.run();
  };

  const controller: Controller = {
    can: (what) => {
      const e = experiment();
      if (what === 'restart') return session.kind === 'experiment' && !e?.alive && !model.view.pending;
      if (!e?.alive) return false;
      if (what === 'freeze') return model.ready?.freezeSupported ?? true;
      return true;
    },
    toggleFreeze() {
      const e = experiment();
      if (!e || later(() => controller.toggleFreeze(), 'f')) return; // the key table keeps f away when freeze is unavailable
      const next = !e.freeze;
      model.view.pending = `re-forking ${next ? 'with' : 'without'} gc.freeze()...`;
      e.send({ cmd: 'refork', freeze: next, split: false }); // f leaves the split view
    },
    toggleSplit() {
      const e = experiment();
      if (!e || later(() => controller.toggleSplit(), 's')) return;
      model.view.pending = `re-forking ${e.split ? 'all frozen' : 'half before, half after gc.freeze()'}...`;
      e.send({ cmd: 'refork', freeze: e.freeze, split: !e.split });
    },
    collect() {
      const e = experiment();
      if (!e?.alive) return;
      e.send({ cmd: 'collect' }); // the log says whom it reached once the parent reports it
    },
    scale(delta) {
      const e = experiment();
      if (!e?.alive || later(() => controller.scale(delta), delta > 0 ? '+' : '-')) return;
      const n = Math.max(1, Math.min(MAX_WORKERS, e.workers.size + delta));
      if (n === e.workers.size) return;
      model.view.pending = `${n} workers...`;
      e.send({ cmd: 'scale', workers: n });
    },
    nextWorkload() {
      const e = experiment();
      if (!e?.alive || later(() => controller.nextWorkload(), 'w')) return;
      const next = WORKLOADS[(WORKLOADS.indexOf(e.workload as never) + 1) % WORKLOADS.length];
      model.view.pending = `re-forking with workload ${next}...`;
      e.send({ cmd: 'refork', gc: e.gcStrategy, workload: next, workers: Math.max(1, e.workers.size) });
    },
    nextStrategy() {
      const e = experiment();
      if (!e?.alive || later(() => controller.nextStrategy(), 'G')) return;
      const given = e.options.gc ? parseStrategy(e.options.gc) : null;
      const cycle = strategyCycle(given, model.ready?.defaultThreshold ?? null, model.ready?.unsupported ?? {});
      const next = cycle[(cycle.indexOf(e.gcStrategy) + 1) % cycle.length];
      model.view.pending = `re-forking with gc strategy ${next}...`;
      e.send({ cmd: 'refork', gc: next, split: false });
    },
    restart() {
      if (!controller.can('restart')) return;
      model.view.pending = 'restarting the experiment...';
      model.addEvent('info', 'restarting the experiment');
      session.restart().then(
        () => {
          model.view.pending = null;
          scheduleDraw();
        },
        (err: Error) => {
          model.view.pending = null;
          model.addEvent('error', `restart failed: ${err.message}`);
          scheduleDraw();
        },
      );
    },
    select(move) {
      const s = model.shown;
      if (s)
        model.moveSelection(rowOrder(s, model.view, model.ready?.heapBytes ?? null, model.attached !== null), move);
    },
    togglePause() {
      model.setPaused(!model.view.paused);
    },
    sortBy: (column: ColumnId) => model.sortBy(column),
    cycleUnits: () => model.cycleUnits(),
    nextChart: () => model.nextChart(),
    toggleHelp: () => model.toggleHelp(),
    toggleTree: () => model.toggleTree(),
    toggleMap: () => model.toggleMap(),
    startFilter: () => model.startFilter(),
    clearFilter: () => model.clearFilter(),
    askSignal() {
      const p = selectedProcess();
      if (!p) return say('k: select a row first (arrows, or click it)');
      if (!p.alive) return say(`k: pid ${p.pid} has exited`);
      model.askSignal({
        key: rowKey(p),
        pid: p.pid,
        starttime: p.starttime,
        what: p.role === 'worker' ? roleText(p) : p.role,
      });
    },
    openDetail() {
      const p = selectedProcess();
      if (!p) return say('Enter: select a row first (arrows, or click it)');
      model.openDetail(rowKey(p));
    },
    changeInterval(dir) {
      const ms = DashboardModel.nextInterval(session.intervalMs, dir);
      if (ms === session.intervalMs) return;
      session.setInterval(ms);
      model.intervalMs = ms;
      say(`sampling ${everyText(ms)}${session.kind === 'attach' ? ' (gc agents write at their own interval)' : ''}`);
    },
    exportSnapshot() {
      exportSnapshot();
    },
    quit() {
      void lifecycle.exit(0);
    },
  };

  const say = (text: string): void => model.addEvent('info', text);

  /** cowtop demo: the tour acts through the same commands the keys send. */
  const refork = (cmd: { freeze?: boolean; split?: boolean; workload?: string }, what: string): void => {
    const e = experiment();
    if (!e?.alive) return;
    model.view.pending = `re-forking ${what}...`;
    e.send({ cmd: 'refork', ...cmd, workers: Math.max(1, e.workers.size) });
  };
  const tour = opts.tour
    ? new Tour(
        opts.tour.steps,
        opts.tour.speed,
        {
          collect: () => controller.collect(),
          freeze: (on) => {
            if (experiment()?.freeze !== on || experiment()?.split)
              refork({ freeze: on, split: false }, on ? 'with gc.freeze()' : 'without freeze');
          },
          workload: (name) =>
            refork({ workload: name, freeze: experiment()?.freeze ?? false, split: false }, `with workload ${name}`),
          split: (on) =>
            refork({ freeze: true, split: on, workload: 'collect' }, 'half before, half after gc.freeze()'),
          map: (open) => {
            if (open && model.view.mode !== 'map') model.toggleMap();
            if (!open && model.view.mode === 'map') model.closeOverlay();
          },
        },
        () => controller.can('freeze'),
        () => {
          // Recorded: the cast ends on the verdict. Live: the verdict stays and the keys are the viewer's.
          if (opts.record) void lifecycle.exit(0);
          scheduleDraw();
        },
      )
    : null;
  if (tour)
    setInterval(() => {
      tour.advance(model);
      scheduleDraw();
    }, 250).unref();
  /** The selected row's process in what is on screen, if any. */
  const selectedProcess = (): ProcessSample | null =>
    model.shown?.processes.find((p) => rowKey(p) === model.view.table.selected) ?? null;

  /** k's Enter: the signal goes only if the pid still names the process that was shown. */
  const sendSignal = (): void => {
    const c = model.view.confirm;
    model.closeOverlay();
    if (!c) return;
    const name = SIGNALS[c.signal];
    void session.signal(c.pid, c.starttime, name).then((r) => {
      model.addEvent(r.ok ? 'info' : 'error', `${c.what}: ${r.text}`);
      scheduleDraw();
    });
  };

  const unavailable = (need: Need): string | null => {
    if (session.kind === 'attach') {
      if (need === 'restart') return null;
      return session.attached?.run
        ? `cowtop run watches the server: start it ${session.attached.run.freeze ? 'without' : 'with'} --freeze to compare, or use run --compare`
        : 'not for a process cowtop did not start (attach only watches)';
    }
    if (need === 'restart') return null; // only offered once the experiment has died
    if (!session.experiment?.alive) return 'the experiment is not running: R restarts it';
    if (need === 'freeze')
      return `gc.freeze() is not available in ${model.ready?.implementation ?? 'this interpreter'} ${model.ready?.version ?? ''}`.trim();
    return null;
  };

  const exportSnapshot = (): void => {
    const snap = model.latest;
    if (!snap) return;
    const file = opts.exportFile ?? `cowtop-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
    const text = /\.csv$/i.test(file)
      ? `${[CSV_HEADER, ...csvRows(snap)].join('\n')}\n`
      : `${safeJson(sampleRecord(snap), 2)}\n`;
    try {
      writeOutput(file, text);
      model.addEvent('info', `exported the snapshot of ${formatDuration(snap.t)} to ${file}`);
    } catch (err) {
      model.addEvent(
        'error',
        err instanceof OutputError
          ? `cannot export: ${err.message}`
          : `cannot export to ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
  };

  /**
   * Keys while an overlay or the filter line is up. Returns whether the key was taken; keys the
   * mode does not know close it (help, detail) or are ignored (confirm, filter).
   */
  const onModeKey = (ch: string | undefined, full: string): boolean => {
    const v = model.view;
    const page = Math.max(1, Math.floor((ui?.rows ?? 24) * 0.9) - 3);
    const scroll = ({ up: -1, down: 1, pageup: -page, pagedown: page, home: 'home', end: 'end' } as const)[
      full as 'up'
    ];
    switch (v.mode) {
      case 'normal':
        return false;
      case 'map':
        if (full !== 'escape') return false; // g, f, arrows... work under the map
        model.closeOverlay();
        return true;
      case 'filter':
        model.filterKey(full, ch);
        return true;
      case 'confirm':
        if (full === 'up' || full === 'down') model.pickSignal(full === 'up' ? -1 : 1, SIGNALS.length);
        else if (full === 'enter') sendSignal();
        else if (full === 'escape' || ch === 'q' || ch === 'n') model.closeOverlay();
        return true;
      case 'help':
      case 'detail':
        if (scroll !== undefined) model.scrollHelp(scroll);
        else if (v.mode === 'detail' && ch === 'k') {
          const key = v.detail;
          model.closeOverlay();
          if (key) model.view.table.selected = key;
          controller.askSignal();
        } else model.closeOverlay(); // any other key closes it, as htop's help
        return true;
    }
  };

  /** Mouse: a click on a column title sorts by it, on a row selects it; the wheel moves the selection. */
  let lastFrameTable: ReturnType<typeof buildFrame>['table'] | null = null;
  const onMouse = (m: { action: string; x: number; y: number }): boolean => {
    const t = lastFrameTable;
    if (!t || model.view.mode !== 'normal') return false;
    const inTable = m.y >= t.rect.top && m.y < t.rect.top + t.rect.height;
    if (m.action === 'wheelup' || m.action === 'wheeldown') {
      if (!inTable) return false;
      controller.select(m.action === 'wheelup' ? -WHEEL_ROWS : WHEEL_ROWS);
      return true;
    }
    if (m.action !== 'mousedown' || !inTable) return false;
    if (m.y === t.rect.top) {
      const col = t.columns.find((c) => m.x >= c.x && m.x < c.x + c.width);
      if (!col) return false;
      model.sortBy(col.id);
      return true;
    }
    const key = t.keys[m.y - t.rect.top - 1];
    if (!key) return false;
    model.view.table.selected = key;
    return true;
  };

  const openScreen = (): void => {
    if (recorder) {
      const untee = teeStdout(recorder);
      lifecycle.onExit(() => {
        untee();
        recorder.close();
      });
    }
    // blessed is loaded here, not with this module: the experiment's interpreter starts first.
    const { DashboardScreen } = require('./screen') as typeof import('./screen');
    ui = new DashboardScreen();
    const screen = ui.screen;
    lifecycle.onExit(() => {
      if (frameTimer) clearTimeout(frameTimer);
      ui?.destroy();
      ui = null;
    });
    captureStderr(model, scheduleDraw);
    screen.on('keypress', (ch: string | undefined, key: { full?: string; name?: string }) => {
      if (key?.full === 'C-c') return controller.quit(); // Ctrl-C quits from any mode
      if (key?.full === 'return') return; // blessed sends \r as 'enter' and again as 'return': one press, one action
      if (tour && !tour.finished && model.view.mode !== 'help') {
        // The tour: space pauses it, q quits as always, any other key ends it and does its job.
        if (key?.full === 'space') {
          tour.togglePause();
          return draw();
        }
        if (ch !== 'q') {
          tour.stop();
          model.addEvent('info', 'tour ended: the keyboard is yours');
        }
      }
      if (onModeKey(ch, key?.full ?? '')) return draw();
      // blessed names a shifted letter "S-r"; the table names it by what was typed.
      const binding = KEYS.find(
        (k) => k.keys.includes(key?.full ?? '') || (ch !== undefined && ch.length === 1 && k.keys.includes(ch)),
      );
      if (!binding) return;
      if (binding.needs && !controller.can(binding.needs)) {
        // A key that does nothing here says why, rather than nothing at all.
        const why = unavailable(binding.needs);
        if (why) {
          model.addEvent('info', `${binding.label}: ${why}`);
          draw();
        }
        return;
      }
      binding.run(controller);
      draw(); // a key shows its effect at once, not at the next tick
    });
    screen.on('mouse', (m: { action: string; x: number; y: number }) => {
      if (onMouse(m)) draw();
    });
    screen.on('resize', () => draw());
    // Uptime moves even while paused or while nothing else happens.
    setInterval(scheduleDraw, 1000).unref();
  };

  session.on('spawn', () => {
    if (!ui) openScreen();
    scheduleDraw();
  });
  session.on('report', (r: Report) => {
    model.onReport(r);
    runQueued(); // the re-fork under way is done: the next key waiting takes its turn
    if (r.type !== 'gc') scheduleDraw();
  });
  session.on('log', (l: LogLine) => {
    model.onLog(l);
    scheduleDraw();
  });
  session.on('snapshot', (snap: Snapshot) => {
    model.attached = session.attached;
    model.pushSnapshot(snap);
    runQueued(); // a re-fork is done once a sample shows its workers
    tour?.advance(model);
    // New figures are drawn at once, not up to a frame later (one draw per tick).
    draw();
  });
  session.on('memory', (why: string) => {
    model.addEvent('error', why);
    model.view.notice = why;
    scheduleDraw();
  });
  session.on('died', (text: string) => {
    const why = session.kind === 'experiment' ? `${text}: R restarts the experiment, q quits` : `${text}; q quits`;
    model.addEvent('error', why);
    model.view.notice = why;
    scheduleDraw();
  });
  session.on('notice', (text: string) => {
    model.addEvent('error', text);
    model.view.notice = text;
    scheduleDraw();
  });
  session.on('spawn', () => {
    model.view.notice = null;
  });
  // The experiment's screen opens at once: the header says the heap is being built while the
  // interpreter starts (a start that fails gives the terminal back, then says why in one line).
  // attach and run open it on 'spawn', once their tree checked out, which takes no time.
  const first = session.kind === 'experiment' ? splash(process.stdout, process.env.TERM) : null;
  if (first) lifecycle.onExit(() => first.restore());
  const starting = session.start(); // spawns the interpreter before blessed is loaded
  if (session.kind === 'experiment') {
    openScreen();
    first?.handedOver();
    draw();
  }
  await starting;
  recorder?.open(); // only now: a start that failed leaves an existing file as it was
}

/**
 * While the screen is up, anything written to stderr (blessed's terminfo warnings, a library's
 * notice) goes to the event log instead of tearing the screen.
 */
function captureStderr(model: DashboardModel, redraw: () => void): void {
  const original = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
    for (const line of String(chunk).split('\n')) if (line.trim()) model.addEvent('error', `[cowtop stderr] ${line}`);
    redraw();
    const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    cb?.();
    return true;
  }) as typeof process.stderr.write;
  lifecycle.onExit(() => {
    process.stderr.write = original;
  });
}
