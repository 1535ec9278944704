/** `cowtop run --compare`: two passes of the user's server under the same load, then the table. */
import { safeJson } from '../format/sanitize';
import { serverCompareMarkdown, serverCompareTable } from '../measure/server-compare-report';
import { summarize } from '../measure/server-compare';
import { serverPass, type ServerPass } from '../measure/server-pass';
import { ProcReader } from '../proc/read';
import { UsageError } from '../util/usage-error';
import type { Command } from './args';

type RunCompare = Extract<Command, { kind: 'run-compare' }>;

export async function runServerCompare(cmd: RunCompare): Promise<void> {
  const reader = new ProcReader(cmd.run.procRoot);
  if (!(await reader.available()))
    throw new UsageError(`cannot read ${cmd.run.procRoot}: run --compare needs Linux /proc`);
  const say = (t: string): void => void process.stderr.write(`cowtop: ${t}\n`);
  const passes: ServerPass[] = [];
  for (const freeze of [false, true]) passes.push(await serverPass(cmd.run, freeze, cmd.load, reader, say));
  const r = summarize(cmd, passes);
  process.stdout.write(
    `${
      cmd.format === 'json' ? safeJson(r) : cmd.format === 'markdown' ? serverCompareMarkdown(r) : serverCompareTable(r)
    }\n`,
  );
}
