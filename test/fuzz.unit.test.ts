/**
 * Property tests of every parser of outside input: /proc text, report-pipe lines, agent files.
 * Thousands of generated inputs each run (fast-check); none may throw out of the parser, give a
 * non-finite number, or let a control character through in a string.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { parseAgentFile } from '../src/attach/agent';
import { LineSplitter, parseReport } from '../src/experiment/protocol';
import { isClean, sanitize } from '../src/format/sanitize';
import {
  parseMaps,
  parseCgroupLimit,
  parseCgroupPaths,
  parseChildren,
  parseMeminfo,
  parseSmapsRollup,
  parseStat,
  parseVmstatField,
} from '../src/proc/parse';
import { FIXTURES } from './helpers';

const RUNS = 3000;

/** Walks a parser's result: every number finite, every string clean. */
function sound(value: unknown, where = 'result', depth = 0): void {
  assert.ok(depth < 20, `${where}: nested too deep`);
  if (typeof value === 'number') assert.ok(Number.isFinite(value), `${where} is ${value}`);
  else if (typeof value === 'string')
    assert.ok(isClean(value), `${where} holds a control character: ${JSON.stringify(value)}`);
  else if (Array.isArray(value)) for (const [i, v] of value.entries()) sound(v, `${where}[${i}]`, depth + 1);
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) sound(v, `${where}.${k}`, depth + 1);
}

const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');

/** Text that looks like the real thing, then mangled: numbers swapped for odd ones, bytes cut. */
const odd = fc.oneof(
  fc.constantFrom('-1', '1e999', 'NaN', '0x1f', '99999999999999999999999', '', ' ', '\u001b[2J', ')', '(', '\n'),
  fc.string(),
);
function mangled(base: string): fc.Arbitrary<string> {
  const words = base.split(/(\s+)/);
  return fc
    .tuple(fc.array(fc.tuple(fc.nat(words.length), odd), { maxLength: 6 }), fc.nat(base.length + 1))
    .map(([swaps, cut]) => {
      const w = [...words];
      for (const [i, s] of swaps) w[i % w.length] = s;
      return w.join('').slice(0, cut);
    });
}
const anyText = fc.oneof(fc.string(), fc.string({ unit: 'binary' }));

test('/proc parsers: no throw, finite numbers, clean names, on mangled and random text', () => {
  const stat = fixture('stat.python.txt');
  const rollup = fixture('smaps_rollup.python.txt');
  fc.assert(
    fc.property(fc.oneof(mangled(stat), anyText), (t) => sound(parseStat(t))),
    { numRuns: RUNS },
  );
  fc.assert(
    fc.property(fc.oneof(mangled(rollup), anyText), (t) => sound(parseSmapsRollup(t))),
    { numRuns: RUNS },
  );
  fc.assert(
    fc.property(anyText, (t) => {
      sound(parseChildren(t));
      sound(parseMeminfo(t));
      sound(parseCgroupPaths(t));
      sound(parseCgroupLimit(t));
      sound(parseVmstatField(t, 'oom_kill'));
      sound(parseMaps(t));
    }),
    { numRuns: RUNS },
  );
});

test('a process name of any bytes comes out of parseStat clean', () => {
  const tail = fixture('stat.python.txt').replace(/^\d+ \(.*\) /s, '');
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 64 }), (name) => {
      const s = parseStat(`42 (${name}) ${tail}`);
      assert.ok(s, 'a well-formed line parses whatever the name');
      assert.equal(s.pid, 42);
      sound(s);
    }),
    { numRuns: RUNS },
  );
});

/** JSON values shaped like reports and agent files, with fields of any type. */
const field = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constant(1e308),
  fc.string(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.oneof(fc.integer(), fc.constant(null), fc.string()), { maxLength: 5 }),
  fc.dictionary(fc.string(), fc.integer()),
);
const reportLike = fc.record(
  {
    type: fc.constantFrom(
      'gc',
      'ready',
      'fork',
      'exit',
      'collection',
      'collected',
      'acted',
      'refork',
      'scale',
      'error',
      'written',
      'other',
    ),
    pid: field,
    enabled: field,
    counts: field,
    stats: fc.oneof(
      field,
      fc.array(fc.record({ collections: field, collected: field, uncollectable: field }), { maxLength: 4 }),
    ),
    frozen: field,
    workers: field,
    message: field,
    implementation: field,
    version: field,
    modules: field,
    generation: field,
    duration: field,
    seconds: field,
  },
  { requiredKeys: ['type'] },
);

test('report lines: no throw, and what parses is sound', () => {
  // Numbers JSON can hold but JavaScript reads as Infinity must not get through.
  const huge = fc.constantFrom(
    '{"type":"gc","pid":1e999,"enabled":true,"counts":[1],"stats":null,"frozen":null}',
    '{"type":"scale","workers":[1e999]}',
    '{"type":"gc","pid":5,"counts":[-1e999],"stats":null,"frozen":null}',
  );
  const deep = fc
    .nat(20_000)
    .map((n) => `{"type":"gc","pid":5,"counts":${'['.repeat(n)}${']'.repeat(n)},"stats":null,"frozen":null}`);
  const line = fc.oneof(
    reportLike.map((r) => JSON.stringify(r)),
    anyText,
    huge,
    deep,
  );
  fc.assert(
    fc.property(line, (l) => sound(parseReport(l))),
    { numRuns: RUNS },
  );
  assert.equal(parseReport('{"type":"gc","pid":1e999,"enabled":true,"counts":[1],"stats":null,"frozen":null}'), null);
});

test('the line splitter keeps every byte and bounds a line that never ends', () => {
  fc.assert(
    fc.property(fc.array(fc.string({ unit: 'binary' }), { maxLength: 20 }), (chunks) => {
      const s = new LineSplitter(64);
      const out = [...chunks.flatMap((c) => s.push(c)), ...s.flush()];
      assert.equal(out.join(''), chunks.join('').replace(/\n/g, ''));
      for (const l of out) assert.ok(!l.includes('\n'));
    }),
    { numRuns: RUNS },
  );
});

test('agent files: no throw, and a parsed state is sound', () => {
  const agentLike = fc.record({
    pid: field,
    t: field,
    starttime: field,
    counts: field,
    threshold: field,
    stats: field,
    frozen: field,
    last: fc.oneof(field, fc.record({ generation: field, duration: field, collected: field })),
    implementation: field,
    version: field,
    enabled: field,
  });
  const deep = fc.nat(30_000).map((n) => `{"pid":5,"t":1,"counts":${'['.repeat(n)}${']'.repeat(n)}}`);
  fc.assert(
    fc.property(
      fc.oneof(
        agentLike.map((a) => JSON.stringify(a)),
        anyText,
        deep,
      ),
      (text) => {
        const r = parseAgentFile(text);
        if (r.ok) sound(r.state);
      },
    ),
    { numRuns: RUNS },
  );
});

test('agent files: a bad field is dropped by name, the rest kept; pid and t are required', () => {
  const r = parseAgentFile(
    JSON.stringify({
      pid: 7,
      t: 1,
      starttime: 9,
      counts: [1, 2, 3],
      stats: [null],
      frozen: -5,
      implementation: 'cpython\u001b[2J',
    }),
  );
  assert.ok(r.ok);
  assert.deepEqual(r.dropped.sort(), ['frozen', 'stats']);
  assert.deepEqual(r.state.gc.counts, [1, 2, 3]);
  assert.equal(r.state.gc.stats, null);
  assert.equal(r.state.gc.frozen, null);
  assert.equal(r.state.implementation, 'cpython\\x1b[2J');
  assert.deepEqual(parseAgentFile('{"pid":"7","t":1}'), { ok: false, why: 'has no valid pid' });
  assert.deepEqual(parseAgentFile('{"pid":7,"t":1e999}'), { ok: false, why: 'has no valid t' });
  const lots = parseAgentFile(
    JSON.stringify({ pid: 7, t: 1, stats: [{ collections: 'lots', collected: 0, uncollectable: 0 }] }),
  );
  assert.ok(lots.ok && lots.state.gc.stats === null && lots.dropped.includes('stats'));
});

/**
 * parseStat and parseSmapsRollup scan the text in place (they run thousands of times a second).
 * The straightforward versions they replaced, kept here as references: on well-formed text both
 * must agree to the field, and on mangled text the scanners may only be stricter (a number the
 * kernel never writes, such as 0x1f, makes them give up), never read something else.
 */
function referenceStat(text: string): Record<string, unknown> | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  const rest = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const f = (n: number): number => Number(rest[n - 3]);
  if (rest.length < 22 || !Number.isInteger(pid) || !/^[A-Za-z]$/.test(rest[0])) return null;
  const stat = {
    pid,
    comm: sanitize(text.slice(open + 1, close)),
    state: rest[0],
    ppid: f(4),
    flags: f(9),
    minflt: f(10),
    cminflt: f(11),
    majflt: f(12),
    cmajflt: f(13),
    utime: f(14),
    stime: f(15),
    numThreads: f(20),
    starttime: f(22),
    vsize: f(23),
    rssPages: f(24),
  };
  for (const v of Object.values(stat)) if (typeof v === 'number' && !Number.isFinite(v)) return null;
  return stat;
}

const ROLLUP_FIELDS: Record<string, string> = {
  Rss: 'rss',
  Pss: 'pss',
  Pss_Anon: 'pssAnon',
  Pss_File: 'pssFile',
  Pss_Shmem: 'pssShmem',
  Pss_Dirty: 'pssDirty',
  Shared_Clean: 'sharedClean',
  Shared_Dirty: 'sharedDirty',
  Private_Clean: 'privateClean',
  Private_Dirty: 'privateDirty',
  Swap: 'swap',
  SwapPss: 'swapPss',
};
function referenceRollup(text: string): Record<string, number> | null {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_]+):\s+(\d+) kB\s*$/.exec(line);
    if (m && ROLLUP_FIELDS[m[1]]) out[ROLLUP_FIELDS[m[1]]] = Number(m[2]) * 1024;
  }
  for (const k of ['rss', 'pss', 'sharedClean', 'sharedDirty', 'privateClean', 'privateDirty'])
    if (out[k] === undefined) return null;
  out.uss = out.privateClean + out.privateDirty;
  return out;
}

test('the in-place stat and rollup scanners read what a split and a regex read', () => {
  const stat = fixture('stat.python.txt');
  const rollup = fixture('smaps_rollup.python.txt');
  // Well-formed: every number field replaced by any non-negative integer, any spacing between fields.
  const statFields = stat
    .replace(/^\d+ \(.*\) /s, '')
    .trim()
    .split(' ');
  const wellFormedStat = fc
    .tuple(
      fc.array(fc.oneof(fc.nat(), fc.maxSafeNat(), fc.bigInt({ min: 0n, max: 10n ** 22n })), {
        minLength: statFields.length,
        maxLength: statFields.length,
      }),
      fc.constantFrom(' ', '  ', '\t'),
      fc.string({ maxLength: 16 }),
    )
    .map(
      ([nums, gap, name]) =>
        `${nums[0]} (${name}) ${statFields.map((w, i) => (i === 0 ? w : String(nums[i]))).join(gap)}\n`,
    );
  fc.assert(
    fc.property(wellFormedStat, (t) => {
      const got = parseStat(t);
      assert.ok(got, t);
      assert.deepEqual({ ...got }, referenceStat(t));
    }),
    { numRuns: RUNS },
  );
  const rollupLines = rollup.split('\n');
  const wellFormedRollup = fc
    .tuple(
      fc.array(fc.oneof(fc.nat(), fc.maxSafeNat()), { minLength: rollupLines.length, maxLength: rollupLines.length }),
      fc.shuffledSubarray(
        rollupLines.map((_, i) => i),
        { minLength: rollupLines.length - 8 },
      ),
      fc.constantFrom(' ', '   ', '\t'),
    )
    .map(([nums, keep, gap]) =>
      keep.map((i) => rollupLines[i].replace(/:\s+\d+ kB/, `:${gap}${nums[i]} kB`)).join('\n'),
    );
  fc.assert(
    fc.property(wellFormedRollup, (t) =>
      assert.deepEqual(parseSmapsRollup(t) && { ...parseSmapsRollup(t) }, referenceRollup(t)),
    ),
    { numRuns: RUNS },
  );
  // Mangled: the scanners give up or agree.
  fc.assert(
    fc.property(fc.oneof(mangled(stat), anyText), (t) => {
      const got = parseStat(t);
      if (got) assert.deepEqual({ ...got }, referenceStat(t));
    }),
    { numRuns: RUNS },
  );
  fc.assert(
    fc.property(fc.oneof(mangled(rollup), anyText), (t) => {
      const got = parseSmapsRollup(t);
      if (got) assert.deepEqual({ ...got }, referenceRollup(t));
    }),
    { numRuns: RUNS },
  );
  // And the real files of this machine, read now.
  for (const pid of [process.pid, process.ppid]) {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    assert.deepEqual({ ...parseStat(s) }, referenceStat(s));
    const r = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    assert.deepEqual({ ...parseSmapsRollup(r) }, referenceRollup(r));
  }
});
