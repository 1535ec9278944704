/** Starts the experiment for any command: checks the interpreter, then spawns and awaits ready. */
import { Experiment, type LogLine } from '../experiment/experiment';
import type { ExperimentOptions } from '../experiment/options';
import type { ReadyMessage } from '../experiment/protocol';
import { probePython, PythonError, type PythonInfo } from '../experiment/python';
import { lifecycle, UsageError } from '../lifecycle';
import { checkMemory, measureBytesPerObject } from '../experiment/memory';
import type { ProcReader } from '../proc/read';

export interface StartChecks {
  force: boolean; // skip the memory guard
  reader: ProcReader;
}

export interface Started {
  experiment: Experiment;
  ready: ReadyMessage;
  python: PythonInfo;
}

export async function startExperiment(
  options: ExperimentOptions,
  checks: StartChecks,
  onLog?: (l: LogLine) => void,
  onSpawn?: (e: Experiment, python: PythonInfo) => void,
): Promise<Started> {
  // The probe and the memory guard's measurement each start the interpreter: side by side, not
  // one after the other (the start's largest cost before the heap; a pyenv shim makes each slower).
  const measuring = checks.force ? null : measureBytesPerObject(options.python);
  measuring?.catch(() => {}); // a failed probe says why first
  let python: PythonInfo;
  try {
    python = await probePython(options.python);
  } catch (err) {
    if (err instanceof PythonError) throw new UsageError(err.message);
    throw err;
  }
  if (measuring) {
    const verdict = checkMemory(await measuring, options.size, options.workers, await checks.reader.memoryRoom());
    if (!verdict.ok) throw new UsageError(verdict.message!);
  }
  // Spawned as the user named it: a wrapper script (env, a venv launcher) is theirs to keep.
  const experiment = lifecycle.track(new Experiment(options));
  onSpawn?.(experiment, python);
  const stderrTail: string[] = [];
  experiment.on('log', (l: LogLine) => {
    if (l.stream === 'stderr') stderrTail.splice(0, Math.max(0, stderrTail.length - 4), l.text);
    onLog?.(l);
  });
  try {
    const ready = await experiment.ready;
    return { experiment, ready, python };
  } catch (err) {
    const why = stderrTail.filter((l) => l.trim()).pop();
    throw new Error(`${(err as Error).message}${why ? `: ${why}` : ''}`);
  }
}
