/** What a read of a /proc file gives: the value, or why not (gone, denied, unreadable). */

export type ReadError = 'gone' | 'denied' | 'unreadable';

export type Read<T> = { ok: true; value: T } | { ok: false; error: ReadError; message: string };

export function classify(err: unknown): { error: ReadError; message: string } {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT' || code === 'ESRCH') return { error: 'gone', message: 'process exited' };
  if (code === 'EACCES' || code === 'EPERM') {
    return { error: 'denied', message: 'permission denied: run as the process owner or as root' };
  }
  return { error: 'unreadable', message: String((err as Error)?.message ?? err) };
}
