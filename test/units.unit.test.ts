import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatBytes, formatCount, formatDuration, formatReduction, formatSeconds } from '../src/format/units';
import type { ServerCompare } from '../src/measure/server-compare';
import { serverCompareMarkdown, serverCompareTable } from '../src/measure/server-compare-report';
import { FIXTURES } from './helpers';

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

test('run --compare renders a recorded gunicorn pass pair as a table and as Markdown', () => {
  // Recorded from `cowtop run --compare --format json` on the gunicorn fixture (2026-11-23).
  const r = JSON.parse(readFileSync(join(FIXTURES, 'run-compare.gunicorn.json'), 'utf8')) as ServerCompare;
  const table = serverCompareTable(r).split('\n');
  assert.match(table[0], /^cowtop run --compare: gunicorn --preload -w 3 /);
  assert.match(
    table[1],
    /^CPython 3\.\d+\.\d+, 3 workers, the same load each pass: 1,500 requests to http:\/\/127\.0\.0\.1:\d+\/report$/,
  );
  assert.match(table[3], /^ +as it is +with the freeze recipe$/);
  const rows = table.filter((l) => /^(\d|mean)/.test(l));
  assert.equal(rows.length, 4, 'three workers and the mean');
  for (const l of rows.slice(0, 3))
    assert.match(l, /^\d +[\d.]+ MiB +[\d.]+ MiB +[\d.]+ MiB +[\d.]+ MiB +\d+\/\d+\/\d+ +[\d.]+ MiB/);
  const line = table.find((l) => l.startsWith('Memory copied since fork'))!;
  assert.equal(
    line,
    `Memory copied since fork, per worker: ${formatBytes(r.copied.without!)} -> ${formatBytes(r.copied.with!)} with the freeze recipe, ${formatReduction(r.copied.reduction)}`,
  );
  const md = serverCompareMarkdown(r).split('\n');
  assert.match(md[0], /^\*\*cowtop run --compare\*\*: `gunicorn --preload/);
  assert.equal(md[2].split('|').length - 2, 11, 'worker + 5 columns a pass');
  assert.match(
    md.find((l) => l.startsWith('Memory copied'))!,
    /as it is, [\d.]+ \w+ with the freeze recipe \(-\d+\.\d%\)\.$/,
  );
});
