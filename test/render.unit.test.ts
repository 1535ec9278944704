/** The renderer on a recorded session: no process, no terminal; screen text at two sizes. */
import { processSample, snapshotOf } from './samples';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { footerText, helpLines, KEYS } from '../src/ui/keys';
import { fitParts } from '../src/ui/render/frame';
import { chartSeries } from '../src/ui/render/charts';
import { columnOf, pixelY, polylines, rasterize, xTicks, yScale } from '../src/ui/render/plot';
import { DashboardModel } from '../src/ui/model';
import { makeTheme } from '../src/ui/theme';
import { LEVELS } from '../src/ui/render/map';
import { heatCells } from '../src/sample/copy-map';
import { COLUMNS, fitColumns } from '../src/ui/columns';
import { growthHeat } from '../src/ui/render/table';
import { Ring } from '../src/ui/ring';
import { FIXTURES } from './helpers';
import { canAll, renderFrames, renderText, replaySession } from './replay';
import { buildFrame } from '../src/ui/render/frame';
import { readTable } from './pty';
import { splash } from '../src/ui/splash';

function golden(name: string, text: string): void {
  const file = join(FIXTURES, 'screens', name);
  // A missing fixture is a failure, not a pass that writes it: only UPDATE_GOLDEN=1 writes.
  if (process.env.UPDATE_GOLDEN) writeFileSync(file, `${text}\n`);
  else assert.ok(existsSync(file), `screen ${name} has no golden file (UPDATE_GOLDEN=1 writes it)`);
  assert.equal(`${text}\n`, readFileSync(file, 'utf8'), `screen ${name} changed (UPDATE_GOLDEN=1 to accept)`);
}

for (const [cols, rows] of [
  [80, 24],
  [160, 48],
]) {
  test(`recorded session at ${cols}x${rows} draws the same screen`, () => {
    const { model, end } = replaySession();
    const text = renderText(model, cols, rows, end + 500);
    golden(`session-${cols}x${rows}.txt`, text);
    const lines = text.split('\n');
    assert.equal(lines.length, rows);
    assert.ok(lines.every((l) => l.length <= cols));
    // What the screen says is what the last snapshot holds.
    const last = model.latest!;
    const table = readTable(lines);
    assert.equal(table.length, last.processes.length);
    for (const p of last.processes.filter((x) => x.alive)) {
      const row = table.find((r) => r.PID === String(p.pid))!;
      assert.ok(row, `row for ${p.pid}`);
      assert.equal(row.USS, (p.uss! / 1048576).toFixed(1));
      assert.equal(row.PSS, (p.pss! / 1048576).toFixed(1));
    }
    assert.match(lines[1], /FREEZE ON/);
    if (rows >= 48) assert.match(text, /re-forked 3 workers WITH gc\.freeze\(\)/);
    const timeline = lines.find((l) => l.startsWith('ev '))!;
    assert.ok(timeline.indexOf('g') < timeline.indexOf('F'), 'collection before the freeze toggle on the timeline');
  });
}

test('mid-session, before the re-fork: FREEZE OFF and workers grown by the collection', () => {
  const { startedAt, items } = JSON.parse(readFileSync(join(FIXTURES, 'session.json'), 'utf8'));
  const refork = items.find((i: any) => i.kind === 'report' && i.data.type === 'refork').at;
  // The last snapshot before the re-fork with all three workers alive (during a re-fork the
  // dying workers are rightly left out).
  const before = items
    .filter(
      (i: any) =>
        i.kind === 'snapshot' &&
        i.at < refork &&
        i.data.processes.filter((p: any) => p.role === 'worker' && p.alive).length === 3,
    )
    .pop();
  const { model, end } = replaySession(undefined, before.at);
  assert.ok(end > startedAt);
  const text = renderText(model, 160, 48, end);
  assert.match(text, /FREEZE OFF/);
  const workers = readTable(text.split('\n')).filter((r) => r.ROLE.startsWith('worker'));
  assert.equal(workers.length, 3);
  for (const w of workers) assert.ok(Number(w.GROWTH) > 20, `growth ${w.GROWTH} MiB after gc.collect()`);
  assert.ok(!/ 0\.0 +-/.test(text), 'no half-dead row');
});

test('units: KiB and % of heap', () => {
  const { model, end } = replaySession();
  model.view.units = 'heap';
  const text = renderText(model, 160, 48, end);
  assert.match(text, /sizes in %heap/);
  const parent = readTable(text.split('\n')).find((r) => r.ROLE === 'parent')!;
  const p = model.latest!.processes.find((x) => x.role === 'parent')!;
  assert.equal(parent.USS, `${((p.uss! / model.ready!.heapBytes) * 100).toFixed(1)}%`);
});

test('NO_COLOR draws the same text', () => {
  const { model, end } = replaySession();
  assert.equal(renderText(model, 80, 24, end, { NO_COLOR: '1' }), renderText(model, 80, 24, end));
});

test('too small a terminal gets one plain line', () => {
  const { model, end } = replaySession();
  assert.match(renderText(model, 39, 11, end).split('\n')[0], /^terminal too small: 39x11/);
});

test('the help overlay and the footer come from the key table', () => {
  const { model, end } = replaySession();
  model.view.mode = 'help';
  const text = renderText(model, 100, 40, end);
  assert.match(text, /help: .*any other key closes/);
  for (const k of KEYS.filter((x) => !/^\d$/.test(x.label)))
    assert.ok(
      helpLines(() => true).some((l) => l.includes(k.help)),
      k.help,
    );
  assert.match(
    footerText(200, () => true),
    /f.*freeze.*g.*collect.*\+\/-.*workers.*w.*workload.*space.*pause.*1-0.*sort.*u.*units.*\?.*help.*q.*quit/,
  );
  const narrow = footerText(50, () => true).replace(/\{\/?bold\}/g, '');
  assert.ok(narrow.length <= 50);
  assert.match(narrow, /\? help/);
  assert.match(narrow, /q quit/);
  assert.doesNotMatch(
    footerText(200, (w) => w !== 'freeze'),
    /freeze/,
    'the footer shows only what works',
  );
  // At 80 columns one chart shows: c, the key to the others, is kept before the rest.
  const eighty = footerText(80, () => true).replace(/\{\/?bold\}/g, '');
  assert.ok(eighty.length <= 80, eighty);
  for (const k of ['f freeze', 'g collect', 'c chart', '? help', 'q quit'])
    assert.ok(eighty.includes(k), `${k} in: ${eighty}`);
  assert.match(footerText(14, () => true).replace(/\{\/?bold\}/g, ''), /^\? help {2}q quit$/, '? always fits');
  assert.doesNotMatch(
    footerText(200, () => true, true),
    /c chart/,
    'all charts shown: no c',
  );
});

test('columns fit the width by priority; helpers', () => {
  const w80 = fitColumns(79).map((c) => c.id);
  assert.deepEqual(w80.slice(0, 3), ['role', 'pid', 'uss']);
  assert.ok(fitColumns(79).reduce((a, c) => a + c.width + 1, -1) <= 79);
  assert.equal(fitColumns(200).length, COLUMNS.filter((c) => !c.optional).length, 'TRACED only with --tracemalloc');
  assert.equal(
    fitParts(
      [
        ['a', 0],
        ['bbbb', 3],
        ['c', 1],
      ],
      4,
    ),
    'a  c',
  );
  const r = new Ring<number>(3);
  for (const n of [1, 2, 3, 4, 5]) r.push(n);
  assert.deepEqual(r.last(), [3, 4, 5]);
  assert.deepEqual(r.last(2), [4, 5]);
  assert.equal(r.length, 3);
});

/** A model whose history is flat at 10 MiB but for one sample at 50 MiB, marked g there. */
function spikeModel(n: number, at: number, workers = 3): DashboardModel {
  const m = new DashboardModel(0);
  for (let i = 0; i < n; i++) {
    const uss = new Map(
      Array.from({ length: workers }, (_, w) => [w, (i === at ? 50 : 10) * 1048576] as [number, number]),
    );
    m.history.push({
      t: i * 1000,
      uss,
      faults: new Map(),
      pss: 1,
      rss: 1,
      frozenSlots: new Set(),
      marker: i === at ? 'g' : '',
    });
  }
  return m;
}

test('a timeline mark sits in the column where the charts draw its sample, at 80x24 and 200x60', () => {
  for (const [cols, rows, n, at] of [
    [80, 24, 30, 11],
    [200, 60, 50, 37],
    [200, 60, 12, 9],
  ]) {
    const text = renderText(spikeModel(n, at), cols, rows, n * 1000).split('\n');
    const timeline = text.find((l) => l.startsWith('ev '))!;
    assert.ok(timeline, `events line at ${cols}x${rows}`);
    const marks = [...timeline.matchAll(/g/g)].map((m) => m.index!);
    assert.equal(marks.length, cols >= 150 ? 3 : cols >= 100 ? 2 : 1, 'one mark per chart');
    // The first chart's topmost braille dot in the plot: the spike.
    const chartTop = text.findIndex((l) => l.startsWith('┌─ USS MiB'));
    const right = text[chartTop].indexOf('┐');
    const axis = [...text[chartTop + 1]].findIndex((ch) => ch >= '\u2801' && ch <= '\u28ff');
    const braille = (l: string): number =>
      [...l].findIndex((ch, i) => i > axis && i < right && ch >= '\u2801' && ch <= '\u28ff');
    const spike = text
      .slice(chartTop + 1)
      .map(braille)
      .find((i) => i > 0)!;
    assert.ok(
      Math.abs(spike - marks[0]) <= 1,
      `${cols}x${rows}: g at ${marks[0]}, spike at ${spike}\n${text.join('\n')}`,
    );
  }
});

test('the y scale holds every value, with exact labels evenly spaced on whole rows, at every height', () => {
  for (const rows of [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 17, 24, 40])
    for (const v of [0, 0.3, 0.9, 1.5, 1.85, 1.9, 3.7, 9.6, 42, 121, 978, 15000]) {
      const s = yScale(v, rows);
      const what = `${v} on ${rows} rows: top ${s.top}, labels ${JSON.stringify(s.labels)}`;
      assert.ok(s.top >= v, `the top holds the value: ${what}`);
      if (v > 0) assert.ok(s.top <= v * 2.5 + 1e-9, `the top is near the value: ${what}`);
      // Labels: exact multiples of the step, bottom row 0, evenly spaced, inside the plot.
      s.labels.forEach((l, i) => {
        assert.equal(Number(l.text), Number((i * s.step).toFixed(6)), what);
        assert.ok(l.row >= 0 && l.row < rows, what);
      });
      assert.equal(s.labels[0].row, rows - 1);
      const gaps = s.labels.slice(1).map((l, i) => s.labels[i].row - l.row);
      assert.equal(new Set(gaps).size <= 1, true, `evenly spaced: ${what}`);
      if (rows >= 5) assert.ok(gaps[0] >= 2, `not a label on every row: ${what}`);
      // A value draws on the row its label says, and the top on the top label's row.
      const rowOf = (x: number): number => Math.floor(pixelY(x, s, rows) / 4);
      for (const l of s.labels) assert.equal(rowOf(Number(l.text)), l.row, `${l.text} on its row: ${what}`);
      assert.ok(rowOf(v) >= s.labels.at(-1)!.row, `never above the top: ${what}`);
    }
});

test('a column is a span of time: samples fall in the column of their time, a missing one is a gap', () => {
  const axis = { now: 60_000, stepMs: 1000, cols: 40 };
  assert.equal(columnOf(60_000, axis), 39);
  assert.equal(columnOf(50_000, axis), 29);
  const s = yScale(10, 8);
  // Samples at 1 s, then none for 10 s (a pause, a stopped machine), then at 1 s again.
  const times = [40, 41, 42, 43, 44, 54, 55, 56, 57, 58, 59, 60].map((x) => x * 1000);
  const runs = polylines(
    times.map((t) => ({ t, v: 5, every: 1000 })),
    axis,
    s,
    8,
  );
  assert.equal(runs.length, 2, 'the 10 s without samples is a gap');
  assert.deepEqual(
    runs.map((r) => r.map(([x]) => Math.floor(x / 2))),
    [
      [19, 20, 21, 22, 23],
      [33, 34, 35, 36, 37, 38, 39],
    ],
  );
  // An unknown value is a gap as well; a longer interval (]) is no gap.
  assert.equal(
    polylines(
      [
        { t: 58_000, v: 1, every: 1000 },
        { t: 59_000, v: null, every: 1000 },
        { t: 60_000, v: 1, every: 1000 },
      ],
      axis,
      s,
      8,
    ).length,
    2,
  );
  assert.equal(
    polylines(
      [
        { t: 50_000, v: 1, every: 5000 },
        { t: 55_000, v: 1, every: 5000 },
        { t: 60_000, v: 1, every: 5000 },
      ],
      axis,
      s,
      8,
    ).length,
    1,
  );
  // Time labels at multiples of one duration, evenly spaced, distinct.
  const ticks = xTicks(axis);
  assert.ok(ticks.length >= 3, JSON.stringify(ticks));
  const steps = new Set(ticks.slice(1).map((t, i) => t.col - ticks[i].col));
  assert.equal(steps.size, 1, JSON.stringify(ticks));
  assert.equal(new Set(ticks.map((t) => t.text)).size, ticks.length);
  // Sampling every 100 ms: a label a second, ten columns apart; tenths only where ticks are closer.
  const fast = xTicks({ now: 7_000, stepMs: 100, cols: 70 });
  assert.deepEqual(
    fast.map((t) => t.text),
    ['0:01', '0:02', '0:03', '0:04', '0:05', '0:06'],
  );
  assert.ok(xTicks({ now: 7_000, stepMs: 25, cols: 70 }).every((t) => /\.\d$/.test(t.text)));
  // Raster: the gap is blank between the two runs.
  const cells = rasterize([{ colour: 'white', runs }], 40, 8, false);
  const lit = cells.map((row) => row.map((c) => c.ch !== ' '));
  const litCols = new Set(lit.flatMap((row) => row.flatMap((on, x) => (on ? [x] : []))));
  for (let x = 24; x < 33; x++) assert.ok(!litCols.has(x), `column ${x} is a gap`);
  const text = renderText(spikeModel(30, 5, 3), 80, 24, 30000);
  assert.match(text, /┌─ USS MiB {2}w1 10\.0 {2}w2 10\.0 {2}w3 10\.0 ─/);
});

test('with many workers the charts draw max / median / min, and say which worker is the max', () => {
  const m = spikeModel(30, 29, 12);
  m.history.last(1)[0].uss.set(7, 90 * 1048576);
  const frame = chartSeries('uss', m.history.last(30), makeTheme({}), { width: 100, height: 12 }, 1000);
  assert.deepEqual(
    frame.plot.lines.map((s) => s.title),
    ['max', 'median', 'min'],
  );
  assert.match(frame.label.replace(/\{[^}]*\}/g, ''), /max w8 90\.0 {2}median 50\.0/);
  const text = renderText(m, 100, 30, 30000);
  const footer = text.split('\n').at(-1)!;
  assert.match(footer, /\? help/, 'the footer is not covered');
});

test('colour with meaning: growth warms with the share of the heap copied; split groups in the mode colours; NO_COLOR plain', () => {
  const heap = 100 * 1048576;
  assert.equal(growthHeat(null, heap), 0);
  assert.equal(growthHeat(512 * 1024, heap), 0, 'under 1 MiB is noise');
  assert.equal(growthHeat(5 * 1048576, heap), 1);
  assert.equal(growthHeat(20 * 1048576, heap), 2);
  assert.equal(growthHeat(80 * 1048576, heap), 3);
  const color = makeTheme({});
  const plain = makeTheme({ NO_COLOR: '1' });
  assert.match(color.heat(3, '80.0'), /\{#ff2020-fg\}/);
  assert.equal(plain.heat(2, '20.0'), '20.0');
  assert.equal(plain.heat(3, '80.0'), '{bold}80.0{/bold}', 'no colour; emphasis stays (theme.ts)');
  assert.match(color.frozenGroup('frozen 1'), /green-fg/);
  assert.equal(plain.unfrozenGroup('no-frz 1'), 'no-frz 1');
});

test('the sorted column keeps its place at 80 columns, as htop keeps it; the detail pane reads the snapshot', () => {
  const { model, end } = replaySession();
  model.view.sort = { column: 'majflt', desc: true };
  const narrow = renderText(model, 80, 24, end).split('\n');
  const title = narrow.find((l) => l.startsWith('ROLE'))!;
  assert.match(title, /^ROLE.*MAJFLT\/s▼/, 'MAJFLT/s takes the place of the least important column');
  assert.doesNotMatch(title, /sort MAJFLT/);
  assert.ok(title.length <= 80);
  const wide = renderText(model, 200, 50, end)
    .split('\n')
    .find((l) => l.startsWith('ROLE'))!;
  assert.match(wide, /MAJFLT\/s▼/);
  assert.doesNotMatch(wide, /sort MAJFLT/);
  const w = model.latest!.processes.find((p) => p.role === 'worker')!;
  model.openDetail(`${w.pid}:${w.starttime}`);
  const pane = renderText(model, 100, 40, end);
  assert.match(pane, new RegExp(`pid ${w.pid}: .*Esc closes`));
  assert.match(pane, new RegExp(`get_count\\(\\) +${w.gc!.counts!.join(' / ')}`));
  model.openDetail('4194303:1');
  assert.match(renderText(model, 100, 40, end), /The process 4194303 is gone/);
});

test('the demo caption: a band above the footer, two lines at most, the same text under NO_COLOR', () => {
  const { model, end } = replaySession();
  model.caption = `step 2/8  ${'g: every worker runs gc.collect() and copies the pages it writes. '.repeat(3)}`;
  const lines = renderText(model, 80, 24, end).split('\n');
  assert.match(lines[21], /^step 2\/8 {2}g: every worker/);
  assert.match(lines[22], /…$/, 'cut at two lines');
  assert.match(lines[23], /\? help/, 'the footer stays');
  assert.equal(renderText(model, 80, 24, end, { NO_COLOR: '1' }), lines.join('\n'));
});

test('the splash: the alternate screen and the header before blessed is loaded, given back only if blessed never took it', () => {
  const out: string[] = [];
  const w = { write: (s: string) => out.push(s) };
  assert.equal(splash(w, 'linux'), null, 'a terminal without an alternate screen gets none');
  assert.equal(splash(w, undefined), null);
  assert.equal(out.length, 0);
  const s = splash(w, 'xterm-256color')!;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the escape sequence the splash writes
  assert.match(out.join(''), /^\x1b\[\?1049h.*cowtop.*starting the experiment: building the heap\.\.\./);
  s.restore();
  s.restore();
  assert.equal(
    out.filter((x) => x.includes('\x1b[?1049l')).length,
    1,
    'a failed start leaves the alternate screen once',
  );
  out.length = 0;
  const t = splash(w, 'tmux-256color')!;
  t.handedOver();
  t.restore();
  assert.equal(out.filter((x) => x.includes('\x1b[?1049l')).length, 0, 'blessed gives the screen back itself');
});

test('a frame with the same chart data keeps the canvas, and new data redraws it: never a stale chart', () => {
  // One sample apart: the same chart layout and scale, only the data moved.
  const { items } = JSON.parse(readFileSync(join(FIXTURES, 'session.json'), 'utf8'));
  const snaps = items.filter((i: any) => i.kind === 'snapshot');
  const early = replaySession(undefined, snaps[snaps.length - 2].at);
  const late = replaySession(undefined, snaps[snaps.length - 1].at);
  const [a, again, b] = renderFrames(
    [
      { model: early.model, now: early.end },
      { model: early.model, now: early.end },
      { model: late.model, now: late.end },
    ],
    160,
    48,
  );
  assert.equal(again, a, 'the same data twice: the same screen');
  assert.equal(b, renderText(late.model, 160, 48, late.end), 'after new data, what a fresh screen draws');
  assert.notEqual(a, b);
});

test('End in the detail pane stays at its end while the pane grows, until it is scrolled', () => {
  const { model, end } = replaySession();
  const w = model.latest!.processes.find((p) => p.role === 'worker')!;
  model.openDetail(`${w.pid}:${w.starttime}`);
  const theme = makeTheme({});
  // As the dashboard draws: a frame, then what it drew goes back to the model.
  const draw = (rows: number): string[] => {
    const frame = buildFrame(model, 100, rows, theme, canAll, end);
    model.drawn(frame.table, frame.help);
    return frame.help!.lines;
  };
  const last = (lines: string[]): string => lines.filter((l) => l.trim()).at(-1)!;
  const whole = draw(200); // every line fits
  model.scrollHelp('end');
  assert.equal(last(draw(30)), last(whole), 'End shows the last line');
  // Fewer rows for the same lines: the pane has grown against its box, as when the copy map
  // arrives above the gc part. Without End's hold, the scroll kept from the last frame would
  // leave the last lines below the box.
  const shorter = draw(20);
  assert.equal(last(shorter), last(whole), 'still the last line after the pane grew');
  model.scrollHelp(-1);
  const up = draw(20);
  assert.notEqual(last(up), last(whole), 'a line up from the end');
  assert.equal(up.slice(1).join('\n'), shorter.slice(0, -1).join('\n'), 'one line up from where End held it');
  assert.equal(model.view.helpAtEnd, false, 'scrolled: no longer held at the end');
});

test("an attached tree's header says how old COPIED is", () => {
  const m = new DashboardModel(0);
  m.attached = { pid: 10, command: 'gunicorn', agents: 0, implementation: null };
  const p = processSample({ pid: 10, role: 'master', index: null, rss: 4096, pss: 4096, uss: 4096, shared: 0 });
  const copies = {
    at: 1000,
    tookMs: 5,
    parentPid: 10,
    privileged: true,
    workers: [],
    sharers: new Uint8Array(0),
    workerCount: 0,
    fallback: [],
    why: null,
  };
  m.pushSnapshot(
    snapshotOf([p], { t: 9000, at: 9000, freeze: null, strategy: null, workload: 'attached', copies } as never),
  );
  assert.match(renderText(m, 200, 30, 9500), /COPIED 8s old/);
});

test('after -, the USS legend no longer lists the worker that is gone', () => {
  const point = (slots: number[], t: number) => ({
    t,
    uss: new Map(slots.map((s) => [s, 2 * 1048576])),
    faults: new Map(slots.map((s) => [s, 0])),
    pss: 1,
    rss: 1,
    frozenSlots: new Set<number>(),
    marker: '',
  });
  const frame = chartSeries(
    'uss',
    [point([0, 1, 2, 3, 4], 0), point([0, 1, 2, 3], 1000)],
    makeTheme({ NO_COLOR: '1' }),
    { width: 120, height: 12 },
    1000,
  );
  assert.match(frame.label, /w4 2\.0/);
  assert.doesNotMatch(frame.label, /w5/, 'no "w5 0.0" for a worker that is gone');
});

test("the copy map's legend says what a cell's share is of, and every worker's full copy is its last class", () => {
  // sharers: how many of the 4 workers still share each page. A cell no worker shares any page of
  // is 1.0, the last class; one whose every worker copied four fifths of it is 0.8, not "every".
  const cells = heatCells(
    { sharers: new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 0, 0, 0, 0, 0, 0, 0, 4]), workerCount: 4 },
    4,
  );
  const byCell = [...cells].map((h) => LEVELS.find((l) => h < l.below)!.words);
  assert.deepEqual(byCell, ['95% or more', '95% or more', '35-65%', '65-95%']);
});

test('the tree view keeps COMMAND, which draws the branches, at 80 and 100 columns', () => {
  const ctx = { units: 'MiB' as const, heapBytes: null, elapsedMs: 1000, tree: true };
  for (const width of [80, 100]) {
    const ids = fitColumns(width, [], ctx).map((c) => c.id);
    assert.ok(ids.includes('command'), `${width}: ${ids.join(' ')}`);
    assert.ok(ids.includes('uss'), `${width}: USS stays`);
  }
  assert.ok(
    !fitColumns(80, [], { ...ctx, tree: false }).some((c) => c.id === 'command'),
    'without the tree, figures first',
  );
});
