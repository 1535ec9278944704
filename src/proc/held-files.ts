/**
 * /proc files of the sampled tree kept open between ticks and read again from offset 0. Opening
 * a /proc file walks the path (the pid's directory is looked up and revalidated) and closing it
 * frees the seq_file: two thirds of the cost of a stat or children read. A 2,000-process tree
 * reads 4,000 of them a second.
 *
 * A held fd is bound to the process it was opened for (its struct pid, or for smaps_rollup its
 * address space), never to the number: once that process is gone or has exec'd, a read fails or
 * comes back empty, and the reader drops the pid's fds and opens the path afresh. A reused pid
 * can never be read through an old fd. Only what the sampled tree holds is kept (keepOnly), and
 * no more fds than a share of the open-files limit; past it, files are opened per read as before.
 */
import * as fsc from 'node:fs';
import * as path from 'node:path';

export interface HeldFile {
  readonly fd: number;
  busy: number; // reads in flight: an fd is closed only when none is, or its number could be reused under a read
  closing: boolean;
}

/** The open-files limit's share the held files may take: the rest of cowtop needs a few dozen. */
export function heldCapacity(limitsText: string | null): number {
  const m = limitsText ? /^Max open files\s+(\d+|unlimited)/m.exec(limitsText) : null;
  const soft = m ? (m[1] === 'unlimited' ? 65536 : Number(m[1])) : 1024;
  return Math.max(0, Math.min(soft - 256, Math.floor(soft * 0.75), 65536));
}

function readLimits(): string | null {
  try {
    return fsc.readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return null;
  }
}

export class HeldFiles {
  private readonly byPid = new Map<number, Map<string, HeldFile>>();
  private count = 0;

  constructor(
    private readonly root: string,
    private readonly capacity = heldCapacity(readLimits()),
  ) {}

  get size(): number {
    return this.count;
  }

  /**
   * The held fd of root/pid/name, opened now if need be (an open error is thrown as it comes);
   * null at capacity: the caller opens its own. Pair with release().
   */
  acquire(pid: number, name: string): HeldFile | null {
    let files = this.byPid.get(pid);
    let file = files?.get(name);
    if (!file) {
      if (this.count >= this.capacity) return null;
      file = { fd: fsc.openSync(path.join(this.root, String(pid), name), 'r'), busy: 0, closing: false };
      if (!files) this.byPid.set(pid, (files = new Map()));
      files.set(name, file);
      this.count++;
    }
    file.busy++;
    return file;
  }

  release(file: HeldFile): void {
    file.busy--;
    if (file.closing && file.busy === 0) fsc.close(file.fd, () => {});
  }

  /** Closes pid's fds (each once its reads are done): it is gone, exec'd, or out of the tree. */
  drop(pid: number): void {
    const files = this.byPid.get(pid);
    if (!files) return;
    this.byPid.delete(pid);
    for (const file of files.values()) {
      this.count--;
      file.closing = true;
      if (file.busy === 0) fsc.close(file.fd, () => {});
    }
  }

  /** Keeps only the fds of these processes (the tree as read this tick). */
  keepOnly(live: ReadonlySet<number>): void {
    for (const pid of [...this.byPid.keys()]) if (!live.has(pid)) this.drop(pid);
  }
}
