/**
 * The files the gc agent (python/cowtop_agent.py) writes: one <pid>.json per process in
 * $COWTOP_AGENT_DIR or /tmp/cowtop-agent-<uid> of the process's owner.
 *
 * Another user can create that directory first, or the owner can be the one cowtop watches
 * with suspicion (root attached to a stranger's server). So a directory is read only when it is
 * a private directory of the process's owner, a file only when it is that owner's regular file
 * of at most FILE_CAP bytes, and every field is checked by type and range: what fails is dropped
 * with one notice, never thrown and never shown.
 */
import { lstatSync, type Stats } from 'node:fs';
import * as path from 'node:path';
import * as v from 'valibot';
import { sanitize } from '../format/sanitize';
import { mapLimit } from '../util/map-limit';
import { checkPrivateDir, type HeldDir, openPrivateDirBeneath, readOwnedFile } from '../files/untrusted';
import {
  Collection,
  count,
  GC_FIELDS,
  pid as pidSchema,
  text,
  type CollectionMessage,
  type GcMessage,
} from '../experiment/protocol';

export const FILE_CAP = 64 * 1024;
/** A directory whose reads take longer than this is skipped until they finish. */
export const READ_DEADLINE_MS = 1000;
const CONCURRENCY = 2; // per directory: a hung file system holds two thread-pool threads at most
const MISS_BACKOFF_MS = 1000; // a missing file is asked for again after 1 s, 2 s, 4 s...
const MISS_BACKOFF_MAX_MS = 8000; // ...and 8 s at most: an agent enabled late shows within 8 s
const MAX_TRACKED_MISSES = 100_000;
const missKey = (t: AgentTarget): string => `${t.pid}:${t.starttime}`;

export interface AgentState {
  pid: number;
  starttime: number | null;
  t: number; // seconds since the epoch, when written
  interval: number | null; // seconds between the agent's writes (COWTOP_AGENT_INTERVAL), where it says
  gc: GcMessage;
  last: CollectionMessage | null;
  implementation: string;
  version: string;
}

/** Every field but pid and t may be dropped alone: a bad counts array does not hide the rest. */
const optional = <T extends v.GenericSchema>(s: T) => v.optional(v.nullable(s), null);
const AgentFile = v.object({
  pid: pidSchema,
  t: v.pipe(v.number(), v.finite(), v.minValue(0), v.maxValue(1e11)),
  starttime: optional(count),
  interval: optional(v.pipe(v.number(), v.finite(), v.minValue(0.1), v.maxValue(3600))),
  implementation: v.optional(text(32), ''),
  version: v.optional(text(32), ''),
  enabled: v.optional(v.boolean(), true),
  counts: optional(GC_FIELDS.counts.wrapped),
  threshold: optional(GC_FIELDS.counts.wrapped),
  stats: optional(GC_FIELDS.stats.wrapped),
  frozen: optional(count),
  sinceFork: optional(GC_FIELDS.counts.wrapped),
  last: optional(Collection),
});
const REQUIRED = new Set(['pid', 't']);

export type AgentParse = { ok: true; state: AgentState; dropped: string[] } | { ok: false; why: string };

/** Parses an agent file: the state, with the fields that failed their check left out and named. */
export function parseAgentFile(text: string): AgentParse {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, why: 'is not JSON' };
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return { ok: false, why: 'is not a JSON object' };
  const value = { ...(raw as Record<string, unknown>) };
  const dropped: string[] = [];
  for (let attempt = 0; attempt < 2; attempt++) {
    const r = v.safeParse(AgentFile, value);
    if (r.success) {
      const f = r.output;
      const gc: GcMessage = {
        type: 'gc',
        pid: f.pid,
        enabled: f.enabled,
        counts: f.counts,
        threshold: f.threshold,
        stats: f.stats,
        frozen: f.frozen,
        ...(f.sinceFork ? { sinceFork: f.sinceFork } : {}),
      };
      const last: CollectionMessage | null = f.last
        ? { type: 'collection', pid: f.pid, ...f.last, explicit: false }
        : null;
      return {
        ok: true,
        state: {
          pid: f.pid,
          starttime: f.starttime,
          t: f.t,
          interval: f.interval,
          gc,
          last,
          implementation: f.implementation,
          version: f.version,
        },
        dropped,
      };
    }
    const keys = [...new Set(r.issues.map((i) => String(i.path?.[0]?.key ?? '')))];
    const fatal = keys.find((k) => REQUIRED.has(k) || k === '');
    if (fatal !== undefined) return { ok: false, why: `has no valid ${fatal || 'structure'}` };
    for (const k of keys) {
      delete value[k];
      dropped.push(k);
    }
  }
  return { ok: false, why: 'has no valid structure' };
}

export function agentDir(uid: number, env: NodeJS.ProcessEnv = process.env): string {
  return env.COWTOP_AGENT_DIR || `/tmp/cowtop-agent-${uid}`;
}

/**
 * Why the agent of uid's processes will write nothing, found before waiting for it: the agent
 * writes only into a directory that is uid's own and private (0700, python/cowtop_agent.py's
 * _dir_ok), and refuses anything else in silence, as it must never disturb the server. null: it
 * can write (or will create the directory).
 */
export function agentDirProblem(uid: number, env: NodeJS.ProcessEnv = process.env): string | null {
  const dir = agentDir(uid, env);
  let st: Stats;
  try {
    st = lstatSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? null : sanitize(`the gc agent cannot use ${dir} (${code ?? 'error'})`);
  }
  const what = st.isSymbolicLink()
    ? 'is a symbolic link'
    : !st.isDirectory()
      ? 'is not a directory'
      : st.uid !== uid
        ? `is owned by uid ${st.uid}, not by uid ${uid}: another user made it first`
        : st.mode & 0o077
          ? `has mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}, and the agent writes only into a private one (0700)`
          : null;
  if (!what) return null;
  const fix =
    st.isDirectory() && st.uid === uid && !st.isSymbolicLink()
      ? `chmod 700 ${dir}`
      : `remove it, or set COWTOP_AGENT_DIR to a directory of uid ${uid}`;
  return sanitize(`the gc agent writes nothing: ${dir} ${what} (${fix})`);
}

export interface AgentTarget {
  pid: number;
  uid: number;
  starttime: number | null;
  /**
   * A process in another mount namespace (a container): its agent writes into its own /tmp, as
   * the pid and uid it sees, and that /tmp is reached through root (/proc/PID/root).
   */
  inner?: { pid: number; uid: number; root: string; mountNs: string } | null;
}

/** One directory and the processes whose files are in it. */
interface DirGroup {
  dir: string; // as shown in notices
  root: string | null; // /proc/PID/root of a member, when the directory is inside another mount namespace
  targets: AgentTarget[];
}

/**
 * Reads the agent files of a tree's processes, once per tick. Says each thing it refuses once
 * (onNotice), and goes on without that data.
 */
export class AgentReader {
  private readonly told = new Set<string>();
  private readonly busy = new Set<string>(); // directories whose reads outlived the deadline
  /** Processes whose file was missing: when to ask again, and the pause that led there. */
  private readonly retryAt = new Map<string, { at: number; wait: number }>();

  constructor(
    private readonly onNotice: (text: string) => void,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  private tell(key: string, text: string): void {
    if (this.told.has(key)) return;
    this.told.add(key);
    this.onNotice(sanitize(text));
  }

  async readAll(targets: readonly AgentTarget[]): Promise<AgentState[]> {
    const groups = new Map<string, DirGroup>();
    for (const t of targets) {
      // Inside a container the agent knows nothing of cowtop's COWTOP_AGENT_DIR: its own default.
      const dir = t.inner ? agentDir(t.inner.uid, {}) : agentDir(t.uid, this.env);
      const key = t.inner ? `${t.inner.mountNs}|${dir}` : dir;
      const g = groups.get(key) ?? {
        dir: t.inner ? `${dir} (in ${t.inner.root})` : dir,
        root: t.inner?.root ?? null,
        targets: [],
      };
      g.targets.push(t);
      groups.set(key, g);
    }
    const out = await Promise.all([...groups].map(([key, g]) => this.readGroup(key, g)));
    return out.flat();
  }

  private async readGroup(key: string, g: DirGroup): Promise<AgentState[]> {
    if (this.busy.has(key)) return [];
    // One directory serves one uid; with COWTOP_AGENT_DIR set, the first target's uid decides.
    const uid = g.targets[0].uid;
    const dir = g.dir;
    let where = dir;
    let held: HeldDir | null = null;
    if (g.root !== null) {
      const opened = await openPrivateDirBeneath(g.root, agentDir(g.targets[0].inner!.uid, {}), uid);
      if (!opened.ok) {
        if (!opened.missing)
          this.tell(`dir:${key}:${opened.why}`, `gc agent data of uid ${uid} ignored: ${dir} ${opened.why}`);
        return [];
      }
      held = opened.held;
      where = held.path;
    } else {
      const verdict = await checkPrivateDir(dir, uid);
      if (verdict === null) return [];
      if (!verdict.ok) {
        this.tell(`dir:${dir}:${verdict.why}`, `gc agent data of uid ${uid} ignored: ${dir} ${verdict.why}`);
        return [];
      }
    }
    try {
      return await this.readFiles(key, dir, where, uid, g.targets);
    } finally {
      // A read that outlived the deadline still needs the directory: it closes it when done.
      if (held && !this.busy.has(key)) await held.close();
      else if (held) this.closeLater.set(key, held);
    }
  }

  /** Directories held open for reads that outlived the deadline, closed when those finish. */
  private readonly closeLater = new Map<string, HeldDir>();

  private async readFiles(
    key: string,
    dir: string,
    where: string,
    uid: number,
    targets: AgentTarget[],
  ): Promise<AgentState[]> {
    // Only the files of the tree's pids, by name: the directory is never listed, so its size
    // (another user can fill it with 500,000 names) costs the tick nothing. A process whose file
    // is missing (a tree without the agent) is asked again after a pause that doubles, up to
    // MISS_BACKOFF_MAX_MS: 2,000 such processes cost a few opens a tick, not 2,000.
    const now = Date.now();
    const due = targets.filter((t) => t.uid === uid && (this.retryAt.get(missKey(t))?.at ?? 0) <= now);
    const work = mapLimit(due, CONCURRENCY, (t) => this.readOne(dir, where, t));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), READ_DEADLINE_MS)));
    const results = await Promise.race([work, late]);
    clearTimeout(timer);
    if (results === 'late') {
      this.busy.add(key);
      this.tell(
        `busy:${key}`,
        `gc agent files in ${dir} take over ${READ_DEADLINE_MS} ms to read: skipped until they answer`,
      );
      void work.finally(() => {
        this.busy.delete(key);
        void this.closeLater.get(key)?.close();
        this.closeLater.delete(key);
      });
      return [];
    }
    return results.filter((s): s is AgentState => s !== null);
  }

  private async readOne(dir: string, where: string, t: AgentTarget): Promise<AgentState | null> {
    const own = t.inner?.pid ?? t.pid; // the pid the agent knows itself by
    const file = path.join(dir, `${own}.json`);
    const read = await readOwnedFile(path.join(where, `${own}.json`), t.uid, FILE_CAP);
    const key = missKey(t);
    if (!read.ok && read.missing) {
      const wait = Math.min(MISS_BACKOFF_MAX_MS, (this.retryAt.get(key)?.wait ?? MISS_BACKOFF_MS / 2) * 2);
      this.retryAt.set(key, { at: Date.now() + wait, wait });
      if (this.retryAt.size > MAX_TRACKED_MISSES) this.retryAt.delete(this.retryAt.keys().next().value!);
      return null;
    }
    this.retryAt.delete(key);
    if (!read.ok) {
      this.tell(`file:${file}`, `gc agent file ${file} ignored: it ${read.why}`);
      return null;
    }
    const parsed = parseAgentFile(read.text);
    if (!parsed.ok) {
      this.tell(`file:${file}`, `gc agent file ${file} ignored: it ${parsed.why}`);
      return null;
    }
    const s = parsed.state;
    if (s.pid !== own) {
      this.tell(`file:${file}`, `gc agent file ${file} ignored: it names pid ${s.pid}`);
      return null;
    }
    // A file left by an earlier process with the same pid is not this one's.
    if (t.starttime !== null && s.starttime !== null && s.starttime !== t.starttime) return null;
    if (parsed.dropped.length)
      this.tell(
        `file:${file}`,
        `gc agent file ${file}: ${parsed.dropped.join(', ')} dropped (wrong type or out of range)`,
      );
    return own === t.pid ? s : rePid(s, t.pid);
  }
}

/** A state the agent wrote as its namespace's pid, under the pid cowtop sees. */
function rePid(s: AgentState, pid: number): AgentState {
  return {
    ...s,
    pid,
    gc: { ...s.gc, pid },
    last: s.last ? { ...s.last, pid } : null,
  };
}
