/** Bad input: one clear line on stderr, exit code 2, no stack trace, nothing left running. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, experimentPids, FIXTURES, runCli } from './helpers';
import { runInPty } from './pty';

const CASES: Array<{ name: string; args: string[]; env?: NodeJS.ProcessEnv; says: RegExp }> = [
  {
    name: 'size not a number',
    args: ['--batch', '--size', 'lots'],
    says: /--size must be a whole decimal number from 1 to 100,000,000,000, got 'lots'/,
  },
  { name: 'size zero', args: ['--batch', '--size', '0'], says: /--size must be from 1 to 100,000,000,000, got 0$/ },
  { name: 'size negative', args: ['compare', '--size=-5'], says: /--size must be a whole decimal number/ },
  { name: 'size fractional', args: ['--batch', '--size', '2.5'], says: /--size must be a whole decimal number/ },
  { name: 'workers zero', args: ['--batch', '--workers', '0'], says: /--workers must be from 1 to 64, got 0$/ },
  { name: 'workers 65', args: ['compare', '--workers', '65'], says: /--workers must be from 1 to 64, got 65$/ },
  {
    name: 'interval under 100',
    args: ['--batch', '--interval', '50'],
    says: /--interval must be from 100 to 3,600,000, got 50$/,
  },
  {
    name: 'unknown workload',
    args: ['--batch', '--workload', 'dance'],
    says: /--workload must be one of idle, collect/,
  },
  {
    name: 'unknown batch format',
    args: ['--batch', '--format', 'xml'],
    says: /--format must be one of json, csv, table/,
  },
  { name: 'unknown compare format', args: ['compare', '--format', 'csv'], says: /--format must be one of table, json/ },
  {
    name: 'bad duration',
    args: ['--batch', '--duration', 'soon'],
    says: /--duration must be a decimal number of seconds above 0 and at most 2,147,483, got 'soon'/,
  },
  { name: 'duration without batch', args: ['--duration', '3'], says: /--duration goes with --batch/ },
  {
    name: 'bad collect-every',
    args: ['--batch', '--collect-every', '0'],
    says: /--collect-every must be a decimal number of seconds above 0/,
  },
  { name: 'unknown flag', args: ['--batch', '--frobnicate'], says: /Unknown argument: frobnicate/ },
  { name: 'unknown command', args: ['explode'], says: /Unknown argument: explode/ },
  {
    name: 'missing python',
    args: ['--batch', '--python', '/nonexistent/python3'],
    says: /python not found: \/nonexistent\/python3/,
  },
  {
    name: 'not a python',
    args: ['compare', '--python', join(FIXTURES, 'not-python')],
    says: /not a working Python interpreter/,
  },
  {
    name: 'python older than 3.7',
    args: ['--batch', '--python', join(FIXTURES, 'fake-python-3.6')],
    says: /CPython 3\.6\.15; cowtop needs CPython 3\.7 or newer/,
  },
  {
    name: 'python not executable',
    args: ['--batch', '--python', join(FIXTURES, 'smaps_rollup.python.txt')],
    says: /python is not executable/,
  },
  {
    name: 'empty COWTOP_PYTHON',
    args: ['--batch'],
    env: { COWTOP_PYTHON: '' },
    says: /COWTOP_PYTHON is set but empty/,
  },
  {
    name: 'COWTOP_PYTHON missing',
    args: ['compare'],
    env: { COWTOP_PYTHON: '/nope/py' },
    says: /python not found: \/nope\/py/,
  },
  {
    name: 'output file cannot be written',
    args: ['--batch', '--size', '1000', '--output', '/nonexistent-dir/out.json'],
    says: /cannot write --output \/nonexistent-dir\/out\.json: ENOENT/,
  },
  { name: 'output without batch', args: ['--output', 'x.json'], says: /--output goes with --batch/ },
  {
    name: 'min-available out of range',
    args: ['--batch', '--min-available', '150'],
    says: /--min-available must be a percentage from 0 to 100/,
  },
  { name: 'size with no value', args: ['--batch', '--size'], says: /Not enough arguments following: size/ },
  {
    name: '/proc unreadable for compare',
    args: ['compare', '--size', '1000'],
    env: { COWTOP_PROC_ROOT: '/nonexistent-proc' },
    says: /cannot read \/nonexistent-proc\/PID\/smaps_rollup: compare needs Linux \/proc/,
  },
  // Numbers are whole decimal numbers in their range: no hex, no exponent, no timer overflow.
  {
    name: 'size in hex',
    args: ['--batch', '--size', '0x10'],
    says: /--size must be a whole decimal number from 1 to 100,000,000,000, got '0x10'/,
  },
  {
    name: 'workers in hex',
    args: ['--batch', '--workers', '0x40'],
    says: /--workers must be a whole decimal number from 1 to 64, got '0x40'/,
  },
  { name: 'size with an exponent', args: ['--batch', '--size', '1e3'], says: /--size must be a whole decimal number/ },
  {
    name: 'interval with an exponent',
    args: ['--batch', '--interval', '1e16'],
    says: /--interval must be a whole decimal number from 100 to 3,600,000, got '1e16'/,
  },
  {
    name: 'interval beyond a timer',
    args: ['--batch', '--interval', '5000000000'],
    says: /--interval must be from 100 to 3,600,000, got 5,000,000,000/,
  },
  {
    name: 'duration beyond a timer',
    args: ['--batch', '--duration', '2147484'],
    says: /--duration must be a decimal number of seconds above 0 and at most 2,147,483, got '2147484'/,
  },
  {
    name: 'duration in hex',
    args: ['--batch', '--duration', '0x10'],
    says: /--duration must be a decimal number of seconds/,
  },
  {
    name: 'collect-every beyond a day',
    args: ['--batch', '--collect-every', '100000'],
    says: /--collect-every must be a decimal number of seconds above 0 and at most 86,400/,
  },
  {
    name: 'min-available in hex',
    args: ['--batch', '--min-available', '0x10'],
    says: /--min-available must be a percentage from 0 to 100/,
  },
  {
    name: 'prometheus port in hex',
    args: ['--batch', '--prometheus', '0x50'],
    says: /--prometheus must be a whole decimal number from 1 to 65,535/,
  },
  {
    name: 'a flag given a value',
    args: ['--batch', '--freeze=maybe'],
    says: /--freeze takes no value \(or =true \/ =false\), got 'maybe'/,
  },
  { name: 'a negated flag given a value', args: ['compare', '--no-split=1'], says: /--split takes no value/ },
  {
    name: 'demo with --freeze',
    args: ['demo', '--freeze'],
    says: /--freeze does not go with demo: the tour sets it as it goes$/,
  },
  {
    name: 'demo with a step that does not exist',
    args: ['demo', '--steps', '1,9'],
    says: /--steps: no step "9"; the steps are 1 fork, 2 collect, 3 map/,
  },
  {
    name: 'demo at speed 0',
    args: ['demo', '--speed', '0'],
    says: /--speed must be a number from 0\.1 to 100, got '0'$/,
  },
  {
    name: 'attach without a pid',
    args: ['attach'],
    says: /attach needs a pid: cowtop attach PID \(or --match REGEX\)$/,
  },
  {
    name: 'attach to a pid and a match',
    args: ['attach', '1', '--match', 'x'],
    says: /attach takes a pid or --match, not both$/,
  },
  {
    name: 'attach --match a broken pattern',
    args: ['attach', '--match', '(', '--batch'],
    says: /--match: not a regular expression: .*Unterminated group$/,
  },
  { name: 'attach --wait without --match', args: ['attach', '1', '--wait', '3'], says: /--wait goes with --match$/ },
  {
    name: 'attach --name with spaces',
    args: ['attach', '1', '--name', 'a b'],
    says: /--name must be 1 to 64 letters, digits/,
  },
  {
    name: 'attach --match --wait 0',
    args: ['attach', '--match', 'x', '--wait', '0'],
    says: /--wait must be a decimal number of seconds above 0/,
  },
  {
    name: 'attach to a word',
    args: ['attach', 'abc', '--batch'],
    says: /attach: the pid must be a whole decimal number from 1 to 4,194,304, got 'abc'/,
  },
  {
    name: 'attach to a kernel thread',
    args: ['attach', '2', '--batch'],
    says: /pid 2 \(kthreadd\) is a kernel thread: it has no user memory to watch/,
  },
  {
    name: 'a file name with terminal controls is shown as text',
    args: ['--batch', '--size', '1000', '--output', '/nonexistent-dir/\x1b[2J\nx'],
    says: /cannot write --output \/nonexistent-dir\/\\x1b\[2J\\x0ax: ENOENT$/,
  },
  {
    name: 'an unknown gc strategy',
    args: ['--batch', '--gc', 'sometimes'],
    says: /--gc must be default, disable, freeze or threshold:N\[,N1,N2\], got 'sometimes'/,
  },
  {
    name: 'a threshold of zero',
    args: ['--batch', '--gc', 'threshold:0'],
    says: /--gc threshold takes 1 to 3 whole numbers from 1 to 100,000,000/,
  },
  {
    name: '--freeze with another strategy',
    args: ['--batch', '--freeze', '--gc', 'disable'],
    says: /--freeze is --gc freeze: give one, not --freeze with --gc disable/,
  },
  {
    name: '--enabler without gc disabled',
    args: ['--batch', '--enabler', '3'],
    says: /--enabler goes with --gc disable/,
  },
  {
    name: '--split with a strategy',
    args: ['--batch', '--split', '--gc', 'disable'],
    says: /--split puts frozen and unfrozen workers side by side: it goes without --gc/,
  },
  {
    name: 'compare with --gc but not --strategies',
    args: ['compare', '--gc', 'disable', '--size', '1000'],
    says: /--gc goes with --strategies/,
  },
  {
    name: '--requests without --strategies',
    args: ['compare', '--requests', '10'],
    says: /--requests goes with compare --strategies/,
  },
  {
    name: 'an unknown strategy to compare',
    args: ['compare', '--strategies', 'default,never'],
    says: /--strategies takes names from default, disable, threshold, freeze, got 'never'/,
  },
  {
    name: 'compare with --freeze',
    args: ['compare', '--freeze'],
    says: /--freeze does not go with compare: compare runs without and then with gc\.freeze\(\)/,
  },
  { name: 'compare with --split', args: ['compare', '--split'], says: /--split does not go with compare/ },
  {
    name: 'compare with --collect-every',
    args: ['compare', '--collect-every', '2'],
    says: /--collect-every does not go with compare/,
  },
  {
    name: 'compare of the idle workload',
    args: ['compare', '--workload', 'idle'],
    says: /--workload must be one of collect, read, write, serve, got 'idle'/,
  },
  {
    name: 'compare --matrix with a workload',
    args: ['compare', '--matrix', '--workload', 'read'],
    says: /--workload does not go with --matrix: it runs its own/,
  },
  {
    name: 'empty COWTOP_PROC_ROOT',
    args: ['--batch'],
    env: { COWTOP_PROC_ROOT: '' },
    says: /COWTOP_PROC_ROOT is set but empty/,
  },
];

for (const c of CASES) {
  test(`bad input: ${c.name}`, async () => {
    const r = await runCli(c.args, c.env ?? {}, 30_000);
    assert.equal(r.code, 2, `exit code; stderr: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line, got: ${r.stderr}`);
    assert.match(lines[0], /^cowtop: /);
    assert.match(lines[0], c.says);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(r.stdout, '');
  });
}

// The experiment itself says which Python it is (there is no separate probe): an interpreter too
// old to parse the experiment must still answer with the clear line, not a SyntaxError.
for (const v of ['2.7.18', '3.6.15']) {
  const py = join(
    process.env.PYENV_ROOT ?? join(process.env.HOME ?? '/root', '.pyenv'),
    'versions',
    v,
    'bin',
    'python',
  );
  test(`bad input: a real CPython ${v}`, { skip: existsSync(py) ? false : `no ${py} on this machine` }, async () => {
    const r = await runCli(['--batch', '--python', py], {}, 30_000);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr, `cowtop: ${py} is CPython ${v}; cowtop needs CPython 3.7 or newer, or PyPy 3\n`);
  });
}

test('bad input leaves no experiment process', () => {
  assert.deepEqual(experimentPids(), []);
});

test('--help lists the options with their defaults, --version prints the version', async () => {
  const help = await runCli(['--help']);
  assert.equal(help.code, 0);
  for (const opt of [
    '--size',
    '--workers',
    '--freeze',
    '--workload',
    '--collect-every',
    '--python',
    '--interval',
    '--batch',
    '--duration',
    '--format',
  ])
    assert.match(help.stdout, new RegExp(opt));
  assert.match(help.stdout, /default: 1000000/);
  const v = await runCli(['--version']);
  assert.equal(v.code, 0);
  assert.equal(v.stdout.trim(), require('../../package.json').version);
});

test('dashboard with stdin not a terminal: told to use --batch, exit 2', async () => {
  // stdout is the pty, stdin is /dev/null.
  const run = runInPty([], {
    node: [
      '-e',
      `require('child_process').spawn(process.execPath, [${JSON.stringify(BIN)}], { stdio: ['ignore', 'inherit', 'inherit'] }).on('exit', (c) => process.exit(c))`,
    ],
  });
  const e = await run.exited;
  await run.settle();
  assert.equal(e.exitCode, 2);
  assert.match(run.text(), /cowtop: the dashboard reads keys, and stdin is not a terminal: use --batch/);
});

test('/proc unreadable for batch: it says so once and goes on with pidusage', async () => {
  const r = await runCli(['--batch', '--duration', '1', '--size', '20000', '--workers', '1', '--interval', '200'], {
    COWTOP_PROC_ROOT: '/nonexistent-proc',
  });
  assert.equal(r.code, 0, r.stderr);
  const recs = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(
    recs.filter(
      (x) => x.kind === 'log' && /cannot read \/nonexistent-proc: USS, PSS and faults are unknown/.test(x.text),
    ).length,
    1,
  );
  const last = recs.filter((x) => x.type === 'sample').pop();
  assert.equal(last.processes[0].uss, null);
  assert.ok(last.processes[0].rss > 0);
});

test('dashboard: the screen opens at once, so a start that fails gives the terminal back, then says why in one line, exit 2', async () => {
  for (const args of [
    ['--python', '/nonexistent/python3'],
    ['--python', join(FIXTURES, 'fake-python-3.6')],
  ]) {
    const run = runInPty(args, { cols: 200, rows: 30 });
    assert.equal((await run.exited).exitCode, 2);
    await run.settle();
    const raw = run.raw();
    assert.ok(raw.lastIndexOf('\x1b[?1049l') > raw.lastIndexOf('\x1b[?1049h'), 'the alternate screen is left');
    assert.ok(raw.lastIndexOf('\x1b[?25h') > raw.lastIndexOf('\x1b[?25l'), 'the cursor is shown again');
    const lines = run
      .text()
      .split('\n')
      .filter((l) => l.trim());
    assert.equal(lines.length, 1, run.text());
    assert.match(lines[0], /^cowtop: (python not found|.* is CPython 3\.6\.15; cowtop needs)/);
  }
  assert.deepEqual(experimentPids(), []);
});
