import type { Command } from '../cli/args';
import { runCompare } from '../cli/compare';
import { lifecycle } from '../lifecycle';

/** Until the dashboard lands, plain `cowtop` runs the comparison. */
export async function runDashboard(cmd: Extract<Command, { kind: 'dashboard' }>): Promise<void> {
  await runCompare({ kind: 'compare', experiment: cmd.experiment, format: 'table' });
  await lifecycle.exit(0);
}
