/**
 * The settings file, as htop keeps its htoprc: $XDG_CONFIG_HOME/cowtop/config, else
 * ~/.config/cowtop/config; `key=value` lines, written when the dashboard ends. Read only if it is
 * the user's own regular file, not a link, not writable by others, under 16 KiB, and every line
 * is a comment or `key=value`: anything else is ignored whole, with the reason.
 */
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import * as path from 'node:path';

const CAP = 16 * 1024;

export function configPath(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME))
    return path.join(env.XDG_CONFIG_HOME, 'cowtop', 'config');
  if (env.HOME && path.isAbsolute(env.HOME)) return path.join(env.HOME, '.config', 'cowtop', 'config');
  return null;
}

export type ConfigRead = { ok: true; values: Record<string, string> } | { ok: false; missing: boolean; why: string };

const uid = (): number => process.geteuid?.() ?? -1;

/** key=value lines; comments and blank lines aside; null when a line is neither. */
export function parseConfig(text: string): Record<string, string> | null {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-z_]{1,32})=([\w.,:-]{0,400})$/.exec(line);
    if (!m) return null;
    out[m[1]] = m[2];
  }
  return out;
}

export function readConfig(file: string): ConfigRead {
  let fd = -1;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, missing: true, why: 'none yet' };
    return { ok: false, missing: false, why: code === 'ELOOP' ? 'it is a symbolic link' : (code ?? 'unreadable') };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { ok: false, missing: false, why: 'it is not a regular file' };
    if (st.uid !== uid()) return { ok: false, missing: false, why: `it belongs to uid ${st.uid}` };
    if (st.mode & 0o022)
      return { ok: false, missing: false, why: `others may write it (mode ${(st.mode & 0o777).toString(8)})` };
    if (st.size > CAP) return { ok: false, missing: false, why: `it is ${st.size} bytes (at most ${CAP})` };
    const buf = Buffer.alloc(CAP + 1);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const values = parseConfig(buf.toString('utf8', 0, n));
    return values ? { ok: true, values } : { ok: false, missing: false, why: 'a line in it is not key=value' };
  } finally {
    closeSync(fd);
  }
}

/** Writes the file whole (a new file renamed over the old one), in a directory of the user's own. */
export function writeConfig(file: string, values: Record<string, string>, header: string): void {
  const dir = path.dirname(file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.uid !== uid() || st.mode & 0o022)
    throw new Error(`${dir} is not a directory of this user's that others cannot write`);
  const tmp = `${file}.${process.pid}.tmp`;
  const text = `${header}\n${Object.entries(values)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`;
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, text);
  } catch (err) {
    closeSync(fd);
    unlinkSync(tmp);
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, file);
}
