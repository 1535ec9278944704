/**
 * The blessed side of the dashboard: widgets placed by a Frame, filled from it, and one
 * screen.render() per frame. Nothing here knows about processes.
 */
import blessed from 'blessed';
import type contrib from 'blessed-contrib';
import type { Frame, Rect } from './render/frame';
import { Y_LABELS, type Series } from './render/charts';

export interface ScreenOptions {
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
  term?: string;
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

type Line = ReturnType<typeof contrib.line>;
/**
 * Only the line chart: blessed-contrib's index loads every widget it has (maps, markdown, a
 * world's coastlines), 110 ms and 8 MiB of RSS more at start (bench/RESULTS.md, issue 14).
 */
const line = require('blessed-contrib/lib/widget/charts/line') as typeof contrib.line;

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
  private charts: Array<{
    key: string;
    widget: Line;
    label: string;
    drawn: { maxY: number; nth: number; series: Series[] } | null;
  }> = [];
  private destroyed = false;

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
    const box = (extra: Partial<blessed.Widgets.BoxOptions> = {}): blessed.Widgets.BoxElement =>
      blessed.box({ parent: this.screen, tags: true, wrap: false, ...extra });
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

  /** blessed-contrib charts size their canvas when attached: a new size means a new widget. */
  private setCharts(charts: Frame['charts']): void {
    const keys = charts.map((c) => `${c.id}:${c.rect.top},${c.rect.left},${c.rect.width},${c.rect.height}`);
    if (keys.join('|') !== this.charts.map((c) => c.key).join('|')) {
      for (const c of this.charts) c.widget.destroy();
      this.charts = charts.map((c, i) => {
        const widget = line({
          top: c.rect.top,
          left: c.rect.left,
          width: c.rect.width,
          height: c.rect.height,
          label: ' ',
          border: { type: 'line' },
          showLegend: false, // the legend is in the title line: a box inside the plot covers the newest data
          xLabelPadding: 3,
          xPadding: 5,
          numYLabels: Y_LABELS,
          style: { line: 'yellow', text: 'white', baseline: 'white', border: { fg: 'gray' } },
        } as never) as Line;
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
      const w = entry.widget as unknown as {
        options: { maxY: number; showNthLabel: number };
        setData(d: unknown): void;
        setLabel(t: string): void;
      };
      w.options.maxY = c.maxY;
      w.options.showNthLabel = c.showNthLabel;
      if (entry.label !== c.label) {
        w.setLabel(c.label);
        entry.label = c.label;
      }
      // setData clears and redraws the braille canvas point by point, most of a frame's cost:
      // a frame with the same data (a key, the clock) keeps the canvas as it is.
      const same =
        entry.drawn &&
        entry.drawn.maxY === c.maxY &&
        entry.drawn.nth === c.showNthLabel &&
        sameSeries(entry.drawn.series, c.series);
      if (c.series.length && c.series[0].x.length >= 2 && !same) {
        w.setData(c.series);
        entry.drawn = { maxY: c.maxY, nth: c.showNthLabel, series: c.series };
      }
    });
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.screen.destroy();
  }
}

function sameSeries(a: readonly Series[], b: readonly Series[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((s, i) => {
    const t = b[i];
    if (s.title !== t.title || s.style.line !== t.style.line || s.x.length !== t.x.length || s.y.length !== t.y.length)
      return false;
    for (let k = 0; k < s.y.length; k++) if (s.y[k] !== t.y[k]) return false;
    for (let k = 0; k < s.x.length; k++) if (s.x[k] !== t.x[k]) return false;
    return true;
  });
}

function place(box: blessed.Widgets.BoxElement, r: Rect, text: string): void {
  box.top = r.top;
  box.left = r.left;
  box.width = r.width;
  box.height = r.height;
  box.setContent(text);
  box.show();
}
