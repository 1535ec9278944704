/** Entry point: parse, run the command, and let the lifecycle own every way out. */
import { lifecycle, UsageError } from '../lifecycle';
import { parseArgs } from './args';
import { runBatch } from './batch';
import { runCompare } from './compare';

export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  lifecycle.install();
  try {
    const cmd = await parseArgs(argv);
    switch (cmd.kind) {
      case 'batch':
        await runBatch(cmd);
        return;
      case 'compare':
        await runCompare(cmd);
        await lifecycle.exit(0);
        return;
      case 'dashboard': {
        // The dashboard is loaded only when needed: batch and compare never pay for blessed.
        const { runDashboard } = await import('../ui/dashboard.js');
        await runDashboard(cmd);
        return;
      }
    }
  } catch (err) {
    if (err instanceof UsageError) await lifecycle.exit(2, `cowtop: ${err.message}`);
    await lifecycle.exit(1, `cowtop: ${(err as Error).message}`);
  }
}
