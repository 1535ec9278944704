/** The renderer on a recorded session: no process, no terminal; screen text at two sizes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { footerText, helpLines, KEYS } from '../src/ui/keys';
import { niceMax, fitParts } from '../src/ui/render/frame';
import { COLUMNS, fitColumns } from '../src/ui/render/table';
import { Ring } from '../src/ui/ring';
import { FIXTURES } from './helpers';
import { renderText, replaySession } from './replay';
import { readTable } from './pty';

function golden(name: string, text: string): void {
  const file = join(FIXTURES, 'screens', name);
  if (process.env.UPDATE_GOLDEN || !existsSync(file)) writeFileSync(file, text + '\n');
  assert.equal(text + '\n', readFileSync(file, 'utf8'), `screen ${name} changed (UPDATE_GOLDEN=1 to accept)`);
}

for (const [cols, rows] of [[80, 24], [160, 48]]) {
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
    const timeline = lines.find((l) => l.startsWith('events'))!;
    assert.ok(timeline.indexOf('g') < timeline.indexOf('F'), 'collection before the freeze toggle on the timeline');
  });
}

test('mid-session, before the re-fork: FREEZE OFF and workers grown by the collection', () => {
  const { startedAt, items } = JSON.parse(readFileSync(join(FIXTURES, 'session.json'), 'utf8'));
  const refork = items.find((i: any) => i.kind === 'report' && i.data.type === 'refork').at;
  // The last snapshot before the re-fork with all three workers alive (during a re-fork the
  // dying workers are rightly left out).
  const before = items.filter((i: any) => i.kind === 'snapshot' && i.at < refork && i.data.processes.filter((p: any) => p.role === 'worker' && p.alive).length === 3).pop();
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
  model.view.help = true;
  const text = renderText(model, 100, 40, end);
  assert.match(text, /help: .*any other key closes/);
  for (const k of KEYS.filter((x) => !/^\d$/.test(x.label))) assert.ok(helpLines(() => true).some((l) => l.includes(k.help)), k.help);
  assert.match(footerText(200, () => true), /f.*freeze.*g.*collect.*\+\/-.*workers.*w.*workload.*space.*pause.*1-0.*sort.*u.*units.*\?.*help.*q.*quit/);
  const narrow = footerText(50, () => true).replace(/\{\/?bold\}/g, '');
  assert.ok(narrow.length <= 50);
  assert.match(narrow, /\? help/);
  assert.match(narrow, /q quit/);
  assert.doesNotMatch(footerText(200, (w) => w !== 'freeze'), /freeze/, 'the footer shows only what works');
  // At 80 columns one chart shows: c, the key to the others, is kept before the rest.
  const eighty = footerText(80, () => true).replace(/\{\/?bold\}/g, '');
  assert.ok(eighty.length <= 80, eighty);
  for (const k of ['f freeze', 'g collect', 'c chart', '? help', 'q quit']) assert.ok(eighty.includes(k), `${k} in: ${eighty}`);
  assert.match(footerText(14, () => true).replace(/\{\/?bold\}/g, ''), /^\? help {2}q quit$/, '? always fits');
  assert.doesNotMatch(footerText(200, () => true, true), /c chart/, 'all charts shown: no c');
});

test('columns fit the width by priority; helpers', () => {
  const w80 = fitColumns(79).map((c) => c.id);
  assert.deepEqual(w80.slice(0, 3), ['role', 'pid', 'uss']);
  assert.ok(fitColumns(79).reduce((a, c) => a + c.width + 1, -1) <= 79);
  assert.equal(fitColumns(200).length, COLUMNS.filter((c) => !c.optional).length, "TRACED only with --tracemalloc");
  assert.equal(niceMax(0), 1);
  assert.equal(niceMax(121), 150);
  assert.equal(niceMax(9.6), 12);
  assert.equal(niceMax(978), 1200);
  assert.equal(niceMax(50), 60);
  assert.equal(fitParts([['a', 0], ['bbbb', 3], ['c', 1]], 4), 'a  c');
  const r = new Ring<number>(3);
  [1, 2, 3, 4, 5].forEach((n) => r.push(n));
  assert.deepEqual(r.last(), [3, 4, 5]);
  assert.deepEqual(r.last(2), [4, 5]);
  assert.equal(r.length, 3);
});
