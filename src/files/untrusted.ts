/**
 * Reading files that another user can write (the gc agent's, in /tmp). Nothing is trusted by
 * its name: a directory must be a real one, not a link or a mount, owned by the user it is for
 * and writable by nobody else; a file is opened without following links and without blocking
 * (a FIFO must not hang a thread-pool thread), must be a regular file of that owner, and is read
 * to a fixed cap at most.
 */
import { constants, promises as fs, type Stats } from 'node:fs';
import * as path from 'node:path';

export type Verdict = { ok: true } | { ok: false; why: string };

function kind(st: Stats): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isDirectory()) return 'a directory';
  return 'not a regular file';
}

const octal = (mode: number): string => (mode & 0o7777).toString(8).padStart(4, '0');

/** null: there is no such directory (nothing to read, nothing to say). */
export async function checkPrivateDir(dir: string, uid: number): Promise<Verdict | null> {
  let st: Stats;
  try {
    st = await fs.lstat(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return { ok: false, why: `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  if (!st.isDirectory()) return { ok: false, why: `is ${kind(st)}, not a directory` };
  if (st.uid !== uid) return { ok: false, why: `is owned by uid ${st.uid}, not by uid ${uid}` };
  if (st.mode & 0o022) return { ok: false, why: `is writable by other users (mode ${octal(st.mode)})` };
  // Something mounted over it (a FUSE file system) could make every read hang.
  const parent = await fs.lstat(path.dirname(dir)).catch(() => null);
  if (parent && parent.dev !== st.dev) return { ok: false, why: 'is a mount point' };
  return { ok: true };
}

export type FileRead = { ok: true; text: string } | { ok: false; missing: boolean; why: string };

/** Reads a small regular file owned by uid, at most cap bytes, never following a link. */
export async function readOwnedFile(file: string, uid: number, cap: number): Promise<FileRead> {
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, missing: true, why: 'is gone' };
    return {
      ok: false,
      missing: false,
      why: code === 'ELOOP' ? 'is a symbolic link' : `cannot be opened (${code ?? 'error'})`,
    };
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return { ok: false, missing: false, why: `is ${kind(st)}` };
    if (st.uid !== uid) return { ok: false, missing: false, why: `is owned by uid ${st.uid}, not by uid ${uid}` };
    if (st.size > cap) return { ok: false, missing: false, why: `is larger than ${cap} bytes` };
    // The size can change under us: read one byte past the cap to know.
    const buf = Buffer.alloc(cap + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n > cap) return { ok: false, missing: false, why: `is larger than ${cap} bytes` };
    }
    return { ok: true, text: buf.subarray(0, n).toString('utf8') };
  } catch (err) {
    return { ok: false, missing: false, why: `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})` };
  } finally {
    await fh.close().catch(() => {});
  }
}
