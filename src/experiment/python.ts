/** Finds out what interpreter --python names, before anything is started with it. */
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

export function probePython(python: string, timeoutMs = 15000): Promise<PythonInfo> {
  return new Promise((resolve, reject) => {
    execFile(python, ['-c', PROBE], { timeout: timeoutMs, maxBuffer: 1 << 16 }, (err, stdout) => {
      const code = (err as NodeJS.ErrnoException | null)?.code;
      if (code === 'ENOENT') return reject(new PythonError(`python not found: ${python} (use --python PATH or COWTOP_PYTHON)`));
      if (code === 'EACCES') return reject(new PythonError(`python is not executable: ${python}`));
      let info: { implementation?: unknown; version?: unknown; executable?: unknown; freeze?: unknown } | null = null;
      try {
        info = JSON.parse(String(stdout).trim().split('\n').pop() ?? '');
      } catch {
        info = null;
      }
      const version = Array.isArray(info?.version) && info!.version.length === 3 && info!.version.every((n) => Number.isInteger(n)) ? (info!.version as number[]) : null;
      if (err || !info || typeof info.implementation !== 'string' || !version) {
        return reject(new PythonError(`not a working Python interpreter: ${python}`));
      }
      const [major, minor] = version;
      const impl = sanitize(info.implementation.slice(0, 64));
      if (major !== 3 || (impl === 'CPython' && minor < 7)) {
        return reject(new PythonError(`${python} is ${impl} ${version.join('.')}; cowtop needs CPython 3.7 or newer, or PyPy 3`));
      }
      resolve({
        executable: sanitize(String(info.executable || python)),
        implementation: impl,
        version: version.join('.'),
        freezeSupported: info.freeze === true,
      });
    });
  });
}
