/**
 * Where the Python package and the gc agent are: beside cowtop's own files, or, in the single
 * executable (npm run binary), extracted from its asset into a private directory on first use.
 */
import { lstatSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { extractPrivate, type FileSet } from '../files/extract';
import { writeOutput } from '../files/output';
import { UsageError } from '../util/usage-error';

/**
 * The asset the binary build embeds: relative path → base64 bytes; python/ (every .py file)
 * and blessed-usr/ (blessed's own terminfo, its fallback when the system's will not parse).
 */
export const FILES_ASSET = 'files.json';

let dir: string | null = null;
let extracted: string | null = null;

interface Sea {
  isSea(): boolean;
  getAsset(key: string, encoding: string): string;
}

function sea(): Sea | null {
  try {
    return require('node:sea') as Sea;
  } catch {
    return null; // Node before 20.12: never a single executable
  }
}

/** In the single executable: the private directory its files were extracted into; else null. */
export function extractedDir(): string | null {
  if (extracted) return extracted;
  const s = sea();
  if (!s?.isSea()) return null;
  const encoded = JSON.parse(s.getAsset(FILES_ASSET, 'utf8')) as Record<string, string>;
  const files: Record<string, Buffer> = {};
  for (const [name, b64] of Object.entries(encoded)) files[name] = Buffer.from(b64, 'base64');
  extracted = extractPrivate(files as FileSet);
  return extracted;
}

/** The directory holding cowtop_agent.py, autoload/ and cowtop_experiment/. */
export function pythonDir(): string {
  if (dir) return dir;
  const root = extractedDir();
  dir = root ? path.join(root, 'python') : path.join(__dirname, '..', '..', '..', 'python');
  return dir;
}

/** Every .py file under dir, by relative path (Python's own __pycache__ aside). */
function pyFiles(root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(path.join(root, rel), { withFileTypes: true })) {
    const name = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory() && e.name !== '__pycache__') out.push(...pyFiles(root, name));
    else if (e.isFile() && e.name.endsWith('.py')) out.push(name);
  }
  return out.sort();
}

/**
 * agent --copy DIR: the agent and what it imports, for a server that cannot read cowtop's own
 * copy (another container, another user): a volume both mount. Directories are made 0755 and
 * never entered through a link; files are written as --output is (files/output.ts).
 */
export function copyAgent(dest: string): string[] {
  const src = pythonDir();
  const names = pyFiles(src);
  const dirs = [...new Set(names.map((n) => path.dirname(n)).filter((d) => d !== '.'))];
  for (const d of ['.', ...dirs]) {
    const at = path.join(dest, d);
    mkdirSync(at, { recursive: true, mode: 0o755 });
    const st = lstatSync(at);
    if (st.isSymbolicLink() || !st.isDirectory())
      throw new UsageError(`agent --copy: ${at} is not a directory (links are not followed)`);
  }
  for (const n of names) writeOutput(path.join(dest, n), readFileSync(path.join(src, n), 'utf8'));
  return names;
}
