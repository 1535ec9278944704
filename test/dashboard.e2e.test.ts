/**
 * The real cowtop in a real pseudo-terminal, read back through a terminal emulator, driven by
 * keys: what a person at the terminal would see and do.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSmapsRollup } from '../src/proc/parse';
import { alive, experimentPids, runCli, sleep, waitUntil } from './helpers';
import { cellBytes, readTable, runInPty, twoWorkersKnown, type PtyRun } from './pty';

const ARGS = ['--size', '200000', '--workers', '2', '--interval', '250'];

const children = (pid: number): number[] =>
  readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number).sort();

const workersOf = (run: PtyRun) => readTable(run.screen()).filter((r) => r.ROLE.startsWith('worker'));
const parentOf = (run: PtyRun) => readTable(run.screen()).find((r) => r.ROLE === 'parent');

async function quit(run: PtyRun): Promise<void> {
  run.press('q');
  // A test that failed with the help open: that q only closed it.
  const again = setTimeout(() => run.press('q'), 1000);
  const e = await run.exited;
  clearTimeout(again);
  assert.equal(e.exitCode, 0);
  await run.settle();
  // The terminal is given back: normal screen, cursor visible.
  assert.equal(run.term.buffer.active.type, 'normal', 'back on the normal screen');
  assert.ok(run.raw().lastIndexOf('\x1b[?25h') > run.raw().lastIndexOf('\x1b[?25l'), 'cursor shown again');
  await waitUntil(() => experimentPids().length === 0, 5000, 'no experiment process');
}

test('80x24: the table lists the parent and its /proc children with figures /proc agrees with', async () => {
  const run = runInPty(ARGS, { cols: 80, rows: 24 });
  try {
    await run.waitFor((t) => readTable(t.split('\n')).filter((r) => r.ROLE.startsWith('worker')).length === 2);
    assert.match(run.text(), /FREEZE OFF/);
    assert.match(run.text(), /f freeze\s+g collect/);
    assert.match(run.text(), /\? help\s+q quit/);
    const parent = Number(parentOf(run)!.PID);
    assert.deepEqual(
      workersOf(run)
        .map((w) => Number(w.PID))
        .sort(),
      children(parent),
    );
    run.press('u'); // KiB: precise enough to compare with the kernel's kB
    await run.waitFor(/USS KiB/);
    // Right after the fork the parent's USS still moves (pages turn shared, and private again as
    // the workers write theirs): screen and /proc must meet within a few samples, not at once.
    let apart = '';
    const agrees = (): boolean => {
      apart = '';
      const rows = readTable(run.screen());
      for (const r of rows) {
        const direct = parseSmapsRollup(readFileSync(`/proc/${r.PID}/smaps_rollup`, 'utf8'))!;
        for (const [col, key] of [
          ['USS', 'uss'],
          ['PSS', 'pss'],
          ['RSS', 'rss'],
        ] as const) {
          const shown = cellBytes(r[col], 'KiB');
          if (Math.abs(shown - direct[key]) > 256 * 1024)
            apart += ` ${r.ROLE} ${col}: screen ${shown} vs /proc ${direct[key]};`;
        }
      }
      return rows.length === 3 && apart === '';
    };
    await run.waitFor(agrees, 5000).catch(() => assert.fail(`the screen never met /proc:${apart}`));
  } finally {
    await quit(run);
  }
});

test("while the heap is built, the parent's row grows with /proc; the workers join it after the fork and get a g pressed before it", async () => {
  // 3,000,000 objects take seconds to build: samples come every 250 ms of it.
  const run = runInPty(['--size', '3000000', '--workers', '1', '--interval', '250'], { cols: 160, rows: 30 });
  try {
    await run.waitFor(/building the heap/, 20_000);
    run.press('u'); // KiB: precise enough to compare with the kernel's kB
    const building = (t: string): boolean => /building the heap/.test(t);
    const shownUss = (): number | null => {
      const p = parentOf(run);
      return p && /\d/.test(p.USS) ? cellBytes(p.USS, 'KiB') : null;
    };
    await run.waitFor((t) => building(t) && /USS KiB/.test(t) && shownUss() !== null, 20_000);
    const pid = Number(parentOf(run)!.PID);
    assert.deepEqual(children(run.proc.pid), [pid], "the row is cowtop's own Python child");
    assert.match(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /cowtop_experiment/);
    const procUss = (): number => parseSmapsRollup(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))!.uss;
    // The heap only grows while it is built: a later sample shows at least what /proc said
    // before it was taken, and no more than what /proc says after it is seen.
    const before = procUss();
    const first = shownUss()!;
    await run.waitFor((t) => building(t) && (shownUss() ?? 0) >= before && shownUss()! > first, 10_000);
    const shown = shownUss()!;
    const after = procUss();
    assert.ok(shown <= after + 256 * 1024, `shown ${shown} B, /proc ${after} B after it`);
    assert.ok(shown - first > 1048576, `the row grew during the build: ${first} -> ${shown} B`);
    assert.equal(parentOf(run)!.GROWTH.trim(), '-', 'no growth before the first fork: the build is not a copy');
    // g before any worker exists: the parent reads it once it has forked, and says whom it asked.
    run.press('g');
    await run.waitFor((t) => !building(t) && workersOf(run).length === 1, 60_000);
    assert.equal(Number(parentOf(run)!.PID), pid);
    const worker = workersOf(run)[0].PID;
    await run.waitFor(
      (t) => /gc\.collect\(\) asked of 1 worker\b/.test(t) && new RegExp(`gc gen 2 pid ${worker}.*\\(asked\\)`).test(t),
      20_000,
    );
    assert.doesNotMatch(run.text(), /asked of 0 workers/);
  } finally {
    await quit(run);
  }
});

test('160x48: g copies the heap into unfrozen workers; f re-forks them frozen; then g copies almost nothing', async () => {
  // 400,000 objects: a frozen worker still copies ~2 MiB of the interpreter's own pages, which
  // 200,000 unfrozen objects' copies (~36 MiB) left at the 5% line (5.2% in a clean-clone run).
  const run = runInPty(['--size', '400000', '--workers', '2', '--interval', '200'], { cols: 160, rows: 48 });
  try {
    await run.waitFor((t) => readTable(t.split('\n')).filter((r) => r.ROLE.startsWith('worker')).length === 2);
    for (const title of ['USS MiB', 'PSS (real)', 'minor faults/s'])
      assert.ok(run.text().includes(title), `chart ${title}`);
    run.press('u');
    await run.waitFor(/USS KiB/);
    const growthOf = async (): Promise<number[]> => {
      // Wait until every worker's last collection is a full one and the growth has settled.
      let last = '';
      for (let i = 0; i < 100; i++) {
        await sleep(250);
        await run.settle();
        const ws = workersOf(run);
        const now = ws.map((w) => w.GROWTH).join('|');
        if (ws.length === 2 && ws.every((w) => w['LAST GC'].startsWith('g2')) && now === last)
          return ws.map((w) => cellBytes(w.GROWTH, 'KiB'));
        last = now;
      }
      throw new Error(`collections never settled:\n${run.text()}`);
    };
    run.press('g');
    const unfrozen = await growthOf();
    const before = workersOf(run).map((w) => w.PID);
    for (const g of unfrozen) assert.ok(g > 10 * 1048576, `unfrozen growth ${g}`);
    // Growth that large is drawn warm (a colour, not the default foreground); PID is not.
    const lines = run.screen();
    const y = lines.findIndex((l) => /^worker 1 /.test(l));
    const head = lines.find((l) => l.startsWith('ROLE'))!;
    const cell = (x: number) => run.term.buffer.active.getLine(run.term.buffer.active.viewportY + y)!.getCell(x)!;
    assert.notEqual(cell(head.indexOf('GROWTH') + 'GROWTH KiB'.length - 1).getFgColorMode(), 0, 'GROWTH coloured');
    assert.equal(cell(head.indexOf('PID') + 2).getFgColorMode(), 0, 'PID plain');

    run.press('f');
    await run.waitFor(/FREEZE ON/, 5000);
    await run.waitFor((t) => {
      const ws = readTable(t.split('\n')).filter((r) => r.ROLE.startsWith('worker') && /^\d/.test(r.USS ?? ''));
      return ws.length === 2 && ws.every((w) => !before.includes(w.PID));
    });
    await run.waitFor(/frozen [\d,]{6,}/, 3000);
    const parent = Number(parentOf(run)!.PID);
    assert.deepEqual(
      workersOf(run)
        .filter((w) => /^\d/.test(w.USS))
        .map((w) => Number(w.PID))
        .sort(),
      children(parent),
    );
    for (const p of before) assert.equal(alive(Number(p)), false, 'old workers are gone');
    await sleep(500);
    run.press('g');
    const frozen = await growthOf();
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b) / xs.length;
    assert.ok(mean(frozen) < 0.05 * mean(unfrozen), `frozen growth ${mean(frozen)} vs unfrozen ${mean(unfrozen)}`);
    assert.match(run.text(), /re-forked 2 workers WITH gc\.freeze\(\)/);
  } finally {
    await quit(run);
  }
});

test('? opens the help, a key closes it; resizing re-lays out; too small says so', async () => {
  const run = runInPty(ARGS, { cols: 80, rows: 24 });
  try {
    await run.waitFor((t) => readTable(t.split('\n')).length === 3);
    assert.ok(!/MAJFLT\/s/.test(run.text()), 'narrow: fewer columns');
    assert.equal((run.text().match(/┌─ /g) ?? []).length, 1, 'one chart at 80 columns');
    run.press('?');
    await run.waitFor(/help: .*any other key closes/, 2000);
    assert.match(run.text(), /toggle gc\.freeze\(\)/);
    run.press('x');
    await run.waitFor((t) => !/help: .*any other key closes/.test(t), 2000);
    run.resize(160, 48);
    await run.waitFor((t) => /MAJFLT\/s/.test(t) && (t.match(/┌─ /g) ?? []).length === 3, 5000);
    run.resize(39, 11);
    await run.waitFor(/terminal too small: 39x11/, 5000);
    run.resize(100, 30);
    await run.waitFor((t) => /worker 2/.test(t) && (t.match(/┌─ /g) ?? []).length === 2, 5000);
  } finally {
    await quit(run);
  }
});

test('space pauses the display while sampling goes on; sort keys mark the header', async () => {
  const run = runInPty(ARGS, { cols: 100, rows: 30 });
  try {
    await run.waitFor((t) => readTable(t.split('\n')).length === 3);
    run.press(' ');
    await run.waitFor(/PAUSED/, 1000);
    run.press('4');
    await run.waitFor(/USS MiB▼/, 1000);
    run.press('4');
    await run.waitFor(/USS MiB▲/, 1000);
    run.press(' ');
    await run.waitFor((t) => !t.includes('PAUSED'), 1000);
    const live = (t: string): number =>
      readTable(t.split('\n')).filter((r) => r.ROLE.startsWith('worker') && /^\d/.test(r.USS)).length;
    run.press('+');
    await run.waitFor((t) => live(t) === 3 && /workers 3/.test(t), 5000);
    run.press('-');
    await run.waitFor((t) => live(t) === 2 && /workers 2/.test(t), 5000);
    run.press('w');
    await run.waitFor((t) => /workload collect/.test(t) && live(t) === 2, 5000);
    run.press('s');
    await run.waitFor((t) => /SPLIT/.test(t) && /mean USS: no freeze [\d.]+ \w+ \| frozen [\d.]+ \w+/.test(t), 5000);
    await run.waitFor((t) => /no-frz 1\s+\d+/.test(t) && /frozen 2\s+\d+/.test(t), 5000);
    run.press('f');
    await run.waitFor((t) => !/SPLIT/.test(t) && /FREEZE (ON|OFF)/.test(t) && /worker 1\s+\d+/.test(t), 5000);
  } finally {
    await quit(run);
  }
});

for (const term of ['xterm', 'screen-256color', 'tmux-256color', 'linux']) {
  test(`TERM=${term}: the dashboard draws and quits cleanly`, async () => {
    const run = runInPty(['--size', '20000', '--workers', '1', '--interval', '200'], {
      cols: 80,
      rows: 24,
      env: { TERM: term },
    });
    try {
      await run.waitFor(/worker 1\s+\d+/);
      assert.match(run.text(), /FREEZE OFF/);
    } finally {
      await quit(run);
    }
  });
}

test('NO_COLOR: the mode label keeps no colour', async () => {
  const colour = async (env: NodeJS.ProcessEnv): Promise<boolean> => {
    const run = runInPty(['--size', '20000', '--workers', '1'], { cols: 80, rows: 24, env });
    try {
      await run.waitFor(/FREEZE OFF/);
      const y = run.screen().findIndex((l) => l.includes('FREEZE OFF'));
      const x = run.screen()[y].indexOf('FREEZE');
      const cell = run.term.buffer.active.getLine(y)!.getCell(x)!;
      return !cell.isBgDefault();
    } finally {
      await quit(run);
    }
  };
  assert.equal(await colour({}), true, 'coloured by default');
  assert.equal(await colour({ NO_COLOR: '1' }), false, 'default background under NO_COLOR');
});

test('TERM=dumb or a stdout that is not a terminal: told to use --batch, exit 2', async () => {
  const run = runInPty([], { cols: 80, rows: 24, env: { TERM: 'dumb' } });
  const e = await run.exited;
  assert.equal(e.exitCode, 2);
  assert.match(run.text(), /use --batch/);
  const piped = await runCli([]);
  assert.equal(piped.code, 2);
  assert.match(piped.stderr, /^cowtop: the dashboard needs a terminal, and stdout is not one: use --batch/);
  assert.deepEqual(experimentPids(), []);
});

/** The row drawn inverse (the selection), as the terminal shows it. */
function selectedLine(run: PtyRun): string | null {
  const buf = run.term.buffer.active;
  for (let y = 0; y < run.term.rows; y++) {
    const line = buf.getLine(buf.viewportY + y);
    if (line?.getCell(0)?.isInverse() && line.getCell(5)?.isInverse()) return line.translateToString(true);
  }
  return null;
}

for (const [cols, rows] of [
  [80, 24],
  [40, 12],
]) {
  test(`${cols}x${rows} with 8 workers: every row is reachable, the view follows the selection`, async () => {
    const run = runInPty(['--size', '20000', '--workers', '8', '--interval', '250'], { cols, rows });
    const KEY = { up: '\x1b[A', down: '\x1b[B', pgdn: '\x1b[6~', home: '\x1b[H', end: '\x1b[F' };
    try {
      const roles = (t: string): string[] => readTable(t.split('\n')).map((r) => r.ROLE);
      const first = await run.waitFor((t) => /rows 1-\d+(?: of |\/)9/.test(t) && roles(t).length > 1, 30_000);
      assert.ok(!roles(first).includes('worker 8'), 'worker 8 does not fit at first');
      // Saying which rows are shown never costs a column (MINFLT/s and CPU% fit at 80 without it).
      if (cols === 80) assert.match(first.split('\n').find((l) => l.startsWith('ROLE'))!, /MINFLT\/s {3}CPU%/);
      run.press(KEY.end);
      const end = await run.waitFor((t) => /rows \d+-9(?: of |\/)9/.test(t) && roles(t).includes('worker 8'), 3000);
      assert.match(selectedLine(run) ?? '', /^worker 8\s+\d+/, end);
      const pid = /^worker 8\s+(\d+)/.exec(selectedLine(run)!)![1];
      run.press('1'); // sort by PID: the same process stays selected, and in view
      await run.waitFor(
        () => (selectedLine(run) ?? '').includes(` ${pid} `) || (selectedLine(run) ?? '').includes(` ${pid}`),
        3000,
      );
      run.press('r'); // back to role order
      run.press(KEY.home);
      await run.waitFor((t) => /rows 1-\d+(?: of |\/)9/.test(t) && /^parent/.test(selectedLine(run) ?? ''), 3000);
      run.press(KEY.down);
      await run.waitFor(() => /^worker 1\s/.test(selectedLine(run) ?? ''), 3000);
      run.press(KEY.pgdn);
      await run.waitFor(
        () => /^worker \d\s/.test(selectedLine(run) ?? '') && !/^worker 1\s/.test(selectedLine(run) ?? ''),
        3000,
      );
    } finally {
      await quit(run);
    }
  });
}

test("pause freezes the whole screen (table, charts, log, clock) like htop's Z; resuming shows what happened", async () => {
  const run = runInPty(ARGS, { cols: 100, rows: 30 });
  try {
    await run.waitFor(twoWorkersKnown);
    run.press(' ');
    await run.waitFor(/PAUSED/, 2000);
    const frozen = run.text();
    run.press('g'); // an event that would show in the log at once
    await sleep(1200); // more than a sample and a clock second: nothing on screen may move
    await run.settle();
    assert.equal(run.text(), frozen, 'the paused screen did not change');
    run.press(' ');
    await run.waitFor((t) => !/PAUSED/.test(t) && /gc\.collect\(\) asked of 2 workers/.test(t), 3000);
  } finally {
    await quit(run);
  }
});

test('80x24: the help scrolls with the arrows to its last line, and back', async () => {
  const run = runInPty(ARGS, { cols: 80, rows: 24 });
  try {
    await run.waitFor((t) => readTable(t.split('\n')).length === 3);
    run.press('?');
    const first = await run.waitFor(/help: lines 1-(\d+) of (\d+)/, 3000);
    const [, shown, total] = /lines 1-(\d+) of (\d+)/.exec(first)!.map(Number);
    assert.ok(total > shown, 'the help is longer than the box at 80x24');
    run.press('\x1b[B'); // Down: one line, at once
    await run.waitFor(new RegExp(`lines 2-${shown + 1} of ${total}`), 2000);
    run.press('\x1b[F'); // End: the last line is on screen
    await run.waitFor(new RegExp(`lines ${total - shown + 1}-${total} of ${total}`), 2000);
    assert.match(run.text(), /write +mutates every shared record/, 'the last workload line is readable');
    run.press('\x1b[A'); // Up works too
    await run.waitFor(new RegExp(`lines ${total - shown}-${total - 1} of ${total}`), 2000);
    run.press('x');
    await run.waitFor((t) => !/help: /.test(t), 2000);
  } finally {
    await quit(run);
  }
});

/** An SGR mouse report (what xterm sends with mode 1006): button, 0-based cell, press or release. */
const mouse = (button: number, x: number, y: number, release = false): string =>
  `\x1b[<${button};${x + 1};${y + 1}${release ? 'm' : 'M'}`;

test('rows you can act on: click sorts and selects, the wheel moves, Enter shows /proc in full, / filters, k signals', async () => {
  const run = runInPty([...ARGS.slice(0, 2), '--workers', '3', '--interval', '250'], { cols: 100, rows: 30 });
  try {
    await run.waitFor(
      (t) => readTable(t.split('\n')).filter((r) => r.ROLE.startsWith('worker') && /^\d/.test(r.USS)).length === 3,
    );
    const header = (): { y: number; line: string } => {
      const lines = run.screen();
      const y = lines.findIndex((l) => l.startsWith('ROLE'));
      return { y, line: lines[y] };
    };
    // A click on a column title sorts by it; again reverses.
    const h = header();
    run.press(mouse(0, h.line.indexOf('USS MiB') + 2, h.y));
    await run.waitFor(/USS MiB▼/, 2000);
    run.press(mouse(0, header().line.indexOf('PID') + 1, h.y));
    await run.waitFor(/PID▲/, 2000);
    // A click on a row selects it; Enter opens its detail, every figure from its smaps_rollup.
    // (blessed reads one mouse report per chunk of input, and drops keys sent in the same chunk:
    // each event waits for the screen, as a person's clicks and keys arrive apart.)
    const selected = (y: number): boolean =>
      run.term.buffer.active
        .getLine(run.term.buffer.active.viewportY + y)!
        .getCell(0)!
        .isInverse() !== 0;
    const rowY = run.screen().findIndex((l) => /^worker 2 /.test(l));
    run.press(mouse(0, 3, rowY));
    await run.waitFor(() => selected(rowY), 2000);
    run.press('\r');
    // The whole pane, not its first rows: on a busy machine a frame reaches the emulator in parts.
    await run.waitFor(
      (t) =>
        /pid \d+: .*Esc closes/.test(t) &&
        ['Pss', 'Private_Dirty', 'Shared_Clean'].every((f) => new RegExp(`${f} +[\\d,]+ kB`).test(t)),
      3000,
    );
    const pid = Number(/pid (\d+): /.exec(run.text())![1]);
    assert.match(run.text(), /worker 2 +pid \d+ +ppid \d+/);
    assert.match(run.text(), /command +\S*python/);
    assert.match(run.text(), /-m cowtop_experiment[\s\S]{0,40}?--size 200000 --workers 3/); // wrapped in the pane
    // The pane reads the last snapshot: a young worker's RSS still moves, so the two must meet
    // within a few samples, not at one instant.
    let rss = '';
    await run
      .waitFor((t) => {
        const rollup = parseSmapsRollup(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))!;
        const shownRss = Number(/Rss +([\d,]+) kB/.exec(t)?.[1].replace(/,/g, '') ?? NaN) * 1024;
        rss = `Rss ${shownRss} vs /proc ${rollup.rss}`;
        return Math.abs(shownRss - rollup.rss) <= 256 * 1024;
      }, 5000)
      .catch(() => assert.fail(`the pane's RSS never met /proc's: ${rss}`));
    for (const field of ['Pss', 'Private_Dirty', 'Shared_Clean'])
      assert.match(run.text(), new RegExp(`${field} +[\\d,]+ kB`), field);
    run.press('\x1b[F'); // End: the gc part, below the fold at 30 rows
    await run.waitFor(/get_threshold\(\) +\d+ \/ \d+ \/ \d+/, 2000);
    for (const field of ['get_count()', 'gen 2', 'since fork'])
      assert.match(run.text(), new RegExp(`${field.replace(/[()]/g, '\\$&')} +\\S`), field);
    run.press('\x1b');
    await run.waitFor((t) => !/Esc closes/.test(t), 2000);
    // / filters as typed: pid, role or command; Esc clears.
    run.press('/');
    await run.waitFor(/filter \//, 2000);
    run.press('worker 3');
    await run.waitFor(
      (t) =>
        readTable(t.split('\n'))
          .map((r) => r.ROLE)
          .join() === 'worker 3' && /\/worker 3: 1 of 4/.test(t),
      2000,
    );
    run.press('\r');
    await run.waitFor(/f freeze/, 2000); // the footer is back, the filter kept
    assert.equal(readTable(run.screen()).length, 1);
    run.press('\x1b');
    await run.waitFor((t) => readTable(t.split('\n')).length === 4, 2000);
    // Home selects the first row; the wheel moves the selection 3 rows a notch.
    const wheelY = header().y + 1;
    run.press('\x1b[H');
    await run.waitFor(() => selected(wheelY), 2000);
    run.press(mouse(65, 10, wheelY));
    await run.waitFor(() => selected(wheelY + 3) && !selected(wheelY), 2000);
    run.press('\r');
    // The whole pane, not its first rows: on a busy machine a frame reaches the emulator in parts.
    await run.waitFor(
      (t) =>
        /pid \d+: .*Esc closes/.test(t) &&
        ['Pss', 'Private_Dirty', 'Shared_Clean'].every((f) => new RegExp(`${f} +[\\d,]+ kB`).test(t)),
      3000,
    );
    const third = readTable(run.screen().slice(0, 3)).length; // (the pane covers the table)
    assert.equal(third, 0);
    const victim = Number(/pid (\d+): /.exec(run.text())![1]);
    assert.equal(victim, Number(readFileSync(`/proc/${victim}/stat`, 'utf8').split(' ')[0]));
    // k from the detail pane: the question names the process, SIGTERM picked; down to SIGKILL.
    run.press('k');
    await run.waitFor(new RegExp(`Send SIGTERM to worker \\d \\(pid ${victim}\\)\\?`), 2000);
    run.press('\x1b[B\x1b[B\x1b[B');
    await run.waitFor(/Send SIGKILL to/, 2000);
    run.press('\r');
    await run.waitFor(new RegExp(`sent SIGKILL to pid ${victim}`), 3000);
    // Sent by k: expected, and said so; not "unexpected", no x on the timeline.
    await run.waitFor(new RegExp(`exit pid ${victim}: SIGKILL \\(SIGKILL sent by cowtop \\(k\\)\\)`), 5000);
    assert.doesNotMatch(run.text(), /\(unexpected\)/);
    assert.doesNotMatch(run.text(), /^ev .*x/m);
    assert.equal(alive(victim), false);
    // [ and ]: the sampling interval, and the experiment's gc reports with it.
    run.press('[');
    await run.waitFor(/sampling every 0\.2s/, 2000);
    await run.waitFor(/the experiment now reports gc every 200 ms/, 3000);
    run.press(']]');
    await run.waitFor(/sampling every 0\.5s[\s\S]*sampling every 1s|sampling every 1s/, 2000);
  } finally {
    await quit(run);
  }
  assert.equal(run.term.modes.mouseTrackingMode, 'none', 'mouse reporting is off again');
});

/** The USS chart as the terminal shows it: its y labels by row, and the rows holding braille. */
function ussChart(screen: string): {
  labels: Array<{ row: number; value: number }>;
  dotted: number[];
  legend: number[];
} {
  const lines = screen.split('\n');
  const top = lines.findIndex((l) => l.startsWith('┌─ USS MiB'));
  if (top < 0) return { labels: [], dotted: [], legend: [] };
  const bottom = lines.findIndex((l, i) => i > top && l.startsWith('└'));
  const inner = lines.slice(top + 1, bottom);
  const labels = inner.flatMap((l, row) => {
    const m = /^│ *(\d+(?:\.\d+)?) /.exec(l);
    return m ? [{ row, value: Number(m[1]) }] : [];
  });
  const dotted = inner.flatMap((l, row) => ([...l].some((c) => c >= '\u2801' && c <= '\u28ff') ? [row] : []));
  const legend = [...lines[top].matchAll(/(?:w\d+|max(?: w\d+)?|median|min) (\d+\.\d)/g)].map((m) => Number(m[1]));
  return { labels, dotted, legend };
}

test('the USS chart holds every line under its top, with evenly spaced labels, at 80x24 (4, 16 and 64 workers)', async () => {
  for (const workers of [4, 16, 64]) {
    const run = runInPty(['--size', workers === 4 ? '1000000' : '100000', '--workers', String(workers)], {
      cols: 80,
      rows: 24,
    });
    try {
      const screen = await run.waitFor((t) => {
        const c = ussChart(t);
        return c.legend.length > 0 && c.legend.every((v) => v > 0) && c.dotted.length > 0;
      }, 90_000);
      const c = ussChart(screen);
      const what = `${workers} workers:\n${screen}`;
      assert.ok(c.labels.length >= 3, what);
      const steps = c.labels.slice(1).map((l, i) => l.row - c.labels[i].row);
      assert.equal(new Set(steps).size, 1, `labels evenly spaced: ${what}`);
      const values = c.labels.map((l) => l.value).reverse();
      const step = values[1] - values[0];
      for (const [i, v] of values.entries()) assert.ok(Math.abs(v - i * step) < 1e-9, `exact steps: ${what}`);
      const top = values.at(-1)!;
      assert.ok(Math.max(...c.legend) <= top, `the top (${top}) holds every value (${c.legend}): ${what}`);
      // Every line is drawn inside the plot: nothing above the top label's row.
      assert.ok(Math.min(...c.dotted) >= c.labels[0].row, what);
    } finally {
      await quit(run);
    }
  }
});

test('LANG=C, --ascii and TERM=linux: nothing the terminal cannot draw, and no ? for it', async () => {
  const cases: Array<{ env: NodeJS.ProcessEnv; args: string[]; ascii: boolean }> = [
    { env: { LANG: 'C', LC_ALL: 'C' }, args: [], ascii: true },
    { env: {}, args: ['--ascii'], ascii: true },
    { env: { TERM: 'linux' }, args: [], ascii: false },
  ];
  for (const c of cases) {
    const run = runInPty([...ARGS, ...c.args], { cols: 80, rows: 24, env: c.env });
    try {
      const screen = await run.waitFor((t) => /worker 2\s+\d+\s+\d/.test(t) && /[*\u2801-\u28ff]{3}/.test(t), 60_000);
      const what = `${JSON.stringify(c)}:\n${screen}`;
      assert.doesNotMatch(screen, /[\u2800-\u28ff]/, `no braille: ${what}`);
      assert.match(screen, /\*{3}/, `the plot in *: ${what}`);
      if (c.ascii) {
        assert.match(screen, / S USS \d/, what);
        assert.match(screen, /^ROLE\^/m, what);
        assert.doesNotMatch(screen.replace('? help', ''), /\?/, `no ? standing for a glyph: ${what}`);
        // Only the borders blessed draws itself (line drawing, ACS) are past ASCII.
        assert.ok(
          [...screen].every((ch) => ch < '\u0080' || /[─│┌┐└┘├┤┬┴┼]/.test(ch)),
          what,
        );
      } else assert.match(screen, /Σ USS/, `the console keeps Σ: ${what}`);
    } finally {
      await quit(run);
    }
  }
});

test('settings persist: sort, units, tree and interval are saved on quit and come back; --interval wins; a bad file is said', async () => {
  const home = mkdtempSync(join(tmpdir(), 'cowtop-xdg-'));
  const env = { XDG_CONFIG_HOME: home };
  const file = join(home, 'cowtop', 'config');
  try {
    const first = runInPty(['--size', '100000', '--workers', '2'], { cols: 100, rows: 30, env });
    await first.waitFor(/worker 2\s+\d+\s+\d/, 60_000);
    first.press('3'); // sort by PSS, biggest first
    first.press('u'); // KiB
    first.press('t'); // tree
    first.press(']'); // every 2s
    await first.waitFor(/every 2s/, 5000);
    await quit(first);
    assert.match(readFileSync(file, 'utf8'), /\nsort=pss\nsort_desc=1\nunits=KiB\ninterval=2000\nchart=uss\ntree=1\n$/);

    const again = runInPty(['--size', '100000', '--workers', '2'], { cols: 100, rows: 30, env });
    const screen = await again.waitFor(/worker 2\s+\d+\s+\d/, 60_000);
    assert.match(screen, /every 2s/);
    assert.match(screen, /PSS KiB▼/);
    assert.match(screen, /[├└]─ /, 'the tree view');
    await quit(again);

    const given = runInPty(['--size', '100000', '--workers', '2', '--interval', '500'], { cols: 100, rows: 30, env });
    assert.match(await given.waitFor(/every 0\.5s/, 60_000), /every 0\.5s/);
    await quit(given);

    writeFileSync(file, 'sort=pss\nthis is not a setting\n', { mode: 0o600 });
    const bad = runInPty(['--size', '100000', '--workers', '2'], { cols: 100, rows: 30, env });
    await bad.waitFor(/settings .*config ignored: a line in it is not key=value/, 60_000);
    assert.match(await bad.waitFor(/^ROLE/m, 60_000), /^ROLE▲/m, 'the defaults');
    await quit(bad);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
