/**
 * Starts the experiment for any command. One interpreter start does it all: the experiment's
 * first line says which Python it is (checked here), then it measures its first objects and
 * waits while the memory guard judges them, then builds the heap and says it is ready.
 */
import { Experiment, ExperimentExited, type LogLine } from '../experiment/experiment';
import type { ExperimentOptions } from '../experiment/options';
import type { ReadyMessage } from '../experiment/protocol';
import { checkPython, PythonError, startError, type PythonInfo } from '../experiment/python';
import { lifecycle } from '../lifecycle';
import { UsageError } from '../util/usage-error';
import { checkMemory } from '../experiment/memory';
import type { ProcReader } from '../proc/read';

const HELLO_TIMEOUT_MS = 15_000; // a cold pyenv shim on a busy machine takes seconds, not tens

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
  // Spawned as the user named it: a wrapper script (env, a venv launcher) is theirs to keep.
  const experiment = lifecycle.track(new Experiment({ ...options, guard: !checks.force }));
  const stderrTail: string[] = [];
  experiment.on('log', (l: LogLine) => {
    if (l.stream === 'stderr') stderrTail.splice(0, Math.max(0, stderrTail.length - 4), l.text);
    onLog?.(l);
  });
  const refuse = async (err: Error): Promise<never> => {
    await lifecycle.untrack(experiment);
    throw err;
  };
  const room = checks.force ? null : checks.reader.memoryRoom();
  room?.catch(() => {});
  let python: PythonInfo;
  try {
    python = checkPython(options.python, await withTimeout(experiment.hello, HELLO_TIMEOUT_MS));
  } catch (err) {
    const notStarted = err instanceof ExperimentExited ? startError(options.python, err.code) : null;
    if (notStarted) return refuse(new UsageError(notStarted.message));
    if (err instanceof PythonError) return refuse(new UsageError(err.message));
    const late = err instanceof ExperimentExited ? '' : ` (${(err as Error).message})`;
    return refuse(new UsageError(`not a working Python interpreter: ${options.python}${late}${lastWords(stderrTail)}`));
  }
  try {
    if (room) {
      const measured = await experiment.measured;
      const verdict = checkMemory(measured.bytesPerObject, options.size, options.workers, await room);
      if (!verdict.ok) return refuse(new UsageError(verdict.message!));
      experiment.send({ cmd: 'build' });
    }
    // Only now is it the caller's: an experiment refused above was never theirs to watch.
    onSpawn?.(experiment, python);
    const ready = await experiment.ready;
    return { experiment, ready, python };
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new Error(`${(err as Error).message}${lastWords(stderrTail)}`);
  }
}

const lastWords = (stderrTail: string[]): string => {
  const why = stderrTail.filter((l) => l.trim()).pop();
  return why ? `: ${why}` : '';
};

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${ms / 1000} s`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
