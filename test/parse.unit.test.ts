import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseChildren, parseMeminfo, parseSmapsRollup, parseStat } from '../src/proc/parse';

const fixture = (name: string): string => readFileSync(join(__dirname, '..', '..', 'test', 'fixtures', name), 'utf8');

test('parseSmapsRollup reads a rollup captured from a Python process, in bytes', () => {
  const r = parseSmapsRollup(fixture('smaps_rollup.python.txt'))!;
  const text = fixture('smaps_rollup.python.txt');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)![1]) * 1024;
  assert.equal(r.rss, kb('Rss'));
  assert.equal(r.pss, kb('Pss'));
  assert.equal(r.pssAnon, kb('Pss_Anon'));
  assert.equal(r.pssFile, kb('Pss_File'));
  assert.equal(r.privateDirty, kb('Private_Dirty'));
  assert.equal(r.sharedClean, kb('Shared_Clean'));
  assert.equal(r.uss, kb('Private_Clean') + kb('Private_Dirty'));
  assert.equal(r.swap, kb('Swap'));
  assert.equal(r.swapPss, kb('SwapPss'));
  assert.ok(r.rss > 100 * 1024 * 1024, 'the fixture is a ~100 MB Python process');
});

test('parseSmapsRollup leaves out fields an older kernel lacks instead of reporting zero', () => {
  const r = parseSmapsRollup(fixture('smaps_rollup.linux414.txt'))!;
  assert.ok(r);
  assert.equal(r.pssAnon, undefined);
  assert.equal(r.pssFile, undefined);
  assert.equal('pssDirty' in r, false);
  assert.ok(r.pss > 0);
});

test('parseSmapsRollup returns null for empty and truncated text', () => {
  assert.equal(parseSmapsRollup(''), null);
  assert.equal(parseSmapsRollup(fixture('smaps_rollup.truncated.txt')), null);
  assert.equal(parseSmapsRollup('Rss: lots\n'), null);
});

test('parseStat reads the fault counters and times of a captured stat line', () => {
  const s = parseStat(fixture('stat.python.txt'))!;
  const fields = fixture('stat.python.txt').split(' ');
  assert.equal(s.pid, Number(fields[0]));
  assert.equal(s.comm, 'python3');
  assert.equal(s.state, fields[2]);
  assert.equal(s.ppid, Number(fields[3]));
  assert.equal(s.minflt, Number(fields[9]));
  assert.equal(s.cminflt, Number(fields[10]));
  assert.equal(s.majflt, Number(fields[11]));
  assert.equal(s.utime, Number(fields[13]));
  assert.equal(s.stime, Number(fields[14]));
  assert.equal(s.starttime, Number(fields[21]));
});

test('parseStat splits after the last parenthesis: a command name with spaces and ")"', () => {
  const s = parseStat(fixture('stat.hostile.txt'))!;
  const plain = parseStat(fixture('stat.python.txt'))!;
  assert.equal(s.comm, 'a) (b c) 1 2 ) S');
  assert.equal(s.state, plain.state);
  assert.equal(s.minflt, plain.minflt);
  assert.equal(s.starttime, plain.starttime);
});

test('parseStat returns null for empty and truncated text', () => {
  assert.equal(parseStat(''), null);
  assert.equal(parseStat(fixture('stat.truncated.txt')), null);
  assert.equal(parseStat('12 (x'), null);
});

test('parseStat reads this very process the same way /proc does', () => {
  const s = parseStat(readFileSync('/proc/self/stat', 'utf8'))!;
  assert.equal(s.pid, process.pid);
  assert.equal(s.ppid, process.ppid);
});

test('parseChildren and parseMeminfo', () => {
  assert.deepEqual(parseChildren('12 345 6 \n'), [12, 345, 6]);
  assert.deepEqual(parseChildren(''), []);
  const m = parseMeminfo('MemTotal:       24000000 kB\nMemAvailable:   1000 kB\nHugePages_Total:       0\n');
  assert.equal(m.MemTotal, 24000000 * 1024);
  assert.equal(m.MemAvailable, 1000 * 1024);
  assert.equal(m.HugePages_Total, 0);
});
