/**
 * Sends a signal to a process the user picked on screen, after checking it is still the same
 * process (pid and start time): between the sample and the key, the pid may have been reused by
 * someone else's process, and cowtop often runs as root.
 */
import { constants } from 'node:os';
import type { ProcReader } from './read';

/** The signals `k` offers, htop's F9 list cut to what a pre-fork server answers to. */
export const SIGNALS = [
  'SIGTERM',
  'SIGINT',
  'SIGHUP',
  'SIGKILL',
  'SIGQUIT',
  'SIGUSR1',
  'SIGUSR2',
  'SIGTTIN',
  'SIGTTOU',
  'SIGSTOP',
  'SIGCONT',
] as const;
export type SignalName = (typeof SIGNALS)[number];

/** What a signal does to the servers cowtop watches: shown beside it in the confirm box. */
export const SIGNAL_HELP: Record<SignalName, string> = {
  SIGTERM: 'stop (a gunicorn master replaces a worker)',
  SIGINT: 'interrupt (quick shutdown)',
  SIGHUP: 'hang up (gunicorn, uWSGI: reload workers)',
  SIGKILL: 'kill at once, no cleanup',
  SIGQUIT: 'quit (gunicorn: quick shutdown; Python: default)',
  SIGUSR1: 'user 1 (gunicorn: reopen logs; cowtop worker: gc.collect())',
  SIGUSR2: 'user 2 (gunicorn: upgrade the binary)',
  SIGTTIN: 'gunicorn master: one worker more',
  SIGTTOU: 'gunicorn master: one worker less',
  SIGSTOP: 'stop running (cannot be caught)',
  SIGCONT: 'continue after SIGSTOP',
};

/** Returns one line for the event log: what was done, or why not. */
export async function signalProcess(
  reader: Pick<ProcReader, 'stat'>,
  pid: number,
  starttime: number | null,
  signal: SignalName,
): Promise<{ ok: boolean; text: string }> {
  if (starttime !== null) {
    const st = await reader.stat(pid);
    if (!st.ok || st.value.starttime !== starttime)
      return { ok: false, text: `${signal} not sent: pid ${pid} is no longer the process that was shown` };
  }
  try {
    process.kill(pid, constants.signals[signal]);
    return { ok: true, text: `sent ${signal} to pid ${pid}` };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return {
      ok: false,
      text: `${signal} to pid ${pid} failed: ${code === 'EPERM' ? "not permitted (another user's process)" : code === 'ESRCH' ? 'it is gone' : (code ?? (err as Error).message)}`,
    };
  }
}
