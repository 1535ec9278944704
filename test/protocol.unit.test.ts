import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineSplitter, parseReport } from '../src/experiment/protocol';

test('LineSplitter keeps a half line until its end arrives', () => {
  const s = new LineSplitter();
  assert.deepEqual(s.push('{"a":1}\n{"b"'), ['{"a":1}']);
  assert.deepEqual(s.push(':2}\n\n'), ['{"b":2}']);
  assert.deepEqual(s.push('tail'), []);
  assert.deepEqual(s.flush(), ['tail']);
});

test('LineSplitter does not grow without bound on a line that never ends', () => {
  const s = new LineSplitter(10);
  assert.deepEqual(s.push('x'.repeat(25)), ['x'.repeat(25)]);
  assert.deepEqual(s.flush(), []);
});

test('parseReport accepts known messages and rejects garbage', () => {
  assert.equal(
    parseReport('{"type":"fork","pid":3,"parent":1,"index":0,"freeze":false,"workload":"idle","generation":0}')?.type,
    'fork',
  );
  assert.equal(parseReport('not json'), null);
  assert.equal(parseReport('{"type":"fork","pid":"3"}'), null);
  assert.equal(parseReport('{"type":"nonsense"}'), null);
  assert.equal(parseReport('[1,2]'), null);
  assert.equal(parseReport('null'), null);
  assert.equal(parseReport('{"type":"gc","pi'), null);
});

test('parseReport checks every run of a kinds message: whole numbers in range, three to a run, at most 1,000', () => {
  const kinds = (runs: unknown): string =>
    JSON.stringify({ type: 'kinds', pid: 7, names: ['records', 'lists'], runs, last: true });
  const ok = parseReport(
    kinds([
      [0, 1, 0],
      [4503599627370495, 1 << 24, 7],
      [12, 3, 1],
    ]),
  );
  assert.equal(ok?.type, 'kinds');
  assert.deepEqual(ok?.type === 'kinds' && ok.runs, [
    [0, 1, 0],
    [4503599627370495, 1 << 24, 7],
    [12, 3, 1],
  ]);
  assert.equal(parseReport(kinds(Array.from({ length: 1000 }, (_, i) => [i, 1, 0])))?.type, 'kinds');
  for (const bad of [
    Array.from({ length: 1001 }, (_, i) => [i, 1, 0]), // too many
    [[12, 0, 1]], // a run of no pages
    [[12, (1 << 24) + 1, 1]], // too long
    [[12, 3, 8]], // no such kind
    [[12, 3, -1]],
    [[-1, 3, 1]],
    [[1.5, 3, 1]],
    [[2 ** 53, 3, 1]], // past a safe integer
    [[12, 3]], // two, not three
    [[12, 3, 1, 0]],
    [['12', 3, 1]],
    [null],
    { 0: [12, 3, 1] },
    'runs',
  ])
    assert.equal(parseReport(kinds(bad)), null, JSON.stringify(bad).slice(0, 60));
});
