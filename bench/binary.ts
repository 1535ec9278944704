/**
 * The single executable (issue 31, part 4): its size, and its start against cowtop from the
 * package in the same run, alternating: `--version` to exit, and the dashboard's first frame in a
 * pty. The first run after a copy also extracts the Python files (a fresh HOME): timed apart.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN } from '../test/helpers';
import { runInPty } from '../test/pty';
import { buildBinary } from '../test/tools/binary';
import { percentile, round } from './measure';

function wallMs(file: string, args: string[], env: NodeJS.ProcessEnv = process.env): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(file, args, { env, stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} exited ${r.status}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function firstFrameMs(file: string, args: string[]): Promise<number> {
  const t0 = process.hrtime.bigint();
  const run = runInPty([], { file, node: args, cols: 120, rows: 40 });
  try {
    await run.waitFor(/cowtop/, 30_000);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  } finally {
    run.press('q');
    await run.exited;
  }
}

export async function binary(runs = 10) {
  const exe = await buildBinary();
  const home = mkdtempSync(join(tmpdir(), 'cowtop-bench-home-'));
  try {
    const firstExtractMs = wallMs(exe, ['agent', '--path'], { ...process.env, HOME: home, XDG_CACHE_HOME: '' });
    const node = { version: [] as number[], frame: [] as number[] };
    const bin = { version: [] as number[], frame: [] as number[] };
    const dash = ['--size', '1000', '--workers', '2'];
    for (let i = 0; i < runs; i++) {
      node.version.push(wallMs(process.execPath, ['--max-semi-space-size=1', BIN, '--version']));
      bin.version.push(wallMs(exe, ['--version']));
      node.frame.push(await firstFrameMs(process.execPath, ['--max-semi-space-size=1', BIN, ...dash]));
      bin.frame.push(await firstFrameMs(exe, dash));
    }
    const p50 = (xs: number[]): number => round(percentile(xs, 50), 0);
    return {
      sizeMiB: round(statSync(exe).size / 2 ** 20, 1),
      firstExtractMs: round(firstExtractMs, 0),
      version: {
        binaryP50: p50(bin.version),
        packageP50: p50(node.version),
        ratio: round(p50(bin.version) / p50(node.version), 2),
      },
      firstFrame: {
        binaryP50: p50(bin.frame),
        packageP50: p50(node.frame),
        ratio: round(p50(bin.frame) / p50(node.frame), 2),
      },
    };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
