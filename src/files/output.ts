/**
 * Files cowtop writes (--output, --record, the export key). They are often in /tmp, where
 * another user can plant a name first: a symbolic link to a file of ours (protected_symlinks is
 * off on some machines), or a file of theirs. So the last component is never followed, another
 * user's file is never taken over, and a file is truncated only once it is known to be ours.
 */
import { constants, fstatSync, ftruncateSync, lstatSync, openSync, closeSync, accessSync, type Stats } from 'node:fs';
import * as path from 'node:path';

export class OutputError extends Error {
  constructor(readonly file: string, readonly reason: string) {
    super(`cannot write ${file}: ${reason}`);
  }
}

const code = (err: unknown): string => (err as NodeJS.ErrnoException).code ?? (err as Error).message;

function existing(file: string): Stats | null {
  try {
    return lstatSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new OutputError(file, code(err));
  }
}

/** What would stop a write to file, found without creating or truncating anything. */
export function checkOutput(file: string): void {
  const st = existing(file);
  if (st?.isSymbolicLink()) throw new OutputError(file, 'it is a symbolic link (not followed)');
  if (st?.isDirectory()) throw new OutputError(file, 'EISDIR');
  const uid = process.geteuid?.();
  if (st?.isFile() && uid !== undefined && st.uid !== uid) throw new OutputError(file, `it belongs to uid ${st.uid} (not overwritten)`);
  try {
    accessSync(st ? file : path.dirname(path.resolve(file)), constants.W_OK);
  } catch (err) {
    throw new OutputError(file, code(err));
  }
}

/** Opens file for writing from the start, as checkOutput allows; returns the descriptor. */
export function openOutput(file: string): number {
  checkOutput(file);
  const before = existing(file);
  let fd: number;
  try {
    // O_EXCL when it did not exist: a name planted since then is refused, not written into.
    fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | (before ? 0 : constants.O_EXCL), 0o644);
  } catch (err) {
    throw new OutputError(file, code(err) === 'ELOOP' ? 'it is a symbolic link (not followed)' : code(err));
  }
  const st = fstatSync(fd);
  if (before && (st.ino !== before.ino || st.dev !== before.dev)) {
    closeSync(fd);
    throw new OutputError(file, 'it was replaced while being opened');
  }
  if (st.isFile()) ftruncateSync(fd, 0);
  return fd;
}
