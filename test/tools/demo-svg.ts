/**
 * npm run demo-svg: records `cowtop demo` in a real pty (the tour ends by itself on the verdict)
 * and turns the cast into the animated SVG the README shows, with svg-term-cli (fetched by npx,
 * pinned, so that it costs nothing to a plain npm install).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers';
import { runInPty } from '../pty';

const COLS = 110;
const ROWS = 32;

(async () => {
  const cast = join(mkdtempSync(join(tmpdir(), 'cowtop-demo-')), 'demo.cast');
  const speed = process.env.DEMO_SPEED ?? '1.5';
  const run = runInPty(
    [
      'demo',
      '--size',
      '1000000',
      '--workers',
      '4',
      '--collect-every',
      '2',
      '--interval',
      '500',
      '--speed',
      speed,
      '--record',
      cast,
    ],
    { cols: COLS, rows: ROWS },
  );
  const e = await run.exited;
  if (e.exitCode !== 0) throw new Error(`cowtop demo exited ${e.exitCode}:\n${run.text()}`);
  const out = join(ROOT, 'screenshots', 'demo.svg');
  const r = spawnSync(
    'npx',
    [
      '--yes',
      'svg-term-cli@2.1.1',
      '--in',
      cast,
      '--out',
      out,
      '--window',
      '--width',
      String(COLS),
      '--height',
      String(ROWS),
    ],
    { stdio: 'inherit' },
  );
  if (r.status !== 0) throw new Error(`svg-term-cli failed (${r.status ?? r.signal})`);
  console.log(`screenshots/demo.svg from ${cast}`);
})().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
