/** How a process ended, in the words every view uses: its signal's name, else its exit code. */
import type { ExitMessage } from './protocol';

/** 'SIGKILL', 'signal 9', 'code 1' (or codeWord 'exit code'), or null when nothing is known. */
export function exitReason(e: Pick<ExitMessage, 'signalName' | 'signal' | 'code'>, codeWord = 'code'): string | null {
  if (e.signalName !== undefined) return e.signalName;
  if (e.signal !== undefined && e.signal !== null) return `signal ${e.signal}`;
  if (e.code !== undefined && e.code !== null) return `${codeWord} ${e.code}`;
  return null;
}
