/**
 * Start (issue 14, target 5): cowtop in a real pty, timed from the spawn to the first frame on
 * screen (the header), to the first figures (the parent's row, sampled while it builds the heap)
 * and to the tree's (a worker row with numbers), against the heap build time the experiment
 * itself reports.
 */
import { spawnSync } from 'node:child_process';
import { runInPty } from '../test/pty';
import { BIN } from '../test/helpers';
import { percentile, round } from './measure';

export interface StartRun {
  firstFrameMs: number;
  parentFiguresMs: number; // the parent's row with numbers: sampled from the build on
  firstFiguresMs: number; // a worker's row: the tree after the first fork
  buildMs: number;
  importMs: number; // the experiment's server-like imports before the objects
  overBuildMs: number; // first figures minus the heap build: what cowtop adds
  overBuildAndImportsMs: number; // the same, counting the imports (module objects) as building the heap
}

export async function startTimes(runs = 10, args = ['--size', '1000000', '--workers', '4']) {
  const all: StartRun[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const ms = (): number => Number(process.hrtime.bigint() - t0) / 1e6;
    const run = runInPty(args, { cols: 160, rows: 48, node: ['--max-semi-space-size=1', BIN, ...args] });
    try {
      await run.waitFor(/cowtop/, 30_000);
      const firstFrameMs = ms();
      await run.waitFor(/parent\s+\d+\s+[\d.]+/, 120_000);
      const parentFiguresMs = ms();
      await run.waitFor(/worker \d+\s+\d+\s+[\d.]+/, 120_000);
      const firstFiguresMs = ms();
      // The event log names the build time and the imports' time, as the experiment measured them.
      const build = /built [\d,.]+\w? objects in ([\d.]+) ?(ms|s), after ([\d.]+) ?(ms|s) of imports/.exec(run.text());
      const msOf = (n: string | undefined, unit: string | undefined): number =>
        n ? Number(n) * (unit === 's' ? 1000 : 1) : NaN;
      const buildMs = msOf(build?.[1], build?.[2]);
      const importMs = msOf(build?.[3], build?.[4]);
      all.push({
        firstFrameMs: round(firstFrameMs, 0),
        parentFiguresMs: round(parentFiguresMs, 0),
        firstFiguresMs: round(firstFiguresMs, 0),
        buildMs,
        importMs,
        overBuildMs: round(firstFiguresMs - buildMs, 0),
        overBuildAndImportsMs: round(firstFiguresMs - buildMs - importMs, 0),
      });
    } finally {
      run.press('q');
      await run.exited;
    }
  }
  const p = (k: keyof StartRun, q: number): number =>
    round(
      percentile(
        all.map((r) => r[k]),
        q,
      ),
      0,
    );
  return {
    args,
    runs: all,
    firstFrame: { p50: p('firstFrameMs', 50), max: p('firstFrameMs', 100), targetMs: 300 },
    parentFigures: { p50: p('parentFiguresMs', 50), max: p('parentFiguresMs', 100) },
    build: { p50: p('buildMs', 50) },
    overBuild: { p50: p('overBuildMs', 50), max: p('overBuildMs', 100), targetMs: 500 },
    overBuildAndImports: { p50: p('overBuildAndImportsMs', 50), max: p('overBuildAndImportsMs', 100) },
    imports: { p50: p('importMs', 50) },
  };
}

/**
 * The same start with the interpreter named by its own path (what `python3` resolves to here),
 * and what resolving it costs: `python3 -c pass` against `PATH -c pass`, 10 runs each. Through a
 * pyenv shim the difference is the shim's bash; with no shim it is ~0.
 */
export async function startByPath(runs = 10) {
  const python = process.env.COWTOP_PYTHON || 'python3';
  const path = spawnSync(python, ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout.trim();
  if (!path) throw new Error(`${python} did not say its path`);
  const passMs = (exe: string): number => {
    const times: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t0 = process.hrtime.bigint();
      spawnSync(exe, ['-c', 'pass']);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    return round(percentile(times, 50), 0);
  };
  const resolving = { [python]: passMs(python), [path]: passMs(path) };
  const timed = await startTimes(runs, ['--size', '1000000', '--workers', '4', '--python', path]);
  return { pythonStartP50Ms: resolving, ...timed };
}
