/**
 * The blessed side of the dashboard: widgets placed by a Frame, filled from it, and one
 * screen.render() per frame. Nothing here knows about processes.
 */
import blessed from 'blessed';
import type { Frame, Rect } from './render/frame';
import { drawable, type Glyphs } from './glyphs';
import { dotsOf, PX_X, PX_Y } from './render/plot';
import type { ChartFrame } from './render/types';

export interface ScreenOptions {
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
  term?: string;
  /** What the terminal can draw (glyphs.ts): every text set on a widget passes through drawable(). */
  glyphs?: Glyphs;
}

/** Every text a widget is given, as this terminal can draw it: its content and its label. */
function drawableWidget<T extends blessed.Widgets.BlessedElement>(w: T, glyphs: Glyphs): T {
  if (glyphs === 'unicode') return w;
  const setContent = w.setContent.bind(w);
  const setLabel = w.setLabel.bind(w);
  w.setContent = (text: string) => setContent(drawable(text, glyphs));
  w.setLabel = ((label: string) => setLabel(drawable(label, glyphs))) as typeof w.setLabel;
  return w;
}

/**
 * tmux and screen terminfo entries make blessed fall back to 8 colours and odd line drawing;
 * they are xterm-compatible, so blessed is told so.
 */
export function terminalFor(term: string | undefined): string {
  if (!term) return 'xterm';
  if (/^(tmux|screen)/.test(term)) return term.includes('256') ? 'xterm-256color' : 'xterm';
  return term;
}

/** blessed-contrib's braille canvas (drawille): dots set one by one, in colour; text written into cells. */
interface Dots {
  width: number;
  height: number;
  color: string;
  chars: unknown[];
  colors: unknown[];
  clear(): void;
  set(x: number, y: number): void;
  writeText(text: string, x: number, y: number): void;
}
interface Inner {
  getContext(): unknown;
}
type Canvas = blessed.Widgets.BoxElement & { _canvas: Inner; ctx: { _canvas: Dots } };
/**
 * Only the canvas: blessed-contrib's index loads every widget it has (maps, markdown, a
 * world's coastlines), 110 ms and 8 MiB of RSS more at start (bench/RESULTS.md, issue 14).
 * Its line chart spaces samples evenly whatever their times and cannot leave a gap: plot.ts
 * places each dot, the canvas draws them.
 */
const canvas = require('blessed-contrib/lib/widget/canvas') as (o: unknown) => Canvas;

export class DashboardScreen {
  readonly screen: blessed.Widgets.Screen;
  private readonly header: blessed.Widgets.BoxElement;
  private readonly table: blessed.Widgets.BoxElement;
  private readonly timeline: blessed.Widgets.BoxElement;
  private readonly log: blessed.Widgets.BoxElement;
  private readonly footer: blessed.Widgets.BoxElement;
  private readonly caption: blessed.Widgets.BoxElement;
  private readonly help: blessed.Widgets.BoxElement;
  private readonly tooSmall: blessed.Widgets.BoxElement;
  private charts: Array<{ key: string; widget: Canvas; label: string; drawn: string | null }> = [];
  private destroyed = false;
  private readonly glyphs: Glyphs;

  constructor(opts: ScreenOptions = {}) {
    const events = ['SIGTERM', 'SIGINT', 'SIGQUIT', 'uncaughtException'] as const;
    const before = new Map(events.map((e) => [e, new Set(process.listeners(e as never))]));
    this.screen = blessed.screen({
      input: opts.input as never,
      output: opts.output as never,
      terminal: terminalFor(opts.term ?? process.env.TERM),
      smartCSR: true,
      warnings: false,
      title: 'cowtop',
      autoPadding: false,
      fullUnicode: false,
    });
    // Clicks sort and select, the wheel scrolls (htop does the same); blessed turns the
    // terminal's mouse modes off again when the screen is destroyed.
    this.screen.enableMouse();
    // blessed adds its own handlers that call process.exit(0) once they are the last listener:
    // mid-shutdown they would cut the lifecycle short. The lifecycle owns every way out.
    for (const e of events) {
      for (const l of process.listeners(e as never)) if (!before.get(e)!.has(l)) process.removeListener(e, l as never);
    }
    this.glyphs = opts.glyphs ?? 'unicode';
    const box = (extra: Partial<blessed.Widgets.BoxOptions> = {}): blessed.Widgets.BoxElement =>
      drawableWidget(blessed.box({ parent: this.screen, tags: true, wrap: false, ...extra }), this.glyphs);
    this.header = box();
    this.table = box();
    this.timeline = box();
    this.log = box();
    this.footer = box();
    this.caption = box({ hidden: true });
    this.tooSmall = box({ hidden: true, top: 0, left: 0, width: '100%', height: 3, wrap: true });
    this.help = box({
      hidden: true,
      top: 'center',
      left: 'center',
      width: '90%',
      height: '90%',
      border: { type: 'line' },
      label: ' help ',
      wrap: false,
      style: { border: { fg: 'cyan' } },
    });
  }

  get cols(): number {
    return this.screen.width as number;
  }

  get rows(): number {
    return this.screen.height as number;
  }

  draw(frame: Frame): void {
    if (this.destroyed) return; // a key or a timer can fire after quit began
    const parts = [this.header, this.table, this.timeline, this.log, this.footer, this.caption];
    if (frame.tooSmall) {
      for (const p of parts) p.hide();
      this.help.hide();
      this.setCharts([]);
      this.tooSmall.setContent(frame.tooSmall);
      this.tooSmall.width = this.cols;
      this.tooSmall.show();
      this.screen.render();
      return;
    }
    this.tooSmall.hide();
    place(this.header, frame.header.rect, frame.header.text);
    place(this.table, frame.table.rect, frame.table.text);
    place(this.log, frame.log.rect, frame.log.lines.join('\n'));
    place(this.footer, frame.footer.rect, frame.footer.text);
    if (frame.caption) place(this.caption, frame.caption.rect, frame.caption.text);
    else this.caption.hide();
    if (frame.timeline) place(this.timeline, frame.timeline.rect, frame.timeline.text);
    else this.timeline.hide();
    this.setCharts(frame.charts);
    if (frame.help) {
      // The frame already wrapped and scrolled it: blessed only draws the lines.
      const content = frame.help.lines.join('\n');
      place(this.help, frame.help.rect, content);
      this.help.style.border.fg = frame.help.kind === 'confirm' ? 'red' : 'cyan';
      this.help.setLabel(frame.help.label);
      this.help.setFront();
    } else {
      this.help.hide();
    }
    this.screen.render();
  }

  /** A new size means a new canvas, sized to the box's inside (contrib's own leaves 6 columns and 2 rows over). */
  private setCharts(charts: Frame['charts']): void {
    const keys = charts.map((c) => `${c.id}:${c.rect.top},${c.rect.left},${c.rect.width},${c.rect.height}`);
    if (keys.join('|') !== this.charts.map((c) => c.key).join('|')) {
      for (const c of this.charts) c.widget.destroy();
      this.charts = charts.map((c, i) => {
        const widget = canvas({
          top: c.rect.top,
          left: c.rect.left,
          width: c.rect.width,
          height: c.rect.height,
          label: ' ',
          border: { type: 'line' },
          style: { border: { fg: 'gray' } },
          // Each row is the box's width exactly: blessed would wrap one ending in a coloured dot.
          wrap: false,
        });
        drawableWidget(widget, this.glyphs);
        this.screen.append(widget as never);
        // The title line carries the legend in colour: its label box reads tags, while the plot
        // itself must not (its braille and colour codes are not blessed markup).
        const label = (widget as unknown as { _label?: { parseTags: boolean } })._label;
        if (label) label.parseTags = true;
        return { key: keys[i], widget, label: '', drawn: null };
      });
    }
    charts.forEach((c, i) => {
      const entry = this.charts[i];
      if (entry.label !== c.label) {
        entry.widget.setLabel(c.label);
        entry.label = c.label;
      }
      // Setting every dot is most of a frame's cost: a frame with the same plot (a key, the
      // clock) keeps the canvas as it is.
      const key = JSON.stringify(c.plot);
      if (entry.drawn === key) return;
      entry.drawn = key;
      drawPlot(sized(entry.widget, c.rect), c.plot);
    });
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.screen.destroy();
  }
}

/**
 * The canvas sized to the box's inside. contrib makes its own when the widget is attached (which
 * may come after append), 6 columns narrower and 2 rows taller than the inside: replaced here.
 */
function sized(widget: Canvas, r: Rect): Dots {
  const w = Math.max(2, r.width - 2) * PX_X;
  const h = Math.max(1, r.height - 2) * PX_Y;
  const dots = widget.ctx?._canvas;
  if (dots && dots.width === w && dots.height === h) return dots;
  const Made = widget._canvas.constructor as new (w: number, h: number) => Inner;
  widget._canvas = new Made(w, h);
  widget.ctx = widget._canvas.getContext() as Canvas['ctx'];
  return widget.ctx._canvas;
}

/** The plot's dots and labels onto the canvas, from a clean one. */
function drawPlot(dots: Dots, plot: ChartFrame['plot']): void {
  dots.clear();
  dots.chars.fill(undefined);
  dots.colors.fill(undefined);
  const dx = plot.left * PX_X;
  for (const line of plot.lines) {
    dots.color = line.colour;
    for (const run of line.runs) for (const [x, y] of dotsOf(run)) dots.set(x + dx, y);
  }
  for (const l of plot.yLabels) dots.writeText(l.text.padStart(plot.left - 1), 0, l.row * PX_Y);
  for (const l of plot.xLabels) dots.writeText(l.text, (plot.left + l.col) * PX_X, plot.rows * PX_Y);
}

function place(box: blessed.Widgets.BoxElement, r: Rect, text: string): void {
  box.top = r.top;
  box.left = r.left;
  box.width = r.width;
  box.height = r.height;
  box.setContent(text);
  box.show();
}
