/**
 * The files the gc agent (python/cowtop_agent.py) writes: one <pid>.json per process in
 * $COWTOP_AGENT_DIR or /tmp/cowtop-agent-<uid> of the process's owner.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { CollectionMessage, GcMessage } from '../experiment/protocol';

export interface AgentState {
  pid: number;
  starttime: number | null;
  t: number; // seconds since the epoch, when written
  gc: GcMessage;
  last: CollectionMessage | null;
  implementation: string;
  version: string;
}

/** Parses an agent file; null for anything that is not one (half written, foreign, garbage). */
export function parseAgentFile(text: string): AgentState | null {
  let v: any;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (!v || typeof v !== 'object' || typeof v.pid !== 'number' || typeof v.t !== 'number') return null;
  const gc: GcMessage = {
    type: 'gc',
    pid: v.pid,
    enabled: v.enabled !== false,
    counts: Array.isArray(v.counts) ? v.counts : null,
    threshold: Array.isArray(v.threshold) ? v.threshold : undefined,
    stats: Array.isArray(v.stats) ? v.stats : null,
    frozen: typeof v.frozen === 'number' ? v.frozen : null,
  };
  const l = v.last;
  const last: CollectionMessage | null =
    l && typeof l === 'object'
      ? { type: 'collection', pid: v.pid, generation: l.generation ?? null, duration: l.duration ?? null, collected: l.collected ?? null, uncollectable: l.uncollectable ?? null, explicit: false }
      : null;
  return { pid: v.pid, starttime: typeof v.starttime === 'number' ? v.starttime : null, t: v.t, gc, last, implementation: String(v.implementation ?? ''), version: String(v.version ?? '') };
}

export function agentDir(uid: number, env: NodeJS.ProcessEnv = process.env): string {
  return env.COWTOP_AGENT_DIR || `/tmp/cowtop-agent-${uid}`;
}

/** Reads the agent state of pid, if its owner's agent wrote one for this very process. */
export async function readAgent(pid: number, uid: number, starttime: number | null, env: NodeJS.ProcessEnv = process.env): Promise<AgentState | null> {
  try {
    const s = parseAgentFile(await fs.readFile(path.join(agentDir(uid, env), `${pid}.json`), 'utf8'));
    if (!s || s.pid !== pid) return null;
    // A file left by an earlier process with the same pid is not this one's.
    if (starttime !== null && s.starttime !== null && s.starttime !== starttime) return null;
    return s;
  } catch {
    return null;
  }
}
