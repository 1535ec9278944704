/** How a process ended, in the words every view uses: its signal's name, else its exit code. */
import type { ExitMessage } from './protocol';

/** Said after how it ended: who asked for it, or that nobody did. */
export function exitNote(e: Pick<ExitMessage, 'requested' | 'cause'>): string {
  if (e.cause) return ` (${e.cause})`;
  return e.requested ? '' : ' (unexpected)';
}

/** 'SIGKILL', 'signal 9', 'code 1' (or codeWord 'exit code'), or null when nothing is known. */
export function exitReason(e: Pick<ExitMessage, 'signalName' | 'signal' | 'code'>, codeWord = 'code'): string | null {
  if (e.signalName !== undefined) return e.signalName;
  if (e.signal !== undefined && e.signal !== null) return `signal ${e.signal}`;
  if (e.code !== undefined && e.code !== null) return `${codeWord} ${e.code}`;
  return null;
}

/**
 * Unexpected means nobody asked: the parent's own stops are requested already; a signal cowtop
 * sent (expected, by pid: taken from it here) and a normal exit (code 0, a pool child done) are
 * expected too, with their cause.
 */
export function explainExit(r: ExitMessage, expected: Map<number, string>): ExitMessage {
  if (r.requested) return r;
  const cause = expected.get(r.pid) ?? (r.code === 0 && r.signal === undefined ? 'exited normally' : null);
  expected.delete(r.pid);
  return cause ? { ...r, requested: true, cause } : r;
}
