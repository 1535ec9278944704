/** The shapes a frame is made of: plain data that the frame builder fills and screen.ts draws. */
import type { ChartId, ColumnId } from '../model';

export interface ChartFrame {
  id: ChartId;
  rect: Rect;
  label: string; // the title line: what is drawn, in which unit, and the legend (with tags)
  /** Inside the border: y labels in the first `left` columns, the plot right of them, time labels below. */
  plot: {
    left: number;
    cols: number;
    rows: number;
    yLabels: Array<{ row: number; text: string }>;
    xLabels: Array<{ col: number; text: string }>;
    /** Each line's runs of points in braille pixels of the plot (2 x 4 per cell); a gap between runs. */
    lines: Array<{ title: string; colour: string; runs: Array<Array<[number, number]>> }>;
  };
  axis: { now: number; stepMs: number; cols: number };
}

export interface Rect {
  top: number;
  left: number;
  width: number;
  height: number;
}

/** Where each column of the table sits, for a click on its title (x from the table's left). */
export interface ColumnSpan {
  id: ColumnId;
  x: number;
  width: number;
}

export interface Frame {
  tooSmall: string | null;
  header: { rect: Rect; text: string };
  table: {
    rect: Rect;
    text: string;
    scrollTop: number;
    visibleRows: number;
    columns: ColumnSpan[];
    keys: readonly string[];
  };
  charts: ChartFrame[];
  timeline: { rect: Rect; text: string } | null;
  log: { rect: Rect; lines: string[] };
  footer: { rect: Rect; text: string };
  /** cowtop demo: the tour's caption, one or two lines above the footer. */
  caption: { rect: Rect; text: string } | null;
  /** An overlay (help, a process's detail, k's question): its box, the lines that fit (scrolled). */
  help: { rect: Rect; lines: string[]; label: string; scroll: number; kind: 'help' | 'detail' | 'confirm' } | null;
}
