/**
 * What interpreter --python names. The experiment says it in its first line (hello); the probe is
 * for compare --matrix, which lists interpreters without running the experiment in each.
 */
import { execFile } from 'node:child_process';
import { sanitize } from '../format/sanitize';

export interface PythonInfo {
  executable: string;
  implementation: string; // 'CPython' | 'PyPy' | ...
  version: string;
  freezeSupported: boolean;
}

export class PythonError extends Error {}

const PROBE = [
  'import sys, platform, gc, json',
  'print(json.dumps({"implementation": platform.python_implementation(),',
  ' "version": list(sys.version_info[:3]), "executable": sys.executable,',
  ' "freeze": hasattr(gc, "freeze")}))',
].join('\n');

/** What an interpreter says of itself: by the probe below, or by the experiment's hello line. */
export interface PythonSays {
  implementation?: unknown;
  version?: unknown;
  executable?: unknown;
  freeze?: unknown;
}

/** Checks what the interpreter said: a Python cowtop can run, or a PythonError saying why not. */
export function checkPython(python: string, info: PythonSays | null): PythonInfo {
  const version =
    Array.isArray(info?.version) && info!.version.length === 3 && info!.version.every((n) => Number.isInteger(n))
      ? (info!.version as number[])
      : null;
  if (!info || typeof info.implementation !== 'string' || !version)
    throw new PythonError(`not a working Python interpreter: ${python}`);
  const [major, minor] = version;
  const impl = sanitize(info.implementation.slice(0, 64));
  if (major !== 3 || (impl === 'CPython' && minor < 7)) {
    throw new PythonError(`${python} is ${impl} ${version.join('.')}; cowtop needs CPython 3.7 or newer, or PyPy 3`);
  }
  return {
    executable: sanitize(String(info.executable || python).slice(0, 4096)),
    implementation: impl,
    version: version.join('.'),
    freezeSupported: info.freeze === true,
  };
}

/** The error of an interpreter that could not be started at all, by its errno. */
export function startError(python: string, code: string | undefined): PythonError | null {
  if (code === 'ENOENT') return new PythonError(`python not found: ${python} (use --python PATH or COWTOP_PYTHON)`);
  if (code === 'EACCES') return new PythonError(`python is not executable: ${python}`);
  return null;
}

/** Asks an interpreter what it is (compare --matrix, to list the ones it finds). */
export function probePython(python: string, timeoutMs = 15000): Promise<PythonInfo> {
  return new Promise((resolve, reject) => {
    execFile(python, ['-c', PROBE], { timeout: timeoutMs, maxBuffer: 1 << 16 }, (err, stdout) => {
      const notStarted = startError(python, (err as NodeJS.ErrnoException | null)?.code as string | undefined);
      if (notStarted) return reject(notStarted);
      let info: PythonSays | null = null;
      try {
        info = JSON.parse(String(stdout).trim().split('\n').pop() ?? '');
      } catch {
        info = null;
      }
      try {
        resolve(checkPython(python, err ? null : info));
      } catch (e) {
        reject(e);
      }
    });
  });
}
