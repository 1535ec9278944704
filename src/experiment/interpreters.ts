/**
 * The Python interpreters on this machine: on PATH, in the system's directories, and where
 * people keep more (pyenv, uv, asdf); each once, by real path and version, sorted by version.
 */
import { accessSync, constants, existsSync, readdirSync, realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { probePython, type PythonInfo } from './python';

const CANDIDATES = ['python3', 'pypy3', ...Array.from({ length: 8 }, (_, i) => `python3.${7 + i}`)];

/**
 * Where people keep more Pythons than PATH shows: pyenv, uv's managed pythons, asdf. Each holds
 * one directory per version with bin/python3 (or bin/pypy3) inside.
 */
export function managedInterpreters(env: NodeJS.ProcessEnv = process.env): string[] {
  const home = env.HOME ?? homedir();
  const roots = [
    join(env.PYENV_ROOT ?? join(home, '.pyenv'), 'versions'),
    join(env.UV_PYTHON_INSTALL_DIR ?? join(env.XDG_DATA_HOME ?? join(home, '.local', 'share'), 'uv', 'python')),
    join(env.ASDF_DATA_DIR ?? join(home, '.asdf'), 'installs', 'python'),
  ];
  const out: string[] = [];
  for (const root of roots) {
    let versions: string[] = [];
    try {
      versions = readdirSync(root).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    } catch {
      continue; // not installed
    }
    for (const v of versions) {
      for (const exe of ['python3', 'pypy3', 'python']) {
        // python: a 2.7 has no python3, and is said to be left out
        const path = join(root, v, 'bin', exe);
        if (existsSync(path)) {
          out.push(path);
          break;
        }
      }
    }
  }
  return out;
}

/** The first file named name in env's PATH that can be run, as a path (what a shell would run). */
function onPath(name: string, env: NodeJS.ProcessEnv): string[] {
  for (const dir of (env.PATH ?? '').split(':').filter(Boolean)) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return [path];
    } catch {
      // not here
    }
  }
  return [];
}

export interface Found {
  pythons: string[];
  /** Interpreters found but left out, each with why (an old CPython, one that does not run). */
  skipped: Array<{ python: string; why: string }>;
}

/**
 * Where the distribution's interpreters live, whatever PATH says: pyenv's shims shadow Debian's
 * /usr/bin/python3, the one its gunicorn, uWSGI and Celery packages run under.
 */
export const SYSTEM_DIRS = ['/usr/bin', '/usr/local/bin'];

/** python3, python3.N, pypy3 and pypy3.N in dirs, sorted by name. */
export function systemInterpreters(dirs: readonly string[]): string[] {
  const out: string[] = [];
  for (const dir of dirs) {
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const n of names
      .filter((x) => /^(python3|pypy3)(\.\d+)?$/.test(x))
      .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))) {
      const path = join(dir, n);
      try {
        accessSync(path, constants.X_OK);
        out.push(path);
      } catch {
        // not runnable
      }
    }
  }
  return out;
}

/** By implementation (CPython first), then version, oldest first. */
const byVersion = (a: PythonInfo, b: PythonInfo): number =>
  (a.implementation === 'CPython' ? 0 : 1) - (b.implementation === 'CPython' ? 0 : 1) ||
  a.implementation.localeCompare(b.implementation) ||
  a.version.localeCompare(b.version, 'en', { numeric: true });

/**
 * The interpreters to compare: those given, or every one found on PATH, in the system's
 * directories and in pyenv/uv/asdf, once each by real path and by version, sorted by version.
 */
export async function findInterpreters(
  given: string[],
  env: NodeJS.ProcessEnv = process.env,
  systemDirs: readonly string[] = SYSTEM_DIRS,
): Promise<Found> {
  const seen = new Set<string>();
  const found: Array<{ name: string; info: PythonInfo }> = [];
  const skipped: Found['skipped'] = [];
  const managed = given.length ? [] : managedInterpreters(env);
  const candidates = given.length
    ? given
    : [...CANDIDATES.flatMap((n) => onPath(n, env)), ...systemInterpreters(systemDirs), ...managed];
  for (const name of candidates) {
    try {
      const info = await probePython(name, 10_000);
      const real = realpathSync(info.executable);
      const version = `${info.implementation} ${info.version}`;
      if (seen.has(real) || (!given.length && seen.has(version))) continue;
      seen.add(real);
      seen.add(version);
      found.push({ name, info });
    } catch (err) {
      if (given.length) throw err; // one the user named must work
      // An install found on disk but not usable is said, not dropped in silence. A name on PATH
      // that does not run is not news (a pyenv shim for a version not selected, say).
      if (managed.includes(name)) skipped.push({ python: name, why: (err as Error).message });
    }
  }
  // The order given is the user's; found ones go by version.
  if (!given.length) found.sort((a, b) => byVersion(a.info, b.info));
  return { pythons: found.map((f) => f.name), skipped };
}
