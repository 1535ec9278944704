/**
 * The road Instagram took, with the real Python: gc.disable() (and the library that enables it
 * again), larger thresholds, gc.freeze(); measured by compare --strategies (copied memory from
 * page frames in pagemap, as root) and shown live by the dashboard's G key.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { experimentPids, runCli } from './helpers';
import { runInPty } from './pty';

// 300,000 records (~48 MiB): large enough that the interpreter's own ~0.8 MiB of copied pages
// stay under 5% of what the heap's collection copies. The gc is deterministic: the same heap and
// requests put default's first full collection at the same request each run.
const REQUESTS = 200000;
const RUN = ['--size', '300000', '--workers', '1', '--interval', '200', '--format', 'json'];

async function strategies(extra: string[]): Promise<any> {
  const r = await runCli(['compare', '--strategies', ...extra, ...RUN], {}, 120_000);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.type, 'strategies');
  return out;
}

const run = (out: any, name: string): any => out.runs.find((r: any) => r.strategy.split(':')[0] === name);
const w = (out: any, name: string): any => run(out, name).workers[0];

let defaultCopied = 0; // the first test's default run: the same heap, the enabler test's yardstick
let disabledCopied = 0; // and its disable run: what a worker copies with no collection at all

test('compare --strategies: freeze copies next to nothing, a high threshold comes later, disable keeps the cycles', async () => {
  const out = await strategies(['--gc', 'threshold:100000', '--requests', String(REQUESTS)]);
  assert.equal(out.copiedFrom, 'pagemap', 'as root, copies come from page frames');
  assert.deepEqual(
    out.runs.map((r: any) => r.strategy),
    ['default', 'disable', 'threshold:100000', 'freeze'],
  );
  for (const r of out.runs) {
    assert.equal(r.workers[0].requests, REQUESTS, `${r.strategy}: the same number of requests`);
    assert.ok(r.verdict.length > 20, r.verdict);
  }
  const def = w(out, 'default');
  defaultCopied = def.copied;
  assert.ok(def.copied > 0.5 * out.heapBytes, `default copied ${def.copied} of a ${out.heapBytes} heap`);
  assert.ok(def.fullCollections >= 1 && def.firstFullAt !== null);
  // Freeze copies what any running interpreter writes (pymalloc pages in use, [heap],
  // libpython's data): no more than the gc-disabled run, far less than default.
  const fr = w(out, 'freeze').copied;
  assert.ok(
    fr < 0.2 * def.copied && fr < w(out, 'disable').copied + 0.05 * def.copied,
    `freeze copied ${fr} vs default ${def.copied}, disable ${w(out, 'disable').copied}`,
  );
  const thr = w(out, 'threshold');
  // None within the requests counts only if the requests themselves were 5x default's first.
  assert.ok(
    thr.firstFullAt === null ? REQUESTS >= 5 * def.firstFullAt : thr.firstFullAt >= 5 * def.firstFullAt,
    `first full collection at ${thr.firstFullAt} vs default ${def.firstFullAt}`,
  );
  const dis = w(out, 'disable');
  disabledCopied = dis.copied;
  assert.equal(dis.fullCollections, 0, 'no automatic collection with the gc disabled');
  assert.ok(dis.copied < 0.2 * def.copied, `disable copied ${dis.copied}`);
  for (const other of ['default', 'threshold', 'freeze'])
    assert.ok(
      dis.garbage > 10 * Math.max(1, w(out, other).garbage),
      `disable kept ${dis.garbage} cyclic objects, ${other} ${w(out, other).garbage}`,
    );
  assert.ok(dis.garbage >= REQUESTS, 'one cycle a request, never freed');
  assert.deepEqual(experimentPids(), []);
});

test('gc disabled copies only what the interpreter writes until the enabler calls gc.enable(), then copies like default', async () => {
  assert.ok(defaultCopied > 0, 'runs after the test above');
  // Enough requests after gc.enable() for a full collection on a slow machine too.
  const out = await strategies(['disable', '--enabler', '1', '--requests', '400000']);
  const dis = w(out, 'disable');
  assert.notEqual(dis.copiedAtEnable, null, 'the enabler fired during the requests');
  // Before gc.enable(): what any running interpreter writes (new objects fill free slots of the
  // parent's pages), no more than the first test's disable run copied in all its requests.
  assert.ok(
    dis.copiedAtEnable < 1.2 * disabledCopied + 2 * 1048576 && dis.copiedAtEnable < 0.5 * defaultCopied,
    `before gc.enable(): ${dis.copiedAtEnable} vs disable ${disabledCopied}, default ${defaultCopied}`,
  );
  assert.ok(dis.fullCollections >= 1);
  assert.ok(dis.copied > 0.6 * defaultCopied, `after gc.enable(): ${dis.copied} vs default ${defaultCopied}`);
  assert.match(run(out, 'disable').verdict, /Until the enabler called gc\.enable\(\) \(1 s\) it had copied/);
});

test('PyPy: the strategies it cannot run are skipped with the reason', {
  skip: !existsSync('/usr/bin/pypy3') && 'no pypy3',
}, async () => {
  const r = await runCli(
    [
      'compare',
      '--strategies',
      '--python',
      '/usr/bin/pypy3',
      '--size',
      '50000',
      '--workers',
      '1',
      '--requests',
      '50000',
      '--interval',
      '200',
      '--format',
      'markdown',
    ],
    {},
    120_000,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\| default \| /);
  assert.match(r.stdout, /\| disable \| /);
  assert.match(r.stdout, /- \*\*threshold\*\*: skipped: PyPy has no gc\.set_threshold\(\)/);
  assert.match(r.stdout, /- \*\*freeze\*\*: skipped: PyPy has no gc\.freeze\(\)/);
});

test('--gc in batch: the workers run the strategy, the records say which', async () => {
  const t = await runCli(
    [
      '--batch',
      '--duration',
      '1',
      '--size',
      '20000',
      '--workers',
      '1',
      '--interval',
      '200',
      '--gc',
      'threshold:5000,20,30',
    ],
    {},
    30_000,
  );
  assert.equal(t.code, 0, t.stderr);
  const recs = t.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(recs.find((x) => x.kind === 'ready').strategy, 'threshold:5000,20,30');
  const last = recs.filter((x) => x.type === 'sample').pop();
  assert.equal(last.strategy, 'threshold:5000,20,30');
  const worker = last.processes.find((p: any) => p.role === 'worker');
  assert.deepEqual(worker.gc.threshold, [5000, 20, 30], 'gc.get_threshold() in the worker');
  const d = await runCli(
    ['--batch', '--duration', '1', '--size', '20000', '--workers', '1', '--interval', '200', '--gc', 'disable'],
    {},
    30_000,
  );
  const dl = d.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((x) => x.type === 'sample')
    .pop();
  assert.equal(dl.strategy, 'disable');
  assert.ok(
    dl.processes.every((p: any) => p.gc.enabled === false),
    'disabled in the parent and the workers',
  );
});

test('G cycles the strategies live; the header and the GEN0 column show each', async () => {
  const pty = runInPty(['--size', '20000', '--workers', '2', '--interval', '200', '--workload', 'serve'], {
    cols: 170,
    rows: 40,
  });
  const header = (t: string): string => t.split('\n').slice(0, 2).join('\n');
  try {
    await pty.waitFor((t) => /FREEZE OFF/.test(header(t)) && /worker 2\s+\d+/.test(t), 30_000);
    pty.press('G');
    await pty.waitFor(
      (t) =>
        /GC DISABLED/.test(header(t)) &&
        /thresholds off/.test(header(t)) &&
        /worker 1 .* \d+ off /.test(t) &&
        /gc disable: gc\.disable\(\) before the heap/.test(t),
      10_000,
    );
    pty.press('G');
    await pty.waitFor(
      (t) =>
        /GC THRESHOLD/.test(header(t)) && /thresholds 7000\/10\/10/.test(header(t)) && /worker 1 .* \d+\/7000 /.test(t),
      10_000,
    );
    pty.press('G');
    await pty.waitFor((t) => /FREEZE ON/.test(header(t)) && /thresholds 700\/10\/10/.test(header(t)), 10_000);
    pty.press('G');
    await pty.waitFor((t) => /FREEZE OFF/.test(header(t)) && /worker 1 .* \d+\/700 /.test(t), 10_000);
    pty.press('q');
    assert.equal((await pty.exited).exitCode, 0);
  } finally {
    pty.proc.kill();
  }
  assert.deepEqual(experimentPids(), []);
});
