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

/** A directory opened inside another mount namespace's root, held by its fd until close(). */
export interface HeldDir {
  /** The directory as a path that names the open fd: what is opened beneath it cannot be swapped. */
  readonly path: string;
  close(): Promise<void>;
}

/**
 * Opens dir (absolute, as a process inside root sees it) beneath root (/proc/PID/root), one
 * component at a time, each opened through the fd of the one before with O_NOFOLLOW: a link in
 * the container (its /tmp made a link to the host's /root) leads nowhere, where a plain path
 * would follow an absolute link out of the container into cowtop's own file system. The last
 * one must pass checkPrivateDir's rules for uid.
 */
export async function openPrivateDirBeneath(
  root: string,
  dir: string,
  uid: number,
): Promise<{ ok: true; held: HeldDir } | { ok: false; missing: boolean; why: string }> {
  const names = dir.split('/').filter(Boolean);
  if (names.some((n) => n === '..' || n === '.')) return { ok: false, missing: false, why: 'is not a plain path' };
  const opened: fs.FileHandle[] = [];
  const closeAll = async (): Promise<void> => {
    await Promise.all(opened.map((h) => h.close().catch(() => {})));
  };
  const flags = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NONBLOCK;
  let at = root;
  try {
    // The root itself is the kernel's link to that namespace's root: followed on purpose.
    opened.push(await fs.open(root, flags));
    for (const name of names) {
      at = `/proc/self/fd/${opened[opened.length - 1].fd}/${name}`;
      opened.push(await fs.open(at, flags | constants.O_NOFOLLOW));
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // O_NOFOLLOW with O_DIRECTORY refuses a link as ENOTDIR: say which it was.
    const link =
      code === 'ELOOP' || code === 'ENOTDIR' ? (await fs.lstat(at).catch(() => null))?.isSymbolicLink() : false;
    await closeAll();
    if (code === 'ENOENT') return { ok: false, missing: true, why: 'is gone' };
    const why = link
      ? 'has a symbolic link on its path'
      : code === 'ENOTDIR'
        ? 'has a non-directory on its path'
        : `cannot be opened (${code ?? 'error'})`;
    return { ok: false, missing: false, why };
  }
  const last = opened[opened.length - 1];
  const st = await last.stat();
  const parent = opened.length > 1 ? await opened[opened.length - 2].stat() : null;
  const why =
    st.uid !== uid
      ? `is owned by uid ${st.uid}, not by uid ${uid}`
      : st.mode & 0o022
        ? `is writable by other users (mode ${octal(st.mode)})`
        : parent && parent.dev !== st.dev
          ? 'is a mount point'
          : null;
  // Only the last fd is kept: the others were the way there.
  const held = opened.pop()!;
  await closeAll();
  if (why) {
    await held.close().catch(() => {});
    return { ok: false, missing: false, why };
  }
  return { ok: true, held: { path: `/proc/self/fd/${held.fd}`, close: () => held.close().catch(() => {}) } };
}
