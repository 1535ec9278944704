/** Entry point: parse, run the command, and let the lifecycle own every way out. */
import { lifecycle } from '../lifecycle';
import { UsageError } from '../util/usage-error';
import { parseArgs, type BatchOptions, type Prometheus } from './args';
import type { DashboardOptions } from '../ui/dashboard-options';
import type { Monitor } from '../session/monitor';
import type { Snapshot } from '../sample/snapshot';
import { Session } from '../session/experiment-session';
import { pythonDir } from '../experiment/python-files';

/** --prometheus: serve the monitor's snapshots as OpenMetrics. */
async function withMetrics(monitor: Monitor, p: Prometheus | null, name: string): Promise<Monitor> {
  if (!p) return monitor;
  // prom-client is loaded only when asked for: it is a tenth of a second of every start.
  const { MetricsServer } = require('../export/prometheus.js') as typeof import('../export/prometheus.js');
  const server = new MetricsServer(p.host, p.port, name);
  await server.start();
  lifecycle.onExit(() => server.close());
  monitor.on('snapshot', (s: Snapshot) => server.update(s));
  // Copied bytes come from the copy map: read in the background, as attach's dashboard does.
  monitor.wantMap(true, 10_000);
  return monitor;
}

// Each command loads what it needs when it runs: a start pays only for its own (issue 14, target
// 5). By require, not import(): import() of a CommonJS file goes through the ESM loader, which
// parses the source again to find its exports.
const runBatch: typeof import('./batch').runBatch = (...a) =>
  (require('./batch.js') as typeof import('./batch.js')).runBatch(...a);

/** attach, and run (which is attach to a tree it started): a dashboard or --batch. */
async function watch(
  monitor: Monitor,
  cmd: { batch: BatchOptions | null; screen: DashboardOptions; prometheus: Prometheus | null; procRoot: string },
  name: string,
): Promise<void> {
  await withMetrics(monitor, cmd.prometheus, name);
  if (cmd.batch) {
    await runBatch(monitor, cmd.batch, cmd.procRoot);
    return;
  }
  const { runDashboard } = require('../ui/dashboard.js') as typeof import('../ui/dashboard.js');
  await runDashboard(monitor, cmd.screen);
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  lifecycle.install();
  try {
    const cmd = await parseArgs(argv);
    switch (cmd.kind) {
      case 'batch':
        await runBatch(await withMetrics(new Session(cmd), cmd.prometheus, 'experiment'), cmd, cmd.procRoot);
        return;
      case 'attach': {
        const { AttachSession } =
          require('../session/attach-session.js') as typeof import('../session/attach-session.js');
        await watch(new AttachSession(cmd), cmd, cmd.name);
        return;
      }
      case 'run': {
        const { RunSession } = require('../session/run-session.js') as typeof import('../session/run-session.js');
        await watch(new RunSession(cmd.run), { ...cmd, procRoot: cmd.run.procRoot }, cmd.run.name ?? 'server');
        return;
      }
      case 'run-compare': {
        const { runServerCompare } = require('./run-compare.js') as typeof import('./run-compare.js');
        await runServerCompare(cmd);
        await lifecycle.exit(0);
        return;
      }
      case 'agent-path':
        process.stdout.write(`${pythonDir()}\n`);
        await lifecycle.exit(0);
        return;
      case 'agent-copy': {
        const { copyAgent } =
          require('../experiment/python-files.js') as typeof import('../experiment/python-files.js');
        const { resolve } = require('node:path') as typeof import('node:path');
        copyAgent(cmd.dest);
        process.stdout.write(`${resolve(cmd.dest)}\n`);
        await lifecycle.exit(0);
        return;
      }
      case 'compare': {
        const { runCompare } = require('./compare.js') as typeof import('./compare.js');
        await runCompare(cmd);
        await lifecycle.exit(0);
        return;
      }
      case 'dashboard': {
        // The dashboard is loaded only when needed: batch and compare never pay for blessed.
        const { runDashboard } = require('../ui/dashboard.js') as typeof import('../ui/dashboard.js');
        await runDashboard(
          await withMetrics(new Session({ ...cmd, sampleBuild: true }), cmd.prometheus, 'experiment'),
          cmd.screen,
        );
        return;
      }
    }
  } catch (err) {
    if (err instanceof UsageError) await lifecycle.exit(2, `cowtop: ${err.message}`);
    await lifecycle.exit(1, `cowtop: ${(err as Error).message}`);
  }
}
