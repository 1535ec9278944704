/**
 * Runs the real cowtop in a real pseudo-terminal (node-pty) and reads the screen back through a
 * terminal emulator (@xterm/headless), as a person at a terminal would see it.
 */
import * as pty from 'node-pty';
import { Terminal } from '@xterm/headless';
import { BIN, freshConfigHome } from './helpers';

export interface PtyRun {
  term: Terminal;
  proc: pty.IPty;
  /** The screen as text, one string per row. */
  screen(): string[];
  text(): string;
  /** Waits until the screen matches, or throws with the screen in the message. */
  waitFor(pattern: RegExp | ((text: string) => boolean), timeoutMs?: number): Promise<string>;
  press(keys: string): void;
  resize(cols: number, rows: number): void;
  exited: Promise<{ exitCode: number; signal?: number }>;
  /** Everything the program wrote, raw (for checking the terminal was restored). */
  raw(): string;
  /** Writes the emulator is still parsing. */
  settle(): Promise<void>;
  /** Resolves once the emulator has parsed the next chunk the program writes (no polling). */
  nextParsed(): Promise<void>;
  /** Calls fn as each chunk is parsed, before the next one is: every state the screen passed through. */
  onParsed(fn: () => void): void;
}

export function runInPty(
  args: string[],
  opts: { cols?: number; rows?: number; env?: NodeJS.ProcessEnv; node?: string[]; file?: string } = {},
): PtyRun {
  const cols = opts.cols ?? 80;
  const rows = opts.rows ?? 24;
  const term = new Terminal({ cols, rows, allowProposedApi: true });
  const env = {
    ...process.env,
    TERM: 'xterm-256color',
    LANG: 'C.UTF-8',
    XDG_CONFIG_HOME: freshConfigHome(),
    ...opts.env,
  } as Record<string, string>;
  // file: another program than this node (the single executable), given all of `node` as its arguments.
  const proc = pty.spawn(opts.file ?? process.execPath, opts.node ?? [BIN, ...args], {
    name: env.TERM,
    cols,
    rows,
    env,
    cwd: process.cwd(),
  });
  let raw = '';
  let pending = 0;
  let parsed: Array<() => void> = [];
  const watchers: Array<() => void> = [];
  proc.onData((d) => {
    raw += d;
    pending++;
    term.write(d, () => {
      pending--;
      for (const fn of watchers) fn();
      const waiting = parsed;
      parsed = [];
      for (const resolve of waiting) resolve();
    });
  });
  /** The next parsed chunk, or ms, whichever comes first. */
  const parsedOr = (ms: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      parsed.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  const screen = (): string[] => {
    const buf = term.buffer.active;
    const out: string[] = [];
    for (let i = 0; i < term.rows; i++) out.push(buf.getLine(buf.viewportY + i)?.translateToString(true) ?? '');
    return out;
  };
  const text = (): string => screen().join('\n');
  const nextParsed = (): Promise<void> => new Promise<void>((resolve) => parsed.push(resolve));
  const settle = async (): Promise<void> => {
    while (pending > 0) await nextParsed();
  };
  // Once the emulator has parsed the last output too: node-pty reports the exit after the last
  // chunk arrived, but the emulator parses chunks asynchronously, and a test reads the screen next.
  const exited = new Promise<{ exitCode: number; signal?: number }>((resolve) =>
    proc.onExit((e) => void settle().then(() => resolve(e))),
  );
  return {
    term,
    proc,
    screen,
    text,
    raw: () => raw,
    settle,
    nextParsed,
    onParsed: (fn) => void watchers.push(fn),
    exited,
    press: (keys) => proc.write(keys),
    resize: (c, r) => {
      proc.resize(c, r);
      term.resize(c, r);
    },
    async waitFor(pattern, timeoutMs = 30_000) {
      const match = typeof pattern === 'function' ? pattern : (t: string) => pattern.test(t);
      const end = Date.now() + timeoutMs;
      while (Date.now() < end) {
        await settle();
        const t = text();
        if (match(t)) return t;
        await parsedOr(20); // woken by the next frame: a start or a key is timed to the chunk that shows it
      }
      throw new Error(`screen never matched ${pattern}; it shows:\n${text()}`);
    },
  };
}

/**
 * The parent and both workers are on screen, and cowtop has read both fork reports (the log says
 * so): a tick can find a worker in /proc before the parent's report of its fork is read.
 */
export const twoWorkersKnown = (t: string): boolean =>
  readTable(t.split('\n')).length === 3 && /fork worker 2 pid/.test(t);

/**
 * Reads the process table off the screen: the header row gives each column's right edge
 * (sizes are right-aligned), each row below it until a non-row line is a record.
 */
export function readTable(lines: string[]): Array<Record<string, string>> {
  const h = lines.findIndex((l) => /^ROLE/.test(l));
  if (h < 0) return [];
  const header = lines[h];
  const cols: Array<{ title: string; start: number; end: number }> = [];
  // Titles, with the unit of a size column (USS MiB) kept out of the record's key.
  const re = /LAST GC[▲▼]?|[A-Z0-9%/]+(?: (?:MiB|KiB|%heap|\d\/\d\/\d))?[▲▼]?/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(header))) {
    cols.push({
      title: m[0].replace(/[▲▼]$/, '').replace(/ (MiB|KiB|%heap)$/, ''),
      start: m.index,
      end: m.index + m[0].length,
    });
    if (m[0].startsWith('COMMAND')) break; // the last column; what follows is the position mark
  }
  const roleRe = /^(parent|master|(?:worker|frozen|no-frz) \d+|worker|grandchild)/;
  const out: Array<Record<string, string>> = [];
  for (const line of lines.slice(h + 1)) {
    const role = roleRe.exec(line)?.[1];
    if (!role || !/\s/.test(line[role.length] ?? ' ')) break;
    const rec: Record<string, string> = {};
    cols.forEach((c, i) => {
      // ROLE and COMMAND are left-aligned; the others are right-aligned and end where their title ends.
      if (i === 0) rec[c.title] = role;
      else if (c.title === 'COMMAND') rec[c.title] = line.slice(c.start).trimEnd();
      else rec[c.title] = line.slice(i === 1 ? role.length : cols[i - 1].end + 1, c.end).trim();
    });
    out.push(rec);
  }
  return out;
}

/** "1,234" (KiB) or "12.5" (MiB) -> bytes. */
export function cellBytes(cell: string, units: 'KiB' | 'MiB'): number {
  const n = Number(cell.replace(/,/g, ''));
  return units === 'KiB' ? n * 1024 : n * 1048576;
}
