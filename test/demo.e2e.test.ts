/**
 * cowtop demo in the real pty: each caption comes after the effect of the step before it (USS
 * per worker jumps after the collection, stays flat after the frozen one), the recorded cast ends
 * on the verdict, and the viewer can pause the tour or take the keyboard.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Terminal } from '@xterm/headless';
import { experimentPids, waitUntil } from './helpers';
import { readTable, runInPty, type PtyRun } from './pty';

const FAST = [
  'demo',
  '--size',
  '150000',
  '--workers',
  '2',
  '--speed',
  '50',
  '--collect-every',
  '1',
  '--interval',
  '200',
];
const dir = mkdtempSync(join(tmpdir(), 'cowtop-demo-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Watches the screen until the tour is over: for each step, the worker rows when its caption first
 * showed. Read as each chunk is parsed: a step that re-forks kills the workers of the one before
 * a tick after its caption, and a screen read by polling on a busy machine saw them exited.
 */
async function followTour(run: PtyRun): Promise<Map<number, Array<Record<string, string>>>> {
  const seen = new Map<number, Array<Record<string, string>>>();
  run.onParsed(() => {
    const step = /step (\d)\/8/.exec(run.text());
    if (step && !seen.has(Number(step[1])))
      seen.set(
        Number(step[1]),
        readTable(run.screen()).filter((r) => /^(worker|no-frz|frozen) /.test(r.ROLE)),
      );
  });
  let exited = false;
  void run.exited.then(() => (exited = true));
  await run.waitFor((t) => exited || /tour over/.test(t), 120_000); // nothing left waiting once it exits
  return seen;
}

test("80x24: every caption comes after the effect before it; the verdict stays, the keys are the viewer's", async () => {
  const run = runInPty(FAST, { cols: 80, rows: 24 });
  try {
    const seen = await followTour(run);
    assert.deepEqual([...seen.keys()], [1, 2, 3, 4, 5, 6, 7, 8], 'every step, in order');
    const heap = 24 * 1048576 * 0.9; // --size 150000 builds ~24 MiB
    const growth = (rows: Array<Record<string, string>>) => rows.map((r) => Number(r.GROWTH) * 1048576);
    // Step 3's caption comes once step 2's collection shows: every worker grew by most of the heap.
    assert.ok(
      growth(seen.get(3)!).every((g) => g > 0.5 * heap),
      `after g: ${JSON.stringify(seen.get(3))}`,
    );
    // Step 6's, once the frozen workers collected: flat.
    assert.ok(
      growth(seen.get(6)!).every((g) => g < 0.1 * heap),
      `after f and g: ${JSON.stringify(seen.get(6))}`,
    );
    // The verdict: the split view's two groups, and what freeze kept shared.
    assert.match(run.text(), /Verdict: gc\.freeze\(\) kept [\d.]+ MiB per worker shared/);
    assert.match(run.text(), /SPLIT/);
    run.press('u'); // the keyboard is the viewer's now
    await run.waitFor(/USS KiB/, 3000);
  } finally {
    run.press('q');
    assert.equal((await run.exited).exitCode, 0);
  }
  await waitUntil(() => experimentPids().length === 0, 5000, 'no experiment process');
});

test('160x48 --record: the cast replays through the emulator and its last frame holds the verdict', async () => {
  const cast = join(dir, 'tour.cast');
  // The steps that make the verdict (the 80x24 test walks all eight).
  const run = runInPty([...FAST, '--steps', '1,2,7,8', '--record', cast], { cols: 160, rows: 48 });
  let timer: NodeJS.Timeout | undefined;
  const e = await Promise.race([run.exited, new Promise<null>((r) => (timer = setTimeout(() => r(null), 120_000)))]);
  clearTimeout(timer);
  assert.ok(e, 'the recorded tour ends by itself');
  assert.equal(e.exitCode, 0);
  const events = readFileSync(cast, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => JSON.parse(l) as [number, string, string]);
  const term = new Terminal({ cols: 160, rows: 48, allowProposedApi: true });
  let lastFrame = '';
  const captions = new Set<string>();
  for (const [, , data] of events) {
    await new Promise<void>((r) => term.write(data, r));
    if (term.buffer.active.type !== 'alternate') continue; // the restore at exit is not a frame
    const text = Array.from(
      { length: 48 },
      (_, i) => term.buffer.active.getLine(i)?.translateToString(true) ?? '',
    ).join('\n');
    const step = /step (\d)\/4/.exec(text);
    if (step) captions.add(step[1]);
    lastFrame = text;
  }
  assert.deepEqual([...captions].sort(), ['1', '2', '3', '4']);
  assert.match(
    lastFrame,
    /Verdict: gc\.freeze\(\) kept [\d.]+ MiB per worker shared\. Unfrozen workers hold [\d.]+ MiB each, frozen ones [\d.]+ \S+ \(-\d+\.\d%\)/,
  );
  await waitUntil(() => experimentPids().length === 0, 5000, 'no experiment process');
});

test('space pauses the tour, any other key ends it and does its job', async () => {
  const run = runInPty(
    ['demo', '--size', '100000', '--workers', '1', '--speed', '0.1', '--steps', '1,2', '--interval', '300'],
    { cols: 100, rows: 30 },
  );
  try {
    await run.waitFor(/step 1\/2 +The parent built 100,000 records/, 30_000);
    run.press(' ');
    await run.waitFor(/tour paused: space resumes/, 3000);
    assert.doesNotMatch(run.text(), /PAUSED/, 'space pauses the tour, not the display');
    run.press(' ');
    await run.waitFor((t) => !/tour paused/.test(t), 3000);
    run.press('u');
    await run.waitFor(
      (t) => /USS KiB/.test(t) && /tour ended: the keyboard is yours/.test(t) && !/step 1\/2/.test(t),
      3000,
    );
  } finally {
    run.press('q');
    await run.exited;
  }
});

test('under PyPy the freeze steps say why they are skipped', {
  skip: !existsSync('/usr/bin/pypy3') && 'no pypy3',
}, async () => {
  const run = runInPty(
    [
      'demo',
      '--python',
      '/usr/bin/pypy3',
      '--size',
      '50000',
      '--workers',
      '1',
      '--speed',
      '20',
      '--steps',
      '1,4,5',
      '--interval',
      '300',
    ],
    { cols: 100, rows: 30 },
  );
  try {
    await run.waitFor(/step 2\/3 +freeze: skipped: PyPy has no gc\.freeze\(\)/, 60_000);
    await run.waitFor(/tour over/, 20_000);
  } finally {
    run.press('q');
    await run.exited;
  }
});
