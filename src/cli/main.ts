/** Entry point: parse, run the command, and let the lifecycle own every way out. */
import { lifecycle, UsageError } from '../lifecycle';
import { parseArgs, type Prometheus } from './args';
import type { Monitor } from '../session/monitor';
import { MetricsServer } from '../export/prometheus';
import type { Snapshot } from '../sample/snapshot';
import { runBatch } from './batch';
import { runCompare } from './compare';
import { Session } from '../session/experiment-session';
import { AttachSession } from '../session/attach-session';
import { AGENT_DIR } from '../experiment/options';

/** --prometheus: serve the monitor's snapshots as OpenMetrics. */
async function withMetrics(monitor: Monitor, p: Prometheus | null): Promise<Monitor> {
  if (!p) return monitor;
  const server = new MetricsServer(p.host, p.port);
  await server.start();
  lifecycle.onExit(() => server.close());
  monitor.on('snapshot', (s: Snapshot) => server.update(s));
  return monitor;
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  lifecycle.install();
  try {
    const cmd = await parseArgs(argv);
    switch (cmd.kind) {
      case 'batch':
        await runBatch(await withMetrics(new Session(cmd), cmd.prometheus), cmd, cmd.procRoot);
        return;
      case 'attach': {
        const monitor = await withMetrics(new AttachSession(cmd), cmd.prometheus);
        if (cmd.batch) {
          await runBatch(monitor, cmd.batch, cmd.procRoot);
          return;
        }
        const { runDashboard } = await import('../ui/dashboard.js');
        await runDashboard(monitor, cmd.screen);
        return;
      }
      case 'agent-path':
        process.stdout.write(AGENT_DIR + '\n');
        await lifecycle.exit(0);
        return;
      case 'compare':
        await runCompare(cmd);
        await lifecycle.exit(0);
        return;
      case 'dashboard': {
        // The dashboard is loaded only when needed: batch and compare never pay for blessed.
        const { runDashboard } = await import('../ui/dashboard.js');
        await runDashboard(await withMetrics(new Session(cmd), cmd.prometheus), cmd.screen);
        return;
      }
    }
  } catch (err) {
    if (err instanceof UsageError) await lifecycle.exit(2, `cowtop: ${err.message}`);
    await lifecycle.exit(1, `cowtop: ${(err as Error).message}`);
  }
}
