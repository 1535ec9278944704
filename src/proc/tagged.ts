/**
 * The processes that carry a tag in their environment: everything `cowtop run` started, also
 * what left the server's process group (setsid, a daemon's double fork), which neither the
 * group nor the parent links reach. Synchronous: it runs on the way out, in the exit handler too.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Where the tag is read: a process that sets up its own environment from scratch escapes it. */
export const RUN_TAG = 'COWTOP_RUN_ID';

export function taggedPids(procRoot: string, tag: string, except: ReadonlySet<number> = new Set()): number[] {
  const want = `${RUN_TAG}=${tag}`;
  let names: string[];
  try {
    names = readdirSync(procRoot);
  } catch {
    return [];
  }
  const found: number[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name) || except.has(Number(name))) continue;
    try {
      // The environment a process started with; a zombie's reads as empty.
      if (readFileSync(`${procRoot}/${name}/environ`, 'latin1').split('\0').includes(want)) found.push(Number(name));
    } catch {
      // gone, or another user's
    }
  }
  return found;
}

/** The process group of pid (stat field 5), or null once it is gone. */
export function processGroup(procRoot: string, pid: number): number | null {
  try {
    const fields = readFileSync(`${procRoot}/${pid}/stat`, 'latin1').split(') ').pop()!.split(' ');
    return Number(fields[2]);
  } catch {
    return null;
  }
}
