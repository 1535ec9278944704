/** The small layer in front of yargs: the words of argv, and the values options take. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { given, normalizeFlags, repeated, splitRun } from '../src/cli/flags';
import { loopbackUrl, oneOf, seconds, strategyList, wholeNumber } from '../src/cli/values';

test('splitRun: cowtop options, then the command untouched, with or without --', () => {
  assert.deepEqual(splitRun(['run', '--freeze', '--', 'gunicorn', '--freeze']), {
    own: ['run', '--freeze'],
    command: ['gunicorn', '--freeze'],
  });
  assert.deepEqual(splitRun(['run', '--name', 'x', 'python3', 'app.py']), {
    own: ['run', '--name', 'x'],
    command: ['python3', 'app.py'],
  });
  assert.deepEqual(splitRun(['run', '--keep']), { own: ['run', '--keep'], command: [] });
});

test('normalizeFlags: =true/=false in any case become the flag or its negation; other values are refused', () => {
  const flags = ['freeze', 'batch'];
  assert.deepEqual(normalizeFlags(['--freeze=TRUE', '--batch=False', '--size=3'], flags), [
    '--freeze',
    '--no-batch',
    '--size=3',
  ]);
  assert.deepEqual(normalizeFlags(['--no-freeze=true', '--no-batch=FALSE'], flags), ['--no-freeze', '--batch']);
  assert.deepEqual(
    normalizeFlags(['--', '--freeze=maybe'], flags),
    ['--', '--freeze=maybe'],
    "after -- it is the command's",
  );
  assert.throws(() => normalizeFlags(['--freeze=1'], flags), /--freeze takes no value \(or =true \/ =false\), got '1'/);
});

test('given and repeated: what was typed, before --', () => {
  const argv = ['--python', 'a', '--python=b', '--no-split', '--workload=read', '--', '--matrix'];
  assert.deepEqual(repeated(argv, 'python'), ['a', 'b']);
  assert.ok(given(argv, 'split') && given(argv, 'workload') && given(argv, 'python'));
  assert.ok(!given(argv, 'matrix'), 'after -- it is not ours');
  assert.ok(!given(argv, 'py'), 'whole names only');
});

test('values: whole decimal numbers in range, seconds, one of, loopback only, strategy names', () => {
  assert.equal(wholeNumber('workers', '8'), 8);
  assert.equal(wholeNumber('size', '1_000_000'), 1_000_000);
  for (const bad of ['0x10', '1e3', '-1', '2.5', ''])
    assert.throws(() => wholeNumber('size', bad), /--size must be a whole decimal number/, bad);
  assert.throws(() => wholeNumber('workers', '65'), /--workers must be from 1 to 64, got 65/);
  assert.equal(seconds('duration', '1.5', 10), 1.5);
  assert.throws(() => seconds('duration', '0', 10), /above 0 and at most 10/);
  assert.equal(oneOf('format', 'csv', ['json', 'csv'] as const), 'csv');
  assert.throws(() => oneOf('format', 'xml', ['json', 'csv'] as const), /--format must be one of json, csv, got 'xml'/);
  assert.equal(loopbackUrl('http://127.0.0.2:8000/x'), 'http://127.0.0.2:8000/x');
  assert.throws(() => loopbackUrl('http://10.0.0.1/'), /this machine only/);
  assert.throws(() => loopbackUrl('https://localhost/'), /must be an http:\/\/ URL/);
  assert.deepEqual(strategyList('freeze,default'), ['default', 'freeze'], 'in their own order');
  assert.throws(() => strategyList('sometimes'), /--strategies takes names from/);
});
