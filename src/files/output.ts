/**
 * Files cowtop writes (--output, --record, the export key). They are often in /tmp, where
 * another user can plant a name first: a symbolic link to a file of ours (protected_symlinks is
 * off on some machines), a hard link to one (protected_hardlinks too), a FIFO that would block
 * the open forever, or a file of theirs. So only a regular file is written: the last component
 * is never followed, the open never blocks, a file with other names (hard links) or of another
 * owner is never written through (Linux's protected_regular refuses the latter in sticky
 * directories; here it is refused everywhere), and a file is truncated only once it is known to
 * be ours.
 */
import {
  closeSync,
  constants,
  fstatSync,
  ftruncateSync,
  lstatSync,
  openSync,
  accessSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import * as path from 'node:path';

export class OutputError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
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

/** Why st is not a file cowtop may write, or null when it is. */
function refusal(st: Stats): string | null {
  if (st.isSymbolicLink()) return 'it is a symbolic link (not followed)';
  if (st.isDirectory()) return 'EISDIR';
  if (st.isFIFO()) return 'it is a FIFO (only a regular file is written)';
  if (st.isSocket()) return 'it is a socket (only a regular file is written)';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'it is a device (only a regular file is written)';
  if (!st.isFile()) return 'it is not a regular file';
  const uid = process.geteuid?.();
  if (uid !== undefined && st.uid !== uid) return `it belongs to uid ${st.uid} (not overwritten)`;
  if (st.nlink > 1) return `it has ${st.nlink} hard links (not written through)`;
  return null;
}

const isDevNull = (file: string): boolean => path.resolve(file) === '/dev/null';

/** What would stop a write to file, found without creating or truncating anything. */
export function checkOutput(file: string): void {
  if (isDevNull(file)) return;
  const st = existing(file);
  const why = st && refusal(st);
  if (why) throw new OutputError(file, why);
  try {
    accessSync(st ? file : path.dirname(path.resolve(file)), constants.W_OK);
  } catch (err) {
    throw new OutputError(file, code(err));
  }
}

export interface Output {
  fd: number;
  /** Whether this open made the file: a write that fails then removes it again. */
  created: boolean;
}

/** Opens file for writing from the start, as checkOutput allows. */
export function openOutputFile(file: string): Output {
  // A sidecar that only serves metrics: --batch --output /dev/null, the one device written to.
  if (isDevNull(file)) return { fd: openSync('/dev/null', constants.O_WRONLY), created: false };
  checkOutput(file);
  const before = existing(file);
  let fd: number;
  try {
    // O_EXCL when it did not exist: a name planted since then is refused, not written into.
    // O_NONBLOCK: a FIFO planted since then fails (ENXIO) or opens at once, never waits.
    fd = openSync(
      file,
      constants.O_WRONLY |
        constants.O_CREAT |
        constants.O_NOFOLLOW |
        constants.O_NONBLOCK |
        (before ? 0 : constants.O_EXCL),
      0o644,
    );
  } catch (err) {
    const c = code(err);
    throw new OutputError(
      file,
      c === 'ELOOP'
        ? 'it is a symbolic link (not followed)'
        : c === 'ENXIO'
          ? 'it is a FIFO (only a regular file is written)'
          : c,
    );
  }
  const st = fstatSync(fd);
  const why =
    refusal(st) ??
    (before && (st.ino !== before.ino || st.dev !== before.dev) ? 'it was replaced while being opened' : null);
  if (why) {
    closeSync(fd);
    throw new OutputError(file, why);
  }
  ftruncateSync(fd, 0);
  return { fd, created: !before };
}

/** openOutputFile's descriptor alone, for a file that is written as it goes (--output, --record). */
export function openOutput(file: string): number {
  return openOutputFile(file).fd;
}

/** Writes text as the whole of file; a write that fails leaves no file it created (no 0-byte export). */
export function writeOutput(file: string, text: string): void {
  const out = openOutputFile(file);
  try {
    const buf = Buffer.from(text);
    for (let off = 0; off < buf.length; ) off += writeSync(out.fd, buf, off);
  } catch (err) {
    if (out.created) {
      try {
        unlinkSync(file);
      } catch {
        // gone already
      }
    }
    throw new OutputError(file, code(err));
  } finally {
    closeSync(out.fd);
  }
}
