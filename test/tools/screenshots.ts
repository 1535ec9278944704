/**
 * npm run screenshots: real runs of cowtop through the same pty and terminal emulator as the
 * end-to-end tests, saved as SVG in screenshots/.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { children, startGunicorn, stopGunicorn } from '../gunicorn';
import { makeCgroup, removeCgroup, spawnIn } from '../cgroups';
import { pythonDir } from '../../src/experiment/python-files';
import { FIXTURES, freePort, ROOT, sleep, waitUntil } from '../helpers';
import { sendRequests } from '../../src/measure/server-pass';
import { readTable, runInPty } from '../pty';
import { terminalSvg } from './svg';

interface Shot {
  file: string;
  title: string;
  args: string[] | (() => Promise<{ args: string[]; env?: NodeJS.ProcessEnv; stop(): Promise<void> }>);
  cols: number;
  rows: number;
  /** Waits until the screen shows what the picture is about, then optionally presses keys. */
  ready(run: ReturnType<typeof runInPty>): Promise<void>;
}

const BIG = [
  '--size',
  '1000000',
  '--workers',
  '4',
  '--workload',
  'collect',
  '--collect-every',
  '4',
  '--interval',
  '500',
];

async function afterCollections(run: ReturnType<typeof runInPty>, n: number): Promise<void> {
  await run.waitFor(
    (t) =>
      readTable(t.split('\n')).filter((r) => r.ROLE.startsWith('worker') && r['LAST GC']?.startsWith('g2')).length ===
      4,
    60_000,
  );
  await sleep(n * 4000 + 1200);
}

let runPort = 0; // the port the run shot's gunicorn listens on

const SHOTS: Shot[] = [
  {
    file: 'no-freeze-after-collections.svg',
    title: 'cowtop --workload collect (no freeze): each collection copies the heap into every worker',
    args: BIG,
    cols: 160,
    rows: 48,
    ready: (run) => afterCollections(run, 2),
  },
  {
    file: 'freeze-after-collections.svg',
    title: 'cowtop --workload collect --freeze: the same collections, and the pages stay shared',
    args: [...BIG, '--freeze'],
    cols: 160,
    rows: 48,
    ready: (run) => afterCollections(run, 2),
  },
  {
    file: 'freeze-toggle-80x24.svg',
    title: 'cowtop at 80x24: g, then f (re-fork frozen), then g again',
    args: ['--size', '1000000', '--workers', '3', '--interval', '500'],
    cols: 80,
    rows: 24,
    async ready(run) {
      await run.waitFor(/worker 3\s+\d+\s+[\d.]+/, 60_000);
      await sleep(1500);
      run.press('g');
      await sleep(4000);
      run.press('f');
      await run.waitFor(/FREEZE ON/, 5000);
      await sleep(1500);
      run.press('g');
      await sleep(3000);
    },
  },
  {
    file: 'lang-c-80x24.svg',
    title: 'LANG=C at 80x24: the same screen in ASCII (S USS, ^ for the sort, * plots), nothing shown as ?',
    async args() {
      return {
        args: ['--size', '1000000', '--workers', '3', '--interval', '500'],
        env: { LANG: 'C', LC_ALL: 'C' },
        stop: async () => {},
      };
    },
    cols: 80,
    rows: 24,
    async ready(run) {
      await run.waitFor(/worker 3\s+\d+\s+[\d.]+/, 60_000);
      await sleep(1500);
      run.press('g');
      await sleep(4000);
    },
  },
  {
    file: 'sixteen-workers-scrolled-80x24.svg',
    title: 'cowtop --workers 16 at 80x24: the table scrolls with the selection (End), and says which rows it shows',
    args: ['--size', '200000', '--workers', '16', '--interval', '500'],
    cols: 80,
    rows: 24,
    async ready(run) {
      await run.waitFor(/rows 1-\d+(?: of |\/)17/, 60_000);
      await sleep(1500);
      run.press('\x1b[F'); // End
      await run.waitFor(/rows \d+-17(?: of |\/)17/, 5000);
      await sleep(600);
    },
  },
  {
    file: 'detail-pane.svg',
    title: 'cowtop: Enter on a worker shows its smaps_rollup, faults and gc state in full',
    args: ['--size', '1000000', '--workers', '3', '--interval', '500'],
    cols: 120,
    rows: 40,
    async ready(run) {
      await run.waitFor(/worker 3\s+\d+\s+[\d.]+/, 60_000);
      run.press('g');
      await sleep(3000);
      run.press('\x1b[B');
      await sleep(300);
      run.press('\x1b[B');
      await sleep(300);
      run.press('\r');
      await run.waitFor(/Esc closes/, 5000);
      await sleep(1200);
    },
  },
  {
    file: 'attach-gunicorn-tree.svg',
    title: 'cowtop attach to gunicorn --preload with the gc agent: COMMAND column, t for the tree view',
    async args() {
      const agentDir = mkdtempSync(join(tmpdir(), 'cowtop-agent-'));
      const g = await startGunicorn('gunicorn.nofreeze.conf.py', agentDir);
      return {
        args: ['attach', String(g.master), '--interval', '500'],
        env: { COWTOP_AGENT_DIR: agentDir },
        stop: () => stopGunicorn(g),
      };
    },
    cols: 140,
    rows: 32,
    async ready(run) {
      await run.waitFor(/gc agent 4\/4/, 30_000);
      run.press('t');
      await run.waitFor(/└─ /, 5000);
      await sleep(2500);
    },
  },
  {
    file: 'attach-cgroup.svg',
    title:
      'cowtop attach to gunicorn in a Docker-shaped v1 memory cgroup with a 256 MiB limit: the CGROUP line, its limit and headroom',
    async args() {
      const agentDir = mkdtempSync(join(tmpdir(), 'cowtop-agent-'));
      const cg = makeCgroup(256 * 2 ** 20, 'leaf');
      const app = join(FIXTURES, 'gunicorn');
      const proc = spawnIn(
        cg,
        [
          '/usr/bin/gunicorn',
          '-c',
          join(app, 'gunicorn.nofreeze.conf.py'),
          '--bind',
          `127.0.0.1:${await freePort()}`,
          '--chdir',
          app,
          'app:app',
        ],
        'ignore',
        { ...process.env, PYTHONPATH: `${pythonDir()}:${app}`, COWTOP_AGENT_DIR: agentDir },
      );
      await waitUntil(() => children(proc.pid!).length === 3, 60_000, 'gunicorn in its cgroup');
      return {
        args: ['attach', String(proc.pid), '--interval', '500'],
        env: { COWTOP_AGENT_DIR: agentDir },
        stop: () => removeCgroup(cg, proc),
      };
    },
    cols: 120,
    rows: 30,
    async ready(run) {
      await run.waitFor(/gc agent 4\/4/, 30_000);
      await run.waitFor(/CGROUP\s+\[[#.]+\] .+ of 256 MiB .*room for \d+ more/, 20_000);
      await sleep(2500);
    },
  },
  {
    file: 'run-gunicorn-freeze.svg',
    title:
      'cowtop run --freeze -- gunicorn --preload: the recipe injected, 2,000 requests later the workers still share the catalogue',
    async args() {
      runPort = await freePort();
      return {
        args: [
          'run',
          '--freeze',
          '--interval',
          '500',
          '--',
          '/usr/bin/gunicorn',
          '--preload',
          '-w',
          '3',
          '-b',
          `127.0.0.1:${runPort}`,
          '--chdir',
          join(FIXTURES, 'gunicorn'),
          'app:app',
        ],
        stop: async () => {},
      };
    },
    cols: 140,
    rows: 36,
    async ready(run) {
      await run.waitFor(/gc agent 4\/4/, 30_000);
      await sendRequests(`http://127.0.0.1:${runPort}/report`, 2000, 3);
      await sleep(3500);
    },
  },
  {
    file: 'map-before-g.svg',
    title: "cowtop --map: the parent's heap right after fork, every page still shared by the 4 workers",
    args: ['--size', '1000000', '--workers', '4', '--interval', '500', '--map'],
    cols: 120,
    rows: 40,
    async ready(run) {
      await run.waitFor(/hot \d+%/, 60_000);
      await sleep(1500);
    },
  },
  {
    file: 'map-after-g.svg',
    title: 'cowtop --map after g: one gc.collect() in each worker copied most of the heap into every one of them',
    args: ['--size', '1000000', '--workers', '4', '--interval', '500', '--map'],
    cols: 120,
    rows: 40,
    async ready(run) {
      await run.waitFor(/hot \d+%/, 60_000);
      run.press('g');
      await run.waitFor((t) => Number(/hot (\d+)%/.exec(t)?.[1] ?? 0) > 50, 30_000);
      await sleep(2500);
    },
  },
  {
    file: 'help.svg',
    title: 'cowtop: ? opens the help, made from the same key table as the footer',
    args: ['--size', '200000', '--workers', '2'],
    cols: 120,
    rows: 40,
    async ready(run) {
      await run.waitFor(/worker 2\s+\d+\s+[\d.]+/, 60_000);
      run.press('?');
      await run.waitFor(/help: .*any other key closes/, 5000);
    },
  },
];

(async () => {
  const dir = join(ROOT, 'screenshots');
  mkdirSync(dir, { recursive: true });
  const only = process.argv[2];
  for (const shot of SHOTS.filter((s) => !only || s.file.includes(only))) {
    const setup =
      typeof shot.args === 'function' ? await shot.args() : { args: shot.args, env: undefined, stop: async () => {} };
    const run = runInPty(setup.args, { cols: shot.cols, rows: shot.rows, env: setup.env });
    try {
      await shot.ready(run);
      await run.settle();
      writeFileSync(join(dir, shot.file), terminalSvg(run.term, shot.title));
      console.log(`screenshots/${shot.file}`);
    } finally {
      run.press('q');
      const again = setTimeout(() => run.press('q'), 1000); // the first q closed an overlay
      await run.exited;
      clearTimeout(again);
      await setup.stop();
    }
  }
})();
