/** `cowtop compare --strategies`: runs the strategies and prints their table (or JSON, Markdown). */
import { safeJson } from '../format/sanitize';
import { strategiesMarkdown, strategiesTable, withVerdicts } from '../measure/strategies-report';
import { runStrategies } from '../measure/strategies';
import type { Command } from './args';

export async function runStrategiesCommand(cmd: Extract<Command, { kind: 'compare' }>): Promise<void> {
  const r = withVerdicts(await runStrategies(cmd));
  process.stdout.write(
    (cmd.format === 'json' ? safeJson(r) : cmd.format === 'markdown' ? strategiesMarkdown(r) : strategiesTable(r)) +
      '\n',
  );
}
