/**
 * Every key of the dashboard, in one table. The footer and the help overlay are made from it,
 * so they cannot drift from what the keys do.
 */
import type { ColumnId, Move } from './model';
import { COLUMNS } from './columns';
import { WORKLOAD_HELP } from '../experiment/options';
import { STRATEGY_HELP } from '../experiment/strategy';

export interface Controller {
  toggleFreeze(): void;
  toggleSplit(): void;
  collect(): void;
  scale(delta: number): void;
  nextWorkload(): void;
  nextStrategy(): void;
  togglePause(): void;
  select(move: Move): void;
  sortBy(column: ColumnId): void;
  askSignal(): void;
  openDetail(): void;
  startFilter(): void;
  startSearch(): void;
  sortMenu(): void;
  clearFilter(): void;
  toggleTree(): void;
  toggleMap(): void;
  changeInterval(dir: 1 | -1): void;
  cycleUnits(): void;
  nextChart(): void;
  toggleHelp(): void;
  restart(): void;
  exportSnapshot(): void;
  quit(): void;
  /** Whether a binding applies now (freeze is unavailable under PyPy, for one). */
  can(what: Need): boolean;
}

export type Need = 'freeze' | 'workload' | 'scale' | 'restart' | 'collect';

export interface KeyBinding {
  keys: string[]; // blessed key names
  label: string; // how the footer and help name the keys
  footer: string | null; // the footer's word for it; null: help only
  help: string;
  needs?: Need;
  run(c: Controller): void;
}

const sortBindings: KeyBinding[] = COLUMNS.filter((c) => c.sortKey).map((col) => ({
  keys: [col.sortKey!],
  label: col.sortKey!,
  footer: null,
  help: `sort by ${col.title} (again: reverse)`,
  run: (c: Controller) => c.sortBy(col.id),
}));

export const KEYS: KeyBinding[] = [
  {
    keys: ['f'],
    label: 'f',
    footer: 'freeze',
    needs: 'freeze',
    help: 'toggle gc.freeze(): re-fork the workers frozen or not, without rebuilding the heap',
    run: (c) => c.toggleFreeze(),
  },
  {
    keys: ['s'],
    label: 's',
    footer: 'split',
    needs: 'freeze',
    help: 'split view: re-fork half the workers before gc.freeze() and half after, side by side',
    run: (c) => c.toggleSplit(),
  },
  {
    keys: ['g'],
    label: 'g',
    footer: 'collect',
    needs: 'collect',
    help: 'gc.collect() now in every worker',
    run: (c) => c.collect(),
  },
  { keys: ['+', '='], label: '+', footer: null, needs: 'scale', help: 'one more worker', run: (c) => c.scale(1) },
  { keys: ['-', '_'], label: '-', footer: null, needs: 'scale', help: 'one worker less', run: (c) => c.scale(-1) },
  {
    keys: ['w'],
    label: 'w',
    footer: 'workload',
    needs: 'workload',
    help: 'next workload (re-forks the workers)',
    run: (c) => c.nextWorkload(),
  },
  {
    keys: ['G'],
    label: 'G',
    footer: 'gc',
    needs: 'workload',
    help: 'next gc strategy: default, disable, threshold, freeze (re-forks the workers; see Strategies)',
    run: (c) => c.nextStrategy(),
  },
  {
    keys: ['up'],
    label: '↑/↓',
    footer: null,
    help: 'select the row above / below (the table scrolls to keep it in view)',
    run: (c) => c.select(-1),
  },
  { keys: ['down'], label: '↓', footer: null, help: '', run: (c) => c.select(1) },
  {
    keys: ['pageup'],
    label: 'PgUp/PgDn',
    footer: null,
    help: 'a page of rows up / down',
    run: (c) => c.select('pageup'),
  },
  { keys: ['pagedown'], label: 'PgDn', footer: null, help: '', run: (c) => c.select('pagedown') },
  { keys: ['home'], label: 'Home/End', footer: null, help: 'the first / last row', run: (c) => c.select('home') },
  { keys: ['end'], label: 'End', footer: null, help: '', run: (c) => c.select('end') },
  {
    keys: ['enter'],
    label: 'Enter',
    footer: 'detail',
    help: 'the selected process in full: every smaps_rollup field, faults, gc state, command line',
    run: (c) => c.openDetail(),
  },
  {
    keys: ['k', 'f9'],
    label: 'k',
    footer: 'signal',
    help: 'send the selected process a signal (asks first; SIGTERM picked, arrows pick another, e.g. SIGHUP, SIGTTIN); F9 too, as htop',
    run: (c) => c.askSignal(),
  },
  {
    keys: ['/', 'f4'],
    label: '/',
    footer: 'filter',
    help: 'filter rows by pid, role or command as you type; Enter keeps it, Esc clears it; F4 too',
    run: (c) => c.startFilter(),
  },
  {
    keys: ['f3'],
    label: 'F3',
    footer: null,
    help: 'search: jump to the next row whose pid, role or command holds what you type, the others stay (F3 again: the next one; Enter or Esc ends it)',
    run: (c) => c.startSearch(),
  },
  {
    keys: ['f6'],
    label: 'F6',
    footer: null,
    help: 'sort by: a menu of every column (arrows pick, Enter sorts, Esc leaves it); 1-0 and a click on a title too',
    run: (c) => c.sortMenu(),
  },
  { keys: ['escape'], label: 'Esc', footer: null, help: 'clear the filter', run: (c) => c.clearFilter() },
  {
    keys: ['m'],
    label: 'm',
    footer: 'map',
    help: 'the copy map: which pages of the parent each worker copied (pagemap), and per mapping for the selected worker; the other keys still work under it',
    run: (c) => c.toggleMap(),
  },
  {
    keys: ['t', 'f5'],
    label: 't',
    footer: 'tree',
    help: "tree view: each process under its parent, as htop's t (and F5)",
    run: (c) => c.toggleTree(),
  },
  {
    keys: ['space'],
    label: 'space',
    footer: 'pause',
    help: 'pause the display; sampling goes on, so deltas stay right',
    run: (c) => c.togglePause(),
  },
  ...sortBindings,
  {
    keys: ['r'],
    label: 'r',
    footer: null,
    help: 'sort by role again (parent, then workers in order)',
    run: (c) => c.sortBy('role'),
  },
  {
    keys: ['u'],
    label: 'u',
    footer: 'units',
    help: "sizes in MiB, KiB, or % of the parent's heap",
    run: (c) => c.cycleUnits(),
  },
  {
    keys: ['e'],
    label: 'e',
    footer: 'export',
    help: 'write the current snapshot to --export FILE (.csv: CSV, else JSON; default cowtop-<time>.json)',
    run: (c) => c.exportSnapshot(),
  },
  {
    keys: ['['],
    label: '[/]',
    footer: null,
    help: 'a shorter / longer sampling interval (shown in the header as "every 1s"; the experiment\'s gc reports follow it)',
    run: (c) => c.changeInterval(-1),
  },
  { keys: [']'], label: ']', footer: null, help: '', run: (c) => c.changeInterval(1) },
  {
    keys: ['c'],
    label: 'c',
    footer: 'chart',
    help: 'next chart, when only one fits the screen',
    run: (c) => c.nextChart(),
  },
  {
    keys: ['?', 'h', 'f1'],
    label: '?',
    footer: 'help',
    help: 'this help (any key closes it); F1 too',
    run: (c) => c.toggleHelp(),
  },
  {
    keys: ['R'],
    label: 'R',
    footer: 'restart',
    needs: 'restart',
    help: 'restart the experiment after its Python parent died',
    run: (c) => c.restart(),
  },
  {
    keys: ['q', 'C-c', 'f10'],
    label: 'q',
    footer: 'quit',
    help: 'quit: stop the experiment and restore the terminal; F10 too',
    run: (c) => c.quit(),
  },
];

/**
 * Which keys the footer keeps when not all fit, most needed first: help and quit always, then
 * the experiment's own keys; c early, because a narrow terminal is exactly where it is needed.
 */
const FOOTER_PRIORITY = [
  '?',
  'q',
  'R',
  'f',
  'g',
  'm',
  'c',
  'space',
  '/',
  'k',
  'Enter',
  'w',
  '+/-',
  'G',
  's',
  'u',
  't',
  '1-0',
  'e',
];

/** What a key does in an overlay mode, for dispatchKey (input.ts): the mode's own bindings. */
export type ModeAction =
  | 'close'
  | 'scroll'
  | 'signal-pick'
  | 'signal-send'
  | 'signal-ask'
  | 'type'
  | 'search'
  | 'sort-menu';

export interface ModeBinding {
  keys: string[]; // blessed key names, or typed characters
  action: ModeAction;
}

/**
 * The overlay modes' keys, taken before the key table (htop's typing modes). A key a mode does
 * not list: help and detail close (as htop's help), k's box and the filter line keep it, the map
 * lets it through to the table (g, f and the arrows work under it). '*' is any key.
 */
export const MODE_KEYS: Record<
  'help' | 'detail' | 'confirm' | 'filter' | 'map' | 'search' | 'sort',
  { bindings: ModeBinding[]; other: 'close' | 'keep' | 'pass' }
> = {
  help: { bindings: [{ keys: ['up', 'down', 'pageup', 'pagedown', 'home', 'end'], action: 'scroll' }], other: 'close' },
  detail: {
    bindings: [
      { keys: ['up', 'down', 'pageup', 'pagedown', 'home', 'end'], action: 'scroll' },
      { keys: ['k'], action: 'signal-ask' },
    ],
    other: 'close',
  },
  confirm: {
    bindings: [
      { keys: ['up', 'down'], action: 'signal-pick' },
      { keys: ['enter'], action: 'signal-send' },
      { keys: ['escape', 'q', 'n'], action: 'close' },
    ],
    other: 'keep',
  },
  filter: { bindings: [{ keys: ['*'], action: 'type' }], other: 'keep' },
  search: { bindings: [{ keys: ['*'], action: 'search' }], other: 'keep' },
  sort: { bindings: [{ keys: ['*'], action: 'sort-menu' }], other: 'keep' },
  map: { bindings: [{ keys: ['escape'], action: 'close' }], other: 'pass' },
};

/** The footer: the keys that work now, in the key table's order, as many as fit by priority. */
export function footerText(width: number, can: Controller['can'], allChartsShown = false): string {
  const parts: Array<{ label: string; text: string }> = [];
  for (const k of KEYS) {
    if (k.needs && !can(k.needs)) continue;
    if (k.label === 'c' && allChartsShown) continue; // nothing to switch to
    if (k.footer) parts.push({ label: k.label, text: `{bold}${k.label}{/bold} ${k.footer}` });
    if (k.label === '-') parts.push({ label: '+/-', text: '{bold}+/-{/bold} workers' });
    if (k.label === 'space') parts.push({ label: '1-0', text: '{bold}1-0{/bold} sort' });
  }
  const size = (p: (typeof parts)[number]): number => p.text.replace(/\{\/?bold\}/g, '').length;
  const rank = (p: (typeof parts)[number]): number =>
    (FOOTER_PRIORITY.indexOf(p.label) + FOOTER_PRIORITY.length + 1) % (FOOTER_PRIORITY.length + 1);
  const kept = new Set<(typeof parts)[number]>();
  let used = -2;
  for (const p of [...parts].sort((a, b) => rank(a) - rank(b))) {
    if (used + 2 + size(p) > width) continue;
    kept.add(p);
    used += 2 + size(p);
  }
  return parts
    .filter((p) => kept.has(p))
    .map((p) => p.text)
    .join('  ');
}

/** The help overlay's lines: keys, columns, timeline marks, workloads. */
export function helpLines(can: Controller['can']): string[] {
  const lines = ['{bold}Keys{/bold}  (arrows, PgUp/PgDn, Home/End scroll this help; any other key closes it)'];
  let sortDone = false;
  for (const k of KEYS) {
    const off = k.needs && !can(k.needs) ? ' {gray-fg}(not available here){/gray-fg}' : '';
    if (/^\d$/.test(k.label)) {
      if (sortDone) continue;
      sortDone = true;
      const sorts = KEYS.filter((x) => /^\d$/.test(x.label))
        .sort((a, b) => ((Number(a.label) + 9) % 10) - ((Number(b.label) + 9) % 10))
        .map((x) => `${x.label} ${x.help.replace(/^sort by (.*) \(again: reverse\)$/, '$1')}`);
      lines.push(`  {bold}${'1-0'.padEnd(10)}{/bold}sort (again: reverse): ${sorts.join(', ')}`);
      continue;
    }
    if (!k.help) continue; // the second key of a pair, said with the first
    lines.push(`  {bold}${k.label.padEnd(10)}{/bold}${k.help}${off}`);
  }
  lines.push(
    '',
    '{bold}Mouse{/bold}  click a column title: sort by it (again: reverse)  click a row: select it  wheel: move the selection',
  );
  lines.push('', '{bold}Columns{/bold}  (sizes carry their unit in the title: u changes it)');
  for (const c of COLUMNS) lines.push(`  {bold}${c.title.padEnd(12)}{/bold}${c.help}`);
  lines.push(
    '',
    "{bold}Timeline{/bold}  g full collection  F freeze on  f freeze off  s split re-fork  w workload  x unexpected exit  O OOM kill in the tree's cgroup",
  );
  lines.push('', '{bold}Strategies{/bold}  (--gc, G)');
  for (const [name, text] of Object.entries(STRATEGY_HELP)) lines.push(`  {bold}${name.padEnd(10)}{/bold}${text}`);
  lines.push('', '{bold}Workloads{/bold}');
  for (const [name, text] of Object.entries(WORKLOAD_HELP)) lines.push(`  {bold}${name.padEnd(8)}{/bold}${text}`);
  return lines;
}
