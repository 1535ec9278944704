/**
 * Claims that could be false, and inputs that could hang or mislead (the "trust, second round"
 * issue), on the pure parts: flags, labels, the sanitizer, log lines, totals, what "frozen"
 * is taken from, stale gc data, the agent directory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultName, parseArgs } from '../src/cli/args';
import { leftOutLine } from '../src/cli/matrix';
import { compareMarkdown, compareTable } from '../src/measure/compare-report';
import { verdict } from '../src/measure/strategies-report';
import { bytesColumn, CSV_HEADER, csvRows, eventRecord, tableBlock } from '../src/export/records';
import { summarize, type ServerCompare } from '../src/measure/server-compare';
import { serverCompareMarkdown, serverCompareTable } from '../src/measure/server-compare-report';
import { AgentReader, agentDirProblem } from '../src/attach/agent';
import { AttachedTree } from '../src/attach/tree';
import { exitNote, explainExit } from '../src/experiment/exit-reason';
import { gcAgeOf, LineSplitter, MAX_LOG_LINE } from '../src/experiment/protocol';
import { isClean, sanitize, safeJson } from '../src/format/sanitize';
import { totalsOf } from '../src/sample/snapshot';
import { chartSeries } from '../src/ui/render/charts';
import { copiesAge } from '../src/ui/render/frame';
import { detailLines } from '../src/ui/render/detail';
import { DashboardModel } from '../src/ui/model';
import { TOUR } from '../src/ui/tour';
import { reportEvents } from '../src/ui/report-events';
import { COLUMNS } from '../src/ui/columns';
import { tableRow } from '../src/ui/render/table';
import { makeTheme } from '../src/ui/theme';
import { FIXTURES } from './helpers';
import { processSample, snapshotOf } from './samples';

const ROOT_USER = process.geteuid?.() === 0;

test('a flag takes true or false in any case: --freeze=TRUE runs frozen, never silently not', async () => {
  for (const v of ['true', 'True', 'TRUE']) {
    const c = await parseArgs(['--batch', `--freeze=${v}`]);
    assert.ok(c.kind === 'batch' && c.experiment.freeze, `--freeze=${v}`);
  }
  const off = await parseArgs(['--batch=TRUE', '--freeze=False']);
  assert.ok(off.kind === 'batch' && !off.experiment.freeze, '--batch=TRUE is --batch; --freeze=False is off');
  const neg = await parseArgs(['--batch', '--no-freeze=FALSE']);
  assert.ok(neg.kind === 'batch' && neg.experiment.freeze, '--no-freeze=false is --freeze');
  const run = await parseArgs(['run', '--freeze=True', '--keep=TRUE', '--', 'gunicorn', '--preload=True']);
  assert.ok(run.kind === 'run' && run.run.freeze && run.run.keep);
  assert.deepEqual(
    run.kind === 'run' && run.run.command,
    ['gunicorn', '--preload=True'],
    "the server's own flags are its own",
  );
  await assert.rejects(
    parseArgs(['--batch', '--freeze=yes']),
    /--freeze takes no value \(or =true \/ =false\), got 'yes'/,
  );
  await assert.rejects(parseArgs(['--batch', '--batch=1']), /--batch takes no value/);
});

test("run's default name is the command's file name, made fit for a label", async () => {
  assert.equal(defaultName('./my server.py'), 'my_server.py');
  assert.equal(defaultName('./sérveur.py'), 'serveur.py');
  assert.equal(defaultName('/usr/bin/gunicorn'), 'gunicorn');
  assert.equal(defaultName('./日本'), 'server', 'nothing left of it: a plain default');
  assert.equal(defaultName('x'.repeat(100)).length, 64);
  const c = await parseArgs(['run', '--', './my server.py', 'arg']);
  assert.ok(c.kind === 'run' && c.run.name === 'my_server.py');
  await assert.rejects(parseArgs(['run', '--name', 'a b', '--', 'x']), /--name must be 1 to 64 letters.*got 'a b'/);
});

test('the sanitizer escapes characters that draw nothing but change how a line reads', () => {
  const hidden = [
    '\u200b',
    '\u200c',
    '\u200d',
    '\u200e',
    '\u200f',
    '\u202a',
    '\u202e',
    '\u2066',
    '\u2069',
    '\u061c',
    '\ufeff',
    '\u2060',
    '\u2028',
    '\u2029',
  ];
  for (const c of hidden) {
    const code = c.charCodeAt(0).toString(16).padStart(4, '0');
    assert.equal(sanitize(`a${c}b`), `a\\u${code}b`, `U+${code}`);
    const json = safeJson({ name: `a${c}b` });
    assert.ok(!json.includes(c), `U+${code} in JSON`);
    assert.deepEqual(JSON.parse(json), { name: `a${c}b` });
  }
  assert.equal(sanitize('gunicorn: worker [app] é ✓ 日本'), 'gunicorn: worker [app] é ✓ 日本');
});

test('a line of program output longer than 4 KiB is cut, and says how much was cut', () => {
  const s = new LineSplitter(MAX_LOG_LINE, true);
  const big = 'x'.repeat(1 << 20);
  const out = [...s.push(`short\n${big.slice(0, 300_000)}`), ...s.push(big.slice(300_000)), ...s.push('é\nnext\n')];
  assert.deepEqual(
    out.map((l) => l.length <= MAX_LOG_LINE + 40),
    [true, true, true],
  );
  assert.equal(out[0], 'short');
  assert.equal(out[1], `${'x'.repeat(MAX_LOG_LINE)}… (${(1 << 20) - MAX_LOG_LINE + 2} bytes cut)`);
  assert.equal(out[2], 'next');
  // A line that never ends holds 4 KiB, not what came.
  for (let i = 0; i < 100; i++) s.push(big);
  assert.match(s.flush()[0], /^x{4096}… \(104853504 bytes cut\)$/);
});

const row = processSample;

test('a sum over processes of which one could not be read is unknown, not a smaller number', () => {
  assert.deepEqual(totalsOf([row({ pid: 1 }), row({ pid: 2 })]), { uss: 4, pss: 10, rss: 20, shared: 16 });
  const denied = row({ pid: 3, uss: null, pss: null, shared: null, error: 'permission denied' });
  assert.deepEqual(totalsOf([row({ pid: 1 }), denied]), { uss: null, pss: null, rss: 20, shared: null });
  assert.deepEqual(
    totalsOf([row({ pid: 1 }), { ...denied, alive: false }]),
    { uss: 2, pss: 5, rss: 10, shared: 8 },
    'an exited row is no part of the sum',
  );
  const chart = chartSeries(
    'footprint',
    [{ t: 0, uss: new Map(), faults: new Map(), pss: null, rss: 20, frozenSlots: new Set(), marker: '' }],
    makeTheme({ NO_COLOR: '1' }),
    { width: 80, height: 12 },
    1000,
  );
  assert.deepEqual(
    chart.plot.lines.map((l) => [l.title, l.runs.length]),
    [
      ['PSS (real)', 0],
      ['RSS (top)', 1],
    ],
    'no PSS line drawn from nothing',
  );
  assert.match(chart.label, /PSS \(real\) \?/);
});

test("'frozen' is what the workers report, not what cowtop run asked for", () => {
  const tree = new AttachedTree(10, null as never);
  const gc = (frozen: number | null) => ({
    type: 'gc' as const,
    pid: 0,
    enabled: true,
    counts: [0, 0, 0],
    threshold: null,
    stats: null,
    frozen,
  });
  assert.equal(tree.freeze, null, 'nobody reported: unknown');
  tree.gc.set(10, gc(600_000));
  assert.equal(tree.freeze, true, 'before the workers report, the master says');
  tree.assignWorker(11);
  tree.assignWorker(12);
  tree.gc.set(11, gc(0));
  tree.gc.set(12, gc(0));
  assert.equal(
    tree.freeze,
    false,
    'a master that froze, workers with nothing frozen (an exec wrapper lost the recipe): not frozen',
  );
  tree.gc.set(12, gc(650_000));
  assert.equal(tree.freeze, true);
});

test('run --compare gives no verdict when the recipe pass froze nothing, and says why', () => {
  const recorded = JSON.parse(readFileSync(join(FIXTURES, 'run-compare.gunicorn.json'), 'utf8')) as ServerCompare;
  const cmd = {
    kind: 'run-compare',
    run: { command: ['./wrap.py', 'gunicorn'] },
    load: { url: 'http://127.0.0.1:1/', requests: 10, command: null },
  } as never;
  assert.equal(summarize(cmd, recorded.passes).frozen, true);
  assert.ok(summarize(cmd, recorded.passes).copied.reduction! > 0.5);
  const lost = structuredClone(recorded.passes);
  for (const w of lost[1].workers) w.after.frozen = 0;
  const r = summarize(cmd, lost);
  assert.equal(r.frozen, false);
  assert.equal(r.copied.reduction, null, 'no verdict');
  for (const text of [serverCompareTable(r), serverCompareMarkdown(r)]) {
    assert.match(
      text,
      /With the freeze recipe the workers froze nothing \(gc\.get_freeze_count\(\) is 0 in each\).*No verdict\./,
    );
    assert.doesNotMatch(text, /-\d+\.\d%/);
  }
  for (const w of lost[1].workers) w.after.frozen = null;
  assert.match(serverCompareTable(summarize(cmd, lost)), /no worker reported its frozen count.*No verdict\./);
});

test('gc data older than 3 of its intervals is stale: drawn dim, with its age', () => {
  assert.deepEqual(gcAgeOf(1000, 1000, 3500), { ms: 2500, stale: false });
  assert.deepEqual(gcAgeOf(1000, 1000, 4500), { ms: 3500, stale: true });
  assert.equal(gcAgeOf(undefined, 1000, 4500), null);
  const theme = makeTheme({});
  const cols = COLUMNS.filter((c) => c.id === 'role' || c.id === 'gen0' || c.id === 'gc');
  const widths = cols.map((c) => c.width);
  const ctx = { units: 'MiB' as const, heapBytes: null, elapsedMs: 1000 };
  const gc = {
    type: 'gc' as const,
    pid: 1,
    enabled: true,
    counts: [120, 3, 1],
    threshold: [700, 10, 10],
    stats: null,
    frozen: 0,
  };
  const live = tableRow({ p: row({ gc, gcAge: { ms: 900, stale: false } }), prefix: '' }, cols, widths, ctx, theme);
  assert.doesNotMatch(live, /gray-fg/);
  assert.match(live, /120\/700/);
  const stale = tableRow({ p: row({ gc, gcAge: { ms: 12_400, stale: true } }), prefix: '' }, cols, widths, ctx, theme);
  assert.match(stale, /\{gray-fg\} *120\/3\/1\{\/gray-fg\}/, 'the counts dimmed');
  assert.match(stale, /\{gray-fg\} *12s old\{\/gray-fg\}/, 'with their age');
});

test('the agent reader opens the files of the tree by name and never lists the directory', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cowtop-agentdir-'));
  try {
    chmodSync(dir, 0o700);
    const uid = process.geteuid!();
    writeFileSync(
      join(dir, '4242.json'),
      JSON.stringify({ pid: 4242, t: Date.now() / 1000, interval: 0.5, counts: [1, 2, 3], frozen: 7 }),
      { mode: 0o600 },
    );
    for (let i = 0; i < 200; i++) writeFileSync(join(dir, `${100000 + i}.json`), '{}');
    const fsp = require('node:fs').promises;
    const readdir = fsp.readdir;
    let listed = 0;
    fsp.readdir = (...a: unknown[]) => {
      listed++;
      return readdir(...a);
    };
    try {
      const reader = new AgentReader(() => {}, { COWTOP_AGENT_DIR: dir });
      const states = await reader.readAll([
        { pid: 4242, uid, starttime: null },
        { pid: 4243, uid, starttime: null },
      ]);
      assert.deepEqual(
        states.map((s) => [s.pid, s.gc.frozen, s.interval]),
        [[4242, 7, 0.5]],
      );
      assert.equal(listed, 0, 'no listing');
    } finally {
      fsp.readdir = readdir;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an agent directory the agent will not write into is named with its cause, at once', {
  skip: !ROOT_USER && 'chown needs root',
}, () => {
  const base = mkdtempSync(join(tmpdir(), 'cowtop-agentdir-'));
  try {
    const uid = process.geteuid!();
    const dir = join(base, 'agent');
    assert.equal(agentDirProblem(uid, { COWTOP_AGENT_DIR: dir }), null, 'none yet: the agent makes it');
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    assert.match(
      agentDirProblem(uid, { COWTOP_AGENT_DIR: dir })!,
      /agent writes nothing: .*agent has mode 0755, and the agent writes only into a private one \(0700\) \(chmod 700 .*agent\)/,
    );
    chmodSync(dir, 0o700);
    assert.equal(agentDirProblem(uid, { COWTOP_AGENT_DIR: dir }), null);
    chownSync(dir, 65534, 65534);
    assert.match(
      agentDirProblem(uid, { COWTOP_AGENT_DIR: dir })!,
      /is owned by uid 65534, not by uid 0: another user made it first \(remove it, or set COWTOP_AGENT_DIR/,
    );
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test('compare names what each pass did, and both reductions, each by what it is of', () => {
  const worker = (before: number, after: number) => ({
    pid: 1,
    ussBefore: before,
    ussAfter: after,
    minfltDelta: 10,
    gcSeconds: 0.5,
    copied: null,
  });
  const base = {
    type: 'compare' as const,
    python: '/usr/bin/python3',
    implementation: 'CPython',
    version: '3.11.2',
    size: 300_000,
    heapBytes: 50 << 20,
    workers: 1,
    modules: [],
  };
  const runs = [
    { freeze: false, workers: [worker(2 << 20, 42 << 20)] },
    { freeze: true, workers: [worker(2 << 20, 4 << 20)] },
  ] as never;
  const collect = compareTable({ ...base, workload: 'collect', runs, reduction: 0.95, reductionAfter: 0.904 });
  assert.match(
    collect,
    /^cowtop compare: CPython 3\.11\.2, 300,000 records \(600,000 gc-tracked objects\), heap 50\.0 MiB, 1 worker/,
  );
  assert.match(
    collect,
    /USS after gc: 42\.0 MiB -> 4\.00 MiB per worker, -90\.4% \(USS after, as the original experiment measured\)/,
  );
  assert.match(
    collect,
    /Memory copied by the collection: 40\.0 MiB -> 2\.00 MiB per worker, -95\.0% \(USS growth: the headline\)/,
  );
  assert.match(collect, /gc took/);
  for (const text of [
    compareTable({ ...base, workload: 'read', runs, reduction: 0.1, reductionAfter: 0.1 }),
    compareMarkdown({ ...base, workload: 'read', runs, reduction: 0.1, reductionAfter: 0.1 }),
  ]) {
    assert.doesNotMatch(text, /gc took|after gc|by the collection/, 'a read pass runs no collection');
    assert.match(text, /pass took/);
    assert.match(text, /USS after the read pass/);
    assert.match(text, /Memory copied by the read pass/);
  }
  assert.match(
    compareMarkdown({ ...base, workload: 'collect', runs, reduction: 0.95, reductionAfter: 0.904 }),
    /USS after gc, per worker: 42\.0 MiB without freeze, 4\.00 MiB with `gc\.freeze\(\)` \(-90\.4%/,
  );
});

test('--strategies says "fewer" only when the threshold run had fewer full collections than default', () => {
  const w = (full: number, first: number | null) => ({
    pid: 1,
    copied: 10 << 20,
    copiedAtEnable: null,
    ussBefore: 0,
    ussAfter: 10 << 20,
    ussPeak: 0,
    requests: 1000,
    fullCollections: full,
    fullSeconds: 0.1,
    firstFullAt: first,
    garbage: 0,
    seconds: 1,
  });
  const run = (strategy: string, full: number, first: number | null) => ({
    strategy,
    skipped: null,
    workers: [w(full, first)],
    verdict: '',
  });
  const same = [run('default', 3, 100), run('threshold:7000', 3, 100)];
  const v = verdict(same[1], same, null);
  assert.doesNotMatch(v, /later and fewer|fewer|x later than/);
  assert.match(v, /no later than default.s/);
  assert.match(v, /^as many full collections as default: 3 full collections/);
  const fewer = [run('default', 6, 100), run('threshold:7000', 2, 400)];
  assert.match(
    verdict(fewer[1], fewer, null),
    /^fewer full collections than default's 6: 2 full collections .* at request 400, 4\.0x later than default/,
  );
});

test("batch's table gives minor faults per second, as its title says", () => {
  const p = row({ minfltDelta: 500 });
  const snap = snapshotOf([p], { t: 2000, at: 0, elapsedMs: 500 });
  const lines = tableBlock(snap).split('\n');
  assert.match(lines[1], /MINFLT\/s/);
  assert.match(lines[2], /\s1,000\s/, '500 faults in 0.5 s');
});

test('an exit cowtop asked for, or one that is normal, is not "unexpected"; one nobody knows about says so', () => {
  const tree = new AttachedTree(10, null as never);
  tree.expectExit(12, 'SIGTERM sent by cowtop (k)');
  const snap = (pids: number[]) => ({ processes: pids.map((pid) => ({ pid, alive: true })) }) as never;
  void tree.observe(snap([10, 11, 12]));
  void tree.observe(snap([10]));
  assert.deepEqual(tree.exits.get(12), { type: 'exit', pid: 12, requested: true, cause: 'SIGTERM sent by cowtop (k)' });
  assert.equal(tree.exits.get(11)?.requested, true, 'a recycled gunicorn worker is no crash cowtop can see');
  assert.match(tree.exits.get(11)?.cause ?? '', /cause unknown/);
  const [line] = reportEvents({
    type: 'exit',
    pid: 12,
    requested: true,
    signalName: 'SIGTERM',
    cause: 'SIGTERM sent by cowtop (k)',
  });
  assert.deepEqual(line, ['exit', 'exit pid 12: SIGTERM (SIGTERM sent by cowtop (k))']);
  assert.deepEqual(reportEvents({ type: 'exit', pid: 13, requested: false, signalName: 'SIGKILL' })[0], [
    'error',
    'exit pid 13: SIGKILL (unexpected)',
  ]);
  assert.deepEqual(reportEvents({ type: 'scale', workers: [5] })[0], ['info', '1 worker'], 'not "1 workers"');
});

test("the experiment's exits: a signal cowtop sent and a normal exit are expected, with their cause", () => {
  const expected = new Map([[5, 'SIGTERM sent by cowtop (k)']]);
  const exit = (r: object) => explainExit({ type: 'exit', requested: false, ...r } as never, expected);
  assert.deepEqual(exit({ pid: 5, signal: 15, signalName: 'SIGTERM' }).cause, 'SIGTERM sent by cowtop (k)');
  assert.equal(expected.size, 0, 'used once: a later process with that pid is not excused');
  assert.deepEqual([exit({ pid: 6, code: 0 }).requested, exit({ pid: 6, code: 0 }).cause], [true, 'exited normally']);
  const killed = exit({ pid: 7, signal: 9, signalName: 'SIGKILL' });
  assert.deepEqual([killed.requested, killed.cause], [false, undefined], 'nobody asked: unexpected');
  assert.equal(exitNote(killed), ' (unexpected)');
  assert.equal(exitNote({ requested: true, cause: 'exited normally' }), ' (exited normally)');
});

test('batch formats: one unit per size column, one clock, the same names as the JSON records', () => {
  assert.deepEqual(
    bytesColumn([1_090_519, 1_036_288, null]),
    ['1.0 MiB', '1.0 MiB', '-'],
    'not 1.04 MiB beside 1012 KiB',
  );
  assert.deepEqual(bytesColumn([512_000, 2_048]), ['500.0 KiB', '2.0 KiB']);
  const p = row({ pid: 42, index: 2, ussGrowth: 4096 });
  const snap = snapshotOf([p], { t: 2500, at: 0 });
  const header = CSV_HEADER.split(',');
  const cells = csvRows(snap as never)[0].split(',');
  assert.equal(cells[header.indexOf('worker')], '3', "the worker's number as samples say it");
  assert.equal(cells[header.indexOf('ussGrowth')], '4096');
  assert.equal(cells[header.indexOf('t')], '2500', 'ms');
  assert.match(tableBlock(snap as never), /^t=2500ms /);
  const fork = eventRecord(2500, {
    type: 'fork',
    pid: 42,
    parent: 1,
    index: 2,
    freeze: false,
    workload: 'idle',
    generation: 0,
  } as never);
  assert.equal(fork?.worker, 3);
});

test('the detail pane says what a worker runs now, apart from the command line it started with', () => {
  const m = new DashboardModel(0);
  const gc = {
    type: 'gc' as const,
    pid: 42,
    enabled: true,
    counts: [1, 0, 0],
    threshold: null,
    stats: null,
    frozen: 1_000_000,
  };
  const p = row({ pid: 42, gc, command: 'python3 -u -m cowtop_experiment --workload idle --no-freeze' });
  m.pushSnapshot(snapshotOf([p], { freeze: true, strategy: 'freeze', workload: 'read' }));
  const text = detailLines(p, '42:1', m, makeTheme({ NO_COLOR: '1' }))
    .join('\n')
    .replace(/\{[^}]*\}/g, ''); // blessed's tags
  assert.match(text, /command +python3 -u -m cowtop_experiment --workload idle --no-freeze/);
  assert.match(
    text,
    /runs now +workload read, gc freeze, frozen \(1,000,000 objects\) +\(the command line is the one it started with\)/,
  );
});

test('COPIED says how old it is: the copy map is read every 10 s, USS every tick', () => {
  assert.equal(copiesAge(10_000, 10_500), null, 'fresh: nothing to say');
  assert.equal(copiesAge(10_000, 18_400), '8s');
});

test('the tour says only what was measured: no "built 0 records", no freeze verdict where there is no gc.freeze()', () => {
  const m = new DashboardModel(0);
  const fork = TOUR.find((s) => s.name === 'fork')!;
  assert.doesNotMatch(fork.caption(m), /\b0 records|0 workers|0 B/);
  assert.match(fork.caption(m), /building its heap/);
  const verdict = TOUR.find((s) => s.name === 'verdict')!;
  m.ready = { implementation: 'PyPy', version: '3.9.16', freezeSupported: false } as never;
  assert.doesNotMatch(verdict.caption(m), /keeps it shared/);
  assert.match(verdict.caption(m), /PyPy has no gc\.freeze\(\), so the freeze steps did not run/);
});

test("compare --matrix says an install's path as text, whatever bytes its directory name holds", () => {
  const line = leftOutLine({
    python: '/root/.pyenv/versions/3.6-\x1b]2;x\x07/bin/python3',
    why: '/root/... is CPython 3.6.15; cowtop needs 3.7',
  });
  assert.ok(isClean(line), 'no control character left raw');
  assert.match(
    line,
    /^cowtop: left out \/root\/\.pyenv\/versions\/3\.6-\\x1b\]2;x\\x07\/bin\/python3: it is CPython 3\.6\.15/,
  );
});
