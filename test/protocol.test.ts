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
  assert.equal(parseReport('{"type":"fork","pid":3,"parent":1,"index":0,"freeze":false,"workload":"idle","generation":0}')?.type, 'fork');
  assert.equal(parseReport('not json'), null);
  assert.equal(parseReport('{"type":"fork","pid":"3"}'), null);
  assert.equal(parseReport('{"type":"nonsense"}'), null);
  assert.equal(parseReport('[1,2]'), null);
  assert.equal(parseReport('null'), null);
  assert.equal(parseReport('{"type":"gc","pi'), null);
});
