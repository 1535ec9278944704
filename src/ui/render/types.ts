/** The shapes a frame is made of: plain data that the frame builder fills and screen.ts draws. */
import type { ChartId, ColumnId } from '../model';

export interface Series {
  title: string;
  x: string[];
  y: number[];
  style: { line: string };
}

export interface ChartFrame {
  id: ChartId;
  rect: Rect;
  label: string; // the title line: what is drawn, in which unit, and the legend (with tags)
  maxY: number;
  series: Series[];
  showNthLabel: number; // x labels every this many samples (those between are empty)
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
