import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes, formatCount, formatDuration, formatReduction, formatSeconds } from '../src/format/units';

test('formatBytes', () => {
  assert.equal(formatBytes(null), '-');
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1536), '1.50 KiB');
  assert.equal(formatBytes(121 * 1048576), '121 MiB');
  assert.equal(formatBytes(-2 * 1048576), '-2.00 MiB');
  assert.equal(formatBytes(3 * 1048576, 'KiB'), '3,072 KiB');
  assert.equal(formatBytes(3 * 1048576, 'MiB'), '3.0 MiB');
});

test('formatCount, formatSeconds, formatReduction, formatDuration', () => {
  assert.equal(formatCount(30670), '30,670');
  assert.equal(formatSeconds(0.000055), '55 us');
  assert.equal(formatSeconds(0.989), '989 ms');
  assert.equal(formatSeconds(1.04), '1.04 s');
  assert.equal(formatReduction(0.985), '-98.5%');
  assert.equal(formatReduction(-0.5), '+50.0%');
  assert.equal(formatDuration(3723000), '1:02:03');
  assert.equal(formatDuration(61000), '1:01');
});
