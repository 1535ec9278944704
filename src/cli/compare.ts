/** `cowtop compare`: runs what was asked (the experiment, --strategies or --matrix) and prints it. */
import { safeJson } from '../format/sanitize';
import { compareMarkdown, compareTable } from '../measure/compare-report';
import { runCompareExperiment } from '../measure/compare';
import { UsageError } from '../util/usage-error';
import type { Command } from './args';

export async function runCompare(cmd: Extract<Command, { kind: 'compare' }>): Promise<void> {
  if (cmd.strategies) {
    const { runStrategiesCommand } = require('./strategies.js') as typeof import('./strategies.js');
    await runStrategiesCommand(cmd);
    return;
  }
  if (cmd.experiment.gc && cmd.experiment.gc !== 'default')
    throw new UsageError(
      'compare runs without and then with gc.freeze(); --gc goes with --strategies (for its threshold run)',
    );
  if (cmd.experiment.enabler) throw new UsageError('--enabler goes with compare --strategies');
  if (cmd.matrix) {
    const { runMatrix } = require('./matrix.js') as typeof import('./matrix.js');
    await runMatrix(cmd);
    return;
  }
  const result = await runCompareExperiment(cmd);
  const text =
    cmd.format === 'json'
      ? safeJson(result)
      : cmd.format === 'markdown'
        ? compareMarkdown(result)
        : compareTable(result);
  process.stdout.write(`${text}\n`);
}
