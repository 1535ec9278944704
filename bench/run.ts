/**
 * npm run bench [names...]: runs the benchmarks and prints one JSON line each (names below;
 * all by default, about 35 minutes). Results go in bench/RESULTS.md by hand, with the
 * machine and the date: numbers from a noisy shared machine need a reader's judgement.
 */
import { keyLatency } from './key-latency';
import { soak } from './soak';
import { overhead } from './overhead';
import { freezeToggle } from './toggle';
import { scale, scaleKeys } from './scale';
import { memoryHour } from './memory';
import { copyMapCost } from './copy-map';
import { agentOverhead } from './agent-overhead';
import { staleness } from './staleness';
import { startByPath, startTimes } from './start';
import { binary } from './binary';

const BENCHES: Record<string, () => Promise<unknown>> = {
  latency: () => keyLatency(['--size', '1000000', '--workers', '4']),
  'latency-collect': () =>
    keyLatency(['--size', '1000000', '--workers', '4', '--workload', 'collect', '--collect-every', '2']),
  soak: () => soak(Number(process.env.BENCH_SOAK_MINUTES ?? 10)),
  'overhead-idle': () => overhead('idle-frozen'),
  'overhead-idle-steady': () => overhead('idle-frozen', 60, 20),
  // Issue 14, target 2's second part: the first 20 s after the fork, while the workers settle.
  'overhead-idle-first20': () => overhead('idle-frozen', 20, 0, 0.1),
  'overhead-collect': () => overhead('collect'),
  'latency-big': () => keyLatency(['--size', '2000000', '--workers', '8', '--freeze']),
  'latency-big-collect': () => keyLatency(['--size', '2000000', '--workers', '8', '--workload', 'collect']),
  toggle: () => freezeToggle(),
  scale: () => scale(),
  // How the cost grows with the tree (issue 14, target 4): 100 to 2,000 processes, 20 s each.
  'scale-curve': async () => {
    const rows = [];
    for (const n of [100, 500, 1000, 2000]) rows.push(await scale(n - 1, 20));
    return rows;
  },
  // Key-to-screen on the attach dashboard of 2,000 processes, each faulting every second (target 4).
  'latency-2000': () => scaleKeys(2000),
  memory: () => memoryHour(),
  // The hour itself, at 1 Hz (issue 14, target 6).
  'memory-hour': () => memoryHour(3600, 1000),
  map: () => copyMapCost(),
  // Key-to-screen with the map pane open on the 1+8 x 2,000,000 tree: the pass must not delay keys.
  // Outside sharers come and go; how late does a record show the tree's new PSS (issue 14: 5 s)?
  staleness: () => staleness(),
  // Requests per second of gunicorn with and without the gc agent (issue 13: under 2%).
  agent: () => agentOverhead(),
  // From exec to the first frame, and to the first figures past the heap build (issue 14, target 5).
  start: () => startTimes(),
  // The same with the interpreter's own path: what a version manager's shim adds (target 5).
  'start-by-path': () => startByPath(),
  // The single executable: its size, its start against the package's (issue 31, part 4).
  binary: () => binary(),
  'latency-map': () => keyLatency(['--size', '2000000', '--workers', '8', '--map'], 60, /hot \d+%/),
};

(async () => {
  const names = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(BENCHES);
  for (const name of names) {
    const run = BENCHES[name];
    if (!run) {
      console.error(`unknown benchmark ${name}; known: ${Object.keys(BENCHES).join(', ')}`);
      process.exit(2);
    }
    const started = Date.now();
    const result = await run();
    console.log(JSON.stringify({ bench: name, seconds: Math.round((Date.now() - started) / 1000), result }));
  }
})();
