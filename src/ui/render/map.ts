/**
 * The map pane (m, --map): the parent's anonymous memory as a grid of cells, each a run of
 * pages, by how many workers still share them; under it, the selected worker's pages per
 * mapping. Drawn from the snapshot's copy map: the UI reads no /proc.
 */
import { formatBytes, formatDuration } from '../../format/units';
import { heatCells, kindsText, type CopyMap, type WorkerCopies } from '../../sample/copy-map';
import type { Snapshot } from '../../sample/snapshot';
import type { DashboardModel } from '../model';
import { esc, type Theme } from '../theme';
import type { Frame } from './types';
import { rowKey, roleText } from '../rows';

/**
 * A cell's look by its heat: of its pages, counted once per worker, the share copied (heatCells).
 * A cell every worker copied four fifths of is 0.8, not "most workers": the legend says what the
 * share is of. Characters carry it without colour.
 */
export const LEVELS: Array<{ below: number; ch: string; colour: string; words: string }> = [
  { below: 0.05, ch: '·', colour: 'green', words: 'under 5%' },
  { below: 0.35, ch: '░', colour: '#d7d700', words: '5-35%' },
  { below: 0.65, ch: '▒', colour: '#ff8700', words: '35-65%' },
  { below: 0.95, ch: '▓', colour: 'red', words: '65-95%' },
  { below: Infinity, ch: '█', colour: '#ff2020', words: '95% or more' },
];
export const HOT = 0.5; // a cell is hot when at least half the workers copied its pages

const level = (h: number) => LEVELS.find((l) => h < l.below)!;

/** The grid of the last map and size: a frame redraws it ~30 times a second, the map changes every few. */
let lastCells: { map: CopyMap; count: number; cells: Float32Array } | null = null;
function cachedCells(map: CopyMap, count: number): Float32Array {
  if (lastCells?.map !== map || lastCells.count !== count) lastCells = { map, count, cells: heatCells(map, count) };
  return lastCells.cells;
}

/** The share of hot cells, for the title and for tests. */
export function hotShare(cells: Float32Array): number {
  if (!cells.length) return 0;
  let hot = 0;
  for (const c of cells) if (c >= HOT) hot++;
  return hot / cells.length;
}

const mib = (b: number): string => (b / 1048576).toFixed(1).padStart(8);

function mappingTable(w: WorkerCopies, what: string, rows: number): string[] {
  const held = kindsText(w);
  const out = [
    `{bold}${esc(what)}, pid ${w.pid}{/bold}: shared ${formatBytes(w.total.shared)}, {bold}copied ${formatBytes(w.total.copied)}{/bold}${held ? ` (${esc(held)})` : ''}, new since fork ${formatBytes(w.total.new)}${w.total.swapped ? `, swapped ${formatBytes(w.total.swapped)}` : ''}`,
  ];
  out.push(
    `{bold}${'mapping'.padEnd(28)}${'size MiB'.padStart(9)}${'shared'.padStart(9)}${'copied'.padStart(9)}${'new'.padStart(9)}${'swapped'.padStart(9)}{/bold}`,
  );
  // The mappings that say something: copies or new pages in them, or a sizeable share.
  for (const m of w.mappings.filter((x) => x.copied + x.new > 0 || x.size >= 1048576).slice(0, Math.max(1, rows - 2))) {
    const name = m.label.length > 27 ? `${m.label.slice(0, 26)}…` : m.label;
    out.push(
      `${esc(name).padEnd(28)} ${mib(m.size)} ${mib(m.shared)} ${mib(m.copied)} ${mib(m.new)} ${mib(m.swapped)}`,
    );
  }
  return out;
}

export function mapFrame(
  model: DashboardModel,
  s: Snapshot | null,
  cols: number,
  rows: number,
  theme: Theme,
  now: number,
): NonNullable<Frame['help']> {
  // Between the header (the mode, a re-fork under way) and the footer: both stay in view.
  const rect = { top: 2, left: 0, width: cols, height: rows - 3 };
  const width = rect.width;
  const height = rect.height;
  const inner = { w: width - 2, h: height - 2 };
  const map: CopyMap | null | undefined = s?.copies;
  const frame = (lines: string[], label: string): NonNullable<Frame['help']> => ({
    rect,
    lines: lines.slice(0, inner.h),
    label,
    scroll: 0,
    kind: 'detail',
  });
  if (!map)
    return frame(
      [
        theme.dim(
          s?.copiesNote
            ? `no copy map: ${esc(s.copiesNote)}`
            : 'reading the copy map (pagemap of the parent and every worker)...',
        ),
      ],
      ' copy map: m or Esc closes ',
    );
  const selected = s!.processes.find((p) => rowKey(p) === model.view.table.selected && p.role === 'worker');
  const age = formatDuration(Math.max(0, now - map.at));
  if (!map.privileged) {
    const lines = [theme.warn(esc(map.why ?? 'frame numbers unreadable')), ''];
    const f = map.fallback.find((x) => x.pid === selected?.pid) ?? map.fallback[0];
    if (f) {
      const p = s!.processes.find((x) => x.pid === f.pid);
      lines.push(
        `{bold}${esc(p ? roleText(p) : 'worker')}, pid ${f.pid}{/bold}: per mapping, from /proc/${f.pid}/smaps (copied and new since fork are one figure here)`,
      );
      lines.push(`{bold}${'mapping'.padEnd(28)}${'private MiB'.padStart(12)}${'shared MiB'.padStart(12)}{/bold}`);
      for (const m of f.mappings.slice(0, inner.h - 5))
        lines.push(
          `${esc(m.label.slice(0, 27)).padEnd(28)}${(m.private / 1048576).toFixed(1).padStart(12)}${(m.shared / 1048576).toFixed(1).padStart(12)}`,
        );
    }
    return frame(lines, ` copy map (smaps fallback), read ${age} ago: m or Esc closes `);
  }
  // The grid takes what the per-mapping table leaves: at least 3 rows.
  const w = map.workers.find((x) => x.pid === selected?.pid) ?? map.workers[0];
  const tableRows = w ? Math.min(w.mappings.length + 2, Math.max(3, Math.floor(inner.h * 0.35))) : 0;
  const gridRows = Math.max(3, inner.h - tableRows - 3);
  const cells = cachedCells(map, inner.w * gridRows);
  const perCell = cells.length ? map.sharers.length / cells.length : 0;
  const grid: string[] = [];
  for (let r = 0; r * inner.w < cells.length; r++) {
    // One tag per run of cells of one level, not per cell: blessed parses every tag of every frame.
    let line = '';
    let run = '';
    let runLevel: (typeof LEVELS)[number] | null = null;
    const flush = (): void => {
      if (runLevel) line += theme.color ? `{${runLevel.colour}-fg}${run}{/${runLevel.colour}-fg}` : run;
      run = '';
    };
    for (let c = r * inner.w; c < Math.min(cells.length, (r + 1) * inner.w); c++) {
      const l = level(cells[c]);
      if (l !== runLevel) {
        flush();
        runLevel = l;
      }
      run += l.ch;
    }
    flush();
    grid.push(line);
  }
  const hot = hotShare(cells);
  const legend = `of a cell's pages x workers, copied:  ${LEVELS.map((l) =>
    theme.color ? `{${l.colour}-fg}${l.ch}{/${l.colour}-fg} ${l.words}` : `${l.ch} ${l.words}`,
  ).join('  ')}`;
  const lines = [
    `{bold}hot ${(hot * 100).toFixed(0)}%{/bold} of the parent's anonymous memory (pid ${map.parentPid}, ${formatBytes(map.sharers.length * 4096)}: pymalloc arenas, [heap]), ${map.workerCount} workers, ${cells.length} cells of ${perCell.toFixed(1)} pages`,
    ...grid,
    legend,
    '',
    ...(w
      ? mappingTable(
          w,
          s!.processes.find((p) => p.pid === w.pid) ? roleText(s!.processes.find((p) => p.pid === w.pid)!) : 'worker',
          tableRows,
        )
      : [theme.dim('no worker')]),
  ];
  return frame(
    lines,
    ` copy map, read ${age} ago in ${map.tookMs.toFixed(0)} ms: arrows pick the worker, m or Esc closes `,
  );
}
