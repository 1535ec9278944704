/** The dashboard's keys and clicks in every mode, on the model alone: no pty, no blessed. */
import { processSample, snapshotOf } from './samples';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dispatchKey, hitTest, type KeyContext, tourKey, WHEEL_ROWS } from '../src/ui/input';
import { DashboardController } from '../src/ui/controller';
import { footerText, MODE_KEYS } from '../src/ui/keys';
import { DashboardModel } from '../src/ui/model';
import type { Frame } from '../src/ui/render/types';
import { COLUMNS } from '../src/ui/columns';
import { startSortMenu } from '../src/ui/view-modes';

const ctx = (over: Partial<KeyContext> = {}): KeyContext => ({
  can: () => true,
  unavailable: () => null,
  page: 10,
  signals: 3,
  rows: () => ({ keys: [], sample: () => undefined }),
  ...over,
});
const press = (m: DashboardModel, full: string, ch?: string, c = ctx()) => dispatchKey(m, { full, ch }, c);

test('normal mode: a key of the table runs its binding; one that cannot run says why, or nothing', () => {
  const m = new DashboardModel(0);
  const f = press(m, 'f', 'f');
  assert.equal(f.do, 'run');
  assert.ok(f.do === 'run' && f.binding.keys.includes('f'));
  assert.equal(press(m, 'S-g', 'G').do, 'run', 'a shifted letter by what was typed');
  const refused = press(m, 'f', 'f', ctx({ can: (w) => w !== 'freeze', unavailable: () => 'not in PyPy 3.9' }));
  assert.deepEqual(refused, { do: 'say', text: 'f: not in PyPy 3.9' });
  assert.deepEqual(
    press(m, 'f', 'f', ctx({ can: () => false })),
    { do: 'nothing' },
    'silent when there is no reason to give',
  );
  assert.deepEqual(press(m, 'x', 'x'), { do: 'nothing' });
  assert.deepEqual(press(m, 'return'), { do: 'nothing' }, "blessed's second name for Enter");
});

test('Ctrl-C quits from every mode', () => {
  for (const open of [
    () => {},
    (m: DashboardModel) => m.toggleHelp(),
    (m: DashboardModel) => m.startFilter(),
    (m: DashboardModel) => m.askSignal({ key: '1:1', pid: 1, starttime: 1, what: 'worker 1' }),
  ]) {
    const m = new DashboardModel(0);
    open(m);
    assert.deepEqual(press(m, 'C-c'), { do: 'quit' }, m.view.mode);
  }
});

test('help and detail: arrows and pages scroll, k in a detail asks for its process, any other key closes', () => {
  const m = new DashboardModel(0);
  m.toggleHelp();
  assert.equal(m.view.mode, 'help');
  assert.deepEqual(press(m, 'pagedown'), { do: 'draw' });
  assert.equal(m.view.mode, 'help', 'still open');
  assert.deepEqual(press(m, 'f', 'f'), { do: 'draw' });
  assert.equal(m.view.mode, 'normal', 'closed, and f did not run');
  m.openDetail('42:7');
  assert.equal(m.view.mode, 'detail');
  assert.deepEqual(press(m, 'k', 'k'), { do: 'ask-signal' });
  assert.equal(m.view.table.selected, '42:7', 'the detail was of the process k asks about');
});

test("k's box: arrows pick, Enter sends, Esc, q and n cancel; other keys do nothing", () => {
  const m = new DashboardModel(0);
  m.askSignal({ key: '1:1', pid: 1, starttime: 1, what: 'worker 1' });
  press(m, 'down');
  assert.equal(m.view.confirm?.signal, 1);
  press(m, 'up');
  press(m, 'up');
  assert.equal(m.view.confirm?.signal, 2, 'wraps');
  assert.deepEqual(press(m, 'enter'), { do: 'send-signal' });
  assert.deepEqual(press(m, 'g', 'g'), { do: 'draw' });
  assert.equal(m.view.mode, 'confirm', 'g does not collect behind the box');
  for (const [full, ch] of [['escape'], ['q', 'q'], ['n', 'n']] as const) {
    m.askSignal({ key: '1:1', pid: 1, starttime: 1, what: 'worker 1' });
    press(m, full, ch);
    assert.equal(m.view.mode, 'normal', full);
  }
});

test('the filter line takes every key; the map lets keys through but Esc', () => {
  const m = new DashboardModel(0);
  m.startFilter();
  assert.deepEqual(press(m, 'f', 'f'), { do: 'draw' });
  assert.equal(m.view.table.filter, 'f', 'f typed, not freeze');
  press(m, 'enter');
  assert.equal(m.view.mode, 'normal');
  m.toggleMap();
  assert.equal(press(m, 'g', 'g').do, 'run', 'g collects under the map');
  assert.deepEqual(press(m, 'escape'), { do: 'draw' });
  assert.equal(m.view.mode, 'normal');
});

test('the mouse: a title sorts, a row selects, the wheel moves; nothing outside the table or under an overlay', () => {
  const table = {
    rect: { top: 2, left: 0, width: 80, height: 5 },
    text: '',
    scrollTop: 0,
    visibleRows: 4,
    columns: [
      { id: 'pid', x: 10, width: 7 },
      { id: 'uss', x: 18, width: 9 },
    ],
    keys: ['10:1', '11:1'],
  } as unknown as Frame['table'];
  assert.deepEqual(hitTest(table, 'normal', { action: 'mousedown', x: 20, y: 2 }), { do: 'sort', column: 'uss' });
  assert.deepEqual(hitTest(table, 'normal', { action: 'mousedown', x: 5, y: 2 }), { do: 'nothing' }, 'between titles');
  assert.deepEqual(hitTest(table, 'normal', { action: 'mousedown', x: 5, y: 4 }), { do: 'select', key: '11:1' });
  assert.deepEqual(hitTest(table, 'normal', { action: 'mousedown', x: 5, y: 5 }), { do: 'nothing' }, 'below the rows');
  assert.deepEqual(hitTest(table, 'normal', { action: 'wheeldown', x: 5, y: 3 }), { do: 'move', by: WHEEL_ROWS });
  assert.deepEqual(hitTest(table, 'normal', { action: 'wheelup', x: 5, y: 9 }), { do: 'nothing' }, 'outside the table');
  assert.deepEqual(hitTest(table, 'help', { action: 'mousedown', x: 20, y: 2 }), { do: 'nothing' });
  assert.deepEqual(hitTest(null, 'normal', { action: 'mousedown', x: 20, y: 2 }), { do: 'nothing' });
});

test("the tour's keys: space pauses it, q quits as always, any other key ends it and does its job", () => {
  const running = { finished: false };
  assert.equal(tourKey(running, 'normal', { full: 'space', ch: ' ' }), 'pause');
  assert.equal(tourKey(running, 'normal', { full: 'g', ch: 'g' }), 'end');
  assert.equal(tourKey(running, 'normal', { full: 'q', ch: 'q' }), 'pass');
  assert.equal(tourKey(running, 'normal', { full: 'C-c' }), 'pass');
  assert.equal(tourKey(running, 'help', { full: 'down' }), 'pass', "the help's keys are the help's");
  assert.equal(tourKey({ finished: true }, 'normal', { full: 'g', ch: 'g' }), 'pass');
  assert.equal(tourKey(null, 'normal', { full: 'space', ch: ' ' }), 'pass');
});

test('every key an overlay mode lists in the table is taken by that mode', () => {
  const open: Record<string, (m: DashboardModel) => void> = {
    help: (m) => m.toggleHelp(),
    detail: (m) => m.openDetail('42:1'),
    confirm: (m) => m.askSignal({ key: '42:1', pid: 42, starttime: 1, what: 'worker 1' }),
    filter: (m) => m.startFilter(),
    map: (m) => m.toggleMap(),
  };
  for (const [mode, table] of Object.entries(MODE_KEYS)) {
    for (const b of table.bindings) {
      for (const key of b.keys.filter((k) => k !== '*')) {
        const m = new DashboardModel(0);
        open[mode](m);
        assert.equal(m.view.mode, mode);
        const out = press(m, key, key.length === 1 ? key : undefined);
        assert.notEqual(out.do, 'run', `${mode}: ${key} went past the mode to the key table`);
        assert.notEqual(out.do, 'nothing', `${mode}: ${key} did nothing`);
      }
    }
  }
});

test("htop's function keys: F1 help, F4 filter, F5 tree, F9 kill, F10 quit", () => {
  const m = new DashboardModel(0);
  const bound = (full: string): string[] => {
    const out = press(m, full);
    return out.do === 'run' ? out.binding.keys : [];
  };
  assert.ok(bound('f1').includes('?'));
  assert.ok(bound('f4').includes('/'));
  assert.ok(bound('f5').includes('t'));
  assert.ok(bound('f9').includes('k'));
  assert.ok(bound('f10').includes('q'));
});

test('the first second: a row is selected from the first sample; R is offered only once an experiment died', () => {
  const m = new DashboardModel(0);
  const proc = (pid: number, role: 'parent' | 'worker', index: number | null) =>
    processSample({ pid, role, index, uss: 1 });
  m.pushSnapshot(snapshotOf([proc(10, 'parent', null), proc(11, 'worker', 0)]));
  const session = { kind: 'experiment', experiment: null } as never;
  const c = new DashboardController(session, m, () => {});
  c.onSnapshot();
  assert.equal(m.view.table.selected, '10:1', 'the parent, so that Enter and k act at once');
  c.select(1);
  assert.equal(m.view.table.selected, '11:1', 'the first Down moves');
  assert.equal(c.can('restart'), false, 'no experiment yet: nothing to restart');
  const died = new DashboardController({ kind: 'experiment', experiment: { alive: false } } as never, m, () => {});
  assert.equal(died.can('restart'), true);
  assert.doesNotMatch(
    footerText(200, (w) => c.can(w)),
    /restart/,
  );
});

test('a re-fork into the split view has its own mark on the timeline', () => {
  const m = new DashboardModel(0);
  m.onReport({
    type: 'refork',
    workers: [1, 2],
    freeze: true,
    split: true,
    gc: 'freeze',
    workload: 'collect',
    seconds: 0.1,
  } as never);
  assert.equal(m.pendingMarker, 's');
});

test('F3 searches: typing jumps to the first matching row from the selected one, F3 to the next, rows stay', () => {
  const m = new DashboardModel(0);
  const procs = [
    processSample({ pid: 10, role: 'parent', index: null, command: 'python app.py' }),
    processSample({ pid: 11, role: 'worker', index: 0, command: 'python app.py --worker' }),
    processSample({ pid: 12, role: 'worker', index: 1, command: 'python app.py --worker' }),
    processSample({ pid: 13, role: 'worker', index: 2, command: 'celery beat' }),
  ];
  m.pushSnapshot(snapshotOf(procs));
  const c = new DashboardController({ kind: 'experiment', experiment: null } as never, m, () => {});
  c.onSnapshot();
  const k = (full: string, ch?: string) => c.key({ full, ch }, 10);
  k('f3');
  assert.equal(m.view.mode, 'search');
  for (const ch of '--wor') k(ch, ch);
  assert.equal(m.view.table.selected, '11:1', 'the first row that has it');
  k('f3');
  assert.equal(m.view.table.selected, '12:1', 'F3: the next one');
  k('f3');
  assert.equal(m.view.table.selected, '11:1', 'round again');
  assert.equal(m.view.table.filter, '', 'a search hides nothing');
  k('enter');
  assert.equal(m.view.mode, 'normal');
  assert.equal(m.view.table.selected, '11:1', 'the row stays selected');
  k('f3');
  k('b', 'b');
  k('e', 'e');
  assert.equal(m.view.table.selected, '13:1', 'celery beat');
  k('escape');
  assert.equal(m.view.mode, 'normal');
});

test('F6 is a sort menu: arrows pick a column, Enter sorts by it, Esc leaves the sort as it was', () => {
  const m = new DashboardModel(0);
  const press6 = (full: string) => dispatchKey(m, { full }, ctx());
  const run = dispatchKey(m, { full: 'f6' }, ctx());
  assert.equal(run.do, 'run');
  if (run.do === 'run') run.binding.run({ sortMenu: () => startSortMenu(m) } as never);
  assert.equal(m.view.mode, 'sort');
  assert.equal(m.view.sortPick, 0, 'the sorted column (role) picked');
  press6('down');
  press6('down');
  press6('escape');
  assert.equal(m.view.sort.column, 'role');
  startSortMenu(m);
  press6('down');
  press6('down');
  press6('enter');
  assert.equal(m.view.mode, 'normal');
  assert.equal(m.view.sort.column, COLUMNS[2].id);
  assert.equal(m.view.sort.desc, true, 'a size sorts biggest first, as its key does');
});
