/** What the machine can still give: memory, and the cgroup's limit and usage (v2 or v1). */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { parseCgroupLimit, parseCgroupPaths } from './parse';

export interface MemoryRoom {
  memAvailable: number | null; // /proc/meminfo MemAvailable
  memTotal: number | null;
  cgroupLimit: number | null; // memory.max (v2) or memory.limit_in_bytes (v1), null = none
  cgroupUsage: number | null;
}

/** MemAvailable, MemTotal and this process's cgroup memory limit and usage (v2 or v1). */
export async function memoryRoomOf(
  mem: Record<string, number> | null,
  selfCgroup: string,
  cgroupRoot: string,
): Promise<MemoryRoom> {
  const room = {
    memAvailable: mem?.MemAvailable ?? null,
    memTotal: mem?.MemTotal ?? null,
    cgroupLimit: null as number | null,
    cgroupUsage: null as number | null,
  };
  const read = (p: string): Promise<string | null> => fs.readFile(p, 'utf8').catch(() => null);
  const paths = parseCgroupPaths((await read(selfCgroup)) ?? '');
  const tries: Array<[string, string]> = [];
  if (paths.v2 !== null)
    tries.push([path.join(cgroupRoot, paths.v2, 'memory.max'), path.join(cgroupRoot, paths.v2, 'memory.current')]);
  if (paths.v1Memory !== null) {
    // Inside a container the v1 hierarchy is often mounted at its own root.
    for (const dir of [path.join(cgroupRoot, 'memory', paths.v1Memory), path.join(cgroupRoot, 'memory')]) {
      tries.push([path.join(dir, 'memory.limit_in_bytes'), path.join(dir, 'memory.usage_in_bytes')]);
    }
  }
  for (const [limitFile, usageFile] of tries) {
    const limit = await read(limitFile);
    if (limit === null) continue;
    room.cgroupLimit = parseCgroupLimit(limit);
    const usage = await read(usageFile);
    room.cgroupUsage = usage === null ? null : Number(usage.trim());
    break;
  }
  return room;
}
