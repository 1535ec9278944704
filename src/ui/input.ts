/**
 * What a key or a click means, in every mode: pure functions over the model (htop's Action
 * returning what to redo). They change view-state through the model's methods and say what
 * must happen outside it (run a binding, send the signal, quit); the controller does that.
 */
import { type RowsNow, searchKey, sortMenuKey } from './view-modes';
import { type Controller, KEYS, type KeyBinding, MODE_KEYS, type Need } from './keys';
import type { DashboardModel } from './model';
import type { Frame } from './render/types';

export interface Key {
  ch?: string; // what was typed, for letters
  full: string; // blessed's name: 'up', 'S-r', 'C-c', 'enter'
}

export type KeyOutcome =
  | { do: 'nothing' } // not a key here: nothing to draw
  | { do: 'draw' } // the model changed
  | { do: 'run'; binding: KeyBinding } // a key-table binding, for the controller
  | { do: 'say'; text: string } // a key that does nothing now says why
  | { do: 'send-signal' } // k's box: Enter
  | { do: 'ask-signal' } // k in a process's detail: the box for that process
  | { do: 'quit' };

export interface KeyContext {
  can: Controller['can'];
  /** Why a binding that needs this cannot run now, or null to stay silent. */
  unavailable(need: Need): string | null;
  /** Rows a page key scrolls an overlay by. */
  page: number;
  signals: number; // how many signals k's box offers
  /** The rows as the table orders them now: what F3 searches. */
  rows(): RowsNow;
}

/** One key, whatever the mode: Ctrl-C quits from anywhere, overlays take their keys first. */
export function dispatchKey(model: DashboardModel, key: Key, ctx: KeyContext): KeyOutcome {
  if (key.full === 'C-c') return { do: 'quit' };
  if (key.full === 'return') return { do: 'nothing' }; // blessed sends \r as 'enter' and again as 'return'
  const mode = modeKey(model, key, ctx);
  if (mode) return mode;
  // blessed names a shifted letter "S-r"; the table names it by what was typed.
  const binding = KEYS.find(
    (k) => k.keys.includes(key.full) || (key.ch !== undefined && key.ch.length === 1 && k.keys.includes(key.ch)),
  );
  if (!binding) return { do: 'nothing' };
  if (binding.needs && !ctx.can(binding.needs)) {
    const why = ctx.unavailable(binding.needs);
    return why ? { do: 'say', text: `${binding.label}: ${why}` } : { do: 'nothing' };
  }
  return { do: 'run', binding };
}

/** Keys while an overlay or the filter line is up (MODE_KEYS); null in the normal mode, and for what the map lets through. */
function modeKey(model: DashboardModel, key: Key, ctx: KeyContext): KeyOutcome | null {
  const v = model.view;
  if (v.mode === 'normal') return null;
  const { ch, full } = key;
  const table = MODE_KEYS[v.mode];
  const hit = table.bindings.find(
    (b) => b.keys.includes('*') || b.keys.includes(full) || (ch !== undefined && b.keys.includes(ch)),
  );
  if (!hit) {
    if (table.other === 'pass') return null;
    if (table.other === 'close') model.closeOverlay();
    return { do: 'draw' };
  }
  switch (hit.action) {
    case 'close':
      model.closeOverlay();
      return { do: 'draw' };
    case 'type':
      model.filterKey(full, ch);
      return { do: 'draw' };
    case 'search':
      searchKey(model, ctx.rows(), full, ch);
      return { do: 'draw' };
    case 'sort-menu':
      sortMenuKey(model, full);
      return { do: 'draw' };
    case 'scroll': {
      const moves = { up: -1, down: 1, pageup: -ctx.page, pagedown: ctx.page, home: 'home', end: 'end' } as const;
      model.scrollHelp(moves[full as keyof typeof moves]);
      return { do: 'draw' };
    }
    case 'signal-pick':
      model.pickSignal(full === 'up' ? -1 : 1, ctx.signals);
      return { do: 'draw' };
    case 'signal-send':
      return { do: 'send-signal' };
    case 'signal-ask': {
      const row = v.detail;
      model.closeOverlay();
      if (row) model.view.table.selected = row;
      return { do: 'ask-signal' };
    }
  }
}

/**
 * cowtop demo's tour while it runs: space pauses it, q quits as always, any other key ends it
 * and then does its job ('end'); the help overlay's keys are the help's ('pass').
 */
export function tourKey(
  tour: { finished: boolean } | null,
  mode: DashboardModel['view']['mode'],
  key: Key,
): 'pause' | 'end' | 'pass' {
  if (!tour || tour.finished || mode === 'help' || key.full === 'C-c' || key.ch === 'q') return 'pass';
  return key.full === 'space' ? 'pause' : 'end';
}

export interface Mouse {
  action: string; // blessed's: mousedown, wheelup, wheeldown...
  x: number;
  y: number;
}

export type MouseOutcome =
  | { do: 'nothing' }
  | { do: 'sort'; column: Frame['table']['columns'][number]['id'] }
  | { do: 'select'; key: string }
  | { do: 'move'; by: number };

/** Rows the selection moves per wheel notch. */
export const WHEEL_ROWS = 3;

/** A click on a column title sorts by it, on a row selects it; the wheel moves the selection. */
export function hitTest(table: Frame['table'] | null, mode: DashboardModel['view']['mode'], m: Mouse): MouseOutcome {
  if (!table || mode !== 'normal') return { do: 'nothing' };
  const inTable = m.y >= table.rect.top && m.y < table.rect.top + table.rect.height;
  if (!inTable) return { do: 'nothing' };
  if (m.action === 'wheelup' || m.action === 'wheeldown')
    return { do: 'move', by: m.action === 'wheelup' ? -WHEEL_ROWS : WHEEL_ROWS };
  if (m.action !== 'mousedown') return { do: 'nothing' };
  if (m.y === table.rect.top) {
    const col = table.columns.find((c) => m.x >= c.x && m.x < c.x + c.width);
    return col ? { do: 'sort', column: col.id } : { do: 'nothing' };
  }
  const key = table.keys[m.y - table.rect.top - 1];
  return key ? { do: 'select', key } : { do: 'nothing' };
}
