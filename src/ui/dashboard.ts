/**
 * `cowtop`: the live dashboard. Wires the experiment, the sampler, the model, the key table and
 * the screen together; the lifecycle owns every way out.
 */
import { configPath, readConfig, writeConfig } from '../files/config';
import { checkOutput, OutputError } from '../files/output';
import { sanitize } from '../format/sanitize';
import type { LogLine } from '../experiment/experiment';
import type { Report } from '../experiment/protocol';
import { lifecycle } from '../lifecycle';
import type { Snapshot } from '../sample/snapshot';
import type { Monitor } from '../session/monitor';
import { UsageError } from '../util/usage-error';
import { DashboardController } from './controller';
import { tourKey } from './input';
import type { DashboardOptions } from './dashboard-options';
import { DashboardModel } from './model';
import { CastRecorder, teeStdout } from './record';
import { buildFrame } from './render/frame';
import type { DashboardScreen } from './screen';
import { splash } from './splash';
import { makeTheme } from './theme';
import { Tour } from './tour';
import { applySettings, SETTINGS_HEADER, settingsOf } from './settings';

const FRAME_MS = 33; // at most ~30 frames a second, however many events arrive

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

/** The settings file: read now (a bad one is ignored with one line why), written on every way out. */
function keepSettings(model: DashboardModel, session: Monitor, intervalGiven: boolean): void {
  const file = configPath();
  if (!file) return;
  const read = readConfig(file);
  if (read.ok) {
    const { interval, bad } = applySettings(model, read.values, intervalGiven);
    if (interval !== null && interval !== session.intervalMs) {
      session.setInterval(interval);
      model.intervalMs = interval;
    }
    if (bad.length) model.addEvent('error', `settings ${file}: ${bad.join(', ')} not understood, left as they were`);
  } else if (!read.missing) model.addEvent('error', `settings ${file} ignored: ${read.why}`);
  lifecycle.onExit(() => {
    try {
      writeConfig(file, settingsOf(model), SETTINGS_HEADER);
    } catch (err) {
      // A home that is read-only or not this user's (sudo -u, setpriv): nothing to tell.
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return;
      process.stderr.write(`cowtop: settings not saved to ${sanitize(file)}: ${code ?? (err as Error).message}\n`);
    }
  });
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
  // The tour is the same for everyone (and its recordings): it neither reads nor writes them.
  if (!opts.tour) keepSettings(model, session, opts.intervalGiven === true);
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
  const controller = new DashboardController(session, model, () => scheduleDraw(), opts.exportFile);

  const draw = (): void => {
    // A frame drawn now makes the one scheduled redundant: it would only cost a key its time.
    if (frameTimer) clearTimeout(frameTimer);
    frameTimer = null;
    if (!ui) return;
    lastFrame = Date.now();
    if (tour) model.caption = tour.caption(model);
    const frame = buildFrame(model, ui.cols, ui.rows, theme, (w) => controller.can(w), lastFrame);
    model.drawn(frame.table, frame.help);
    controller.table = frame.table;
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

  const tour = opts.tour
    ? new Tour(
        opts.tour.steps,
        opts.tour.speed,
        controller.tourActions(),
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
    const { glyphsFor } = require('./glyphs') as typeof import('./glyphs');
    ui = new DashboardScreen({ glyphs: glyphsFor(process.env, opts.ascii) });
    const screen = ui.screen;
    lifecycle.onExit(() => {
      if (frameTimer) clearTimeout(frameTimer);
      ui?.destroy();
      ui = null;
    });
    captureStderr(model, scheduleDraw);
    screen.on('keypress', (ch: string | undefined, key: { full?: string; name?: string }) => {
      const full = key?.full ?? '';
      const t = tourKey(tour, model.view.mode, { ch, full });
      if (t === 'pause') {
        tour!.togglePause();
        return draw();
      }
      if (t === 'end') {
        tour!.stop();
        model.addEvent('info', 'tour ended: the keyboard is yours');
      }
      const page = Math.max(1, Math.floor((ui?.rows ?? 24) * 0.9) - 3);
      if (controller.key({ ch, full }, page)) draw();
    });
    screen.on('mouse', (m: { action: string; x: number; y: number }) => {
      if (controller.mouse(m)) draw();
    });
    screen.on('resize', () => draw());
    // Uptime moves even while paused or while nothing else happens.
    setInterval(scheduleDraw, 1000).unref();
  };

  session.on('spawn', () => {
    model.view.notice = null; // a new start: the last one's notice no longer holds
    if (!ui) openScreen();
    scheduleDraw();
  });
  session.on('report', (r: Report) => {
    model.onReport(r);
    controller.runQueued(); // the re-fork under way is done: the next key waiting takes its turn
    if (r.type !== 'gc') scheduleDraw();
  });
  session.on('log', (l: LogLine) => {
    model.onLog(l);
    scheduleDraw();
  });
  session.on('snapshot', (snap: Snapshot) => {
    model.attached = session.attached;
    model.pushSnapshot(snap);
    controller.onSnapshot();
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
