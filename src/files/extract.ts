/**
 * The single executable carries the Python package, the agent and blessed's terminfo fallbacks
 * as one asset; Python and blessed need them as files. They are extracted once into a private directory named by their content
 * hash: created 0700 by this user, checked before every use (owner, mode, not a link, every
 * file's bytes), and never trusted when another user made it (a name planted in /tmp first).
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Relative path → bytes. */
export type FileSet = Readonly<Record<string, Buffer>>;

export function hashOf(files: FileSet): string {
  const h = createHash('sha256');
  for (const name of Object.keys(files).sort()) h.update(`${name}\0${files[name].length}\0`).update(files[name]);
  return h.digest('hex').slice(0, 16);
}

const uid = (): number => process.geteuid?.() ?? -1;

/** Why dir is not a private directory of this user, or null. */
function notPrivate(dir: string): string | null {
  const st = lstatSync(dir);
  if (st.isSymbolicLink()) return 'is a symbolic link';
  if (!st.isDirectory()) return 'is not a directory';
  if (st.uid !== uid()) return `belongs to uid ${st.uid}`;
  if (st.mode & 0o077) return `is open to other users (mode ${(st.mode & 0o777).toString(8)})`;
  return null;
}

/** A private directory at dir (made 0700 if missing, with its parents); why not, or null. */
function ensurePrivate(dir: string): string | null {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return notPrivate(dir);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? 'cannot be made';
  }
}

/** Whether the file under dir holds exactly want: read without following a link, size-capped. */
function holds(dir: string, name: string, want: Buffer): boolean {
  let fd = -1;
  try {
    fd = openSync(path.join(dir, name), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    const st = fstatSync(fd);
    if (!st.isFile() || st.uid !== uid() || st.mode & 0o022 || st.size !== want.length) return false;
    const got = Buffer.alloc(want.length);
    let n = 0;
    while (n < got.length) {
      const r = readSync(fd, got, n, got.length - n, n);
      if (r === 0) break;
      n += r;
    }
    return n === want.length && got.equals(want);
  } catch {
    return false;
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/** Whether dir is ours, private, and holds every file as given (Python's own __pycache__ aside). */
function verified(dir: string, files: FileSet): boolean {
  try {
    if (notPrivate(dir)) return false;
  } catch {
    return false;
  }
  return Object.entries(files).every(([name, text]) => {
    const parent = path.dirname(path.join(dir, name));
    return (parent === dir || notPrivateSafe(parent) === null) && holds(dir, name, text);
  });
}

function notPrivateSafe(dir: string): string | null {
  try {
    return notPrivate(dir);
  } catch {
    return 'is gone';
  }
}

/** Writes the files into a fresh directory beside the final one, then renames it into place. */
function extractInto(base: string, final: string, files: FileSet): void {
  const tmp = mkdtempSync(path.join(base, '.extract-'));
  try {
    for (const [name, text] of Object.entries(files)) {
      if (name.split('/').some((n) => n === '..' || n === '' || n === '.')) throw new Error(`bad asset name ${name}`);
      mkdirSync(path.dirname(path.join(tmp, name)), { recursive: true, mode: 0o700 });
      writeFileSync(path.join(tmp, name), text, { flag: 'wx', mode: 0o600 });
    }
    renameSync(tmp, final);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    // Another cowtop extracted the same files at the same time: theirs is as good, once checked.
    if ((err as NodeJS.ErrnoException).code !== 'ENOTEMPTY' && (err as NodeJS.ErrnoException).code !== 'EEXIST')
      throw err;
  }
}

/** Where the cache lives: $XDG_CACHE_HOME/cowtop, ~/.cache/cowtop, else /tmp/cowtop-UID. */
export function cacheBases(env: NodeJS.ProcessEnv = process.env): string[] {
  const out: string[] = [];
  if (env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME)) out.push(path.join(env.XDG_CACHE_HOME, 'cowtop'));
  const home = env.HOME || os.homedir();
  if (home && path.isAbsolute(home)) out.push(path.join(home, '.cache', 'cowtop'));
  out.push(path.join(os.tmpdir(), `cowtop-${uid()}`));
  return out;
}

/**
 * The directory holding the files: an existing one that passes the checks, or a new one.
 * A candidate that fails (another user's, a link, open to others) is passed over, never used.
 */
export function extractPrivate(files: FileSet, bases: string[] = cacheBases()): string {
  const name = `files-${hashOf(files)}`;
  const why: string[] = [];
  for (const base of bases) {
    const bad = ensurePrivate(base);
    if (bad) {
      why.push(`${base} ${bad}`);
      continue;
    }
    const final = path.join(base, name);
    if (verified(final, files)) return final;
    // Ours but altered or half-made: made again. Anything else there is not ours to remove.
    if (notPrivateSafe(final) === null) rmSync(final, { recursive: true, force: true });
    try {
      extractInto(base, final, files);
    } catch (err) {
      why.push(`${base}: ${(err as Error).message}`);
      continue;
    }
    if (verified(final, files)) return final;
    why.push(`${final} did not check out`);
  }
  throw new Error(`cannot extract the files the binary carries: ${why.join('; ')}`);
}
