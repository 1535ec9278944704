// Manual look at the dashboard: node dist/test/look.js COLS ROWS [args...]
import { runInPty } from './pty';
import { sleep } from './helpers';
(async () => {
  const [c, r, ...args] = process.argv.slice(2);
  const run = runInPty(args, { cols: Number(c), rows: Number(r) });
  await sleep(Number(process.env.WAIT ?? 5000));
  for (const k of (process.env.KEYS ?? '').split(',').filter(Boolean)) { run.press(k); await sleep(Number(process.env.KEYWAIT ?? 1500)); }
  await run.settle();
  console.log(run.text());
  run.press('q');
  const e = await run.exited;
  console.log('exit', e);
})();
