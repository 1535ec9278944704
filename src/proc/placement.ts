/**
 * Where a process runs, seen from cowtop: its pid inside its own PID namespace (NSpid), whether
 * its mount namespace is cowtop's (a container, systemd's PrivateTmp: its /tmp is not ours), and
 * its container, named from its cgroup path. Parsers are pure; placementOf reads /proc.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { sanitize } from '../format/sanitize';

export interface Container {
  readonly runtime: string; // docker, containerd, cri-o, podman, kubepods
  readonly id: string; // the full id the path holds
}

export interface Placement {
  /** Its pid at each PID namespace level, cowtop's first, its own last (NSpid). */
  readonly nspids: readonly number[];
  /** Its pid as it sees itself: what its gc agent names its file by. */
  readonly innerPid: number;
  readonly otherPidNs: boolean;
  /** Its mount namespace is not cowtop's: its files are reached through /proc/PID/root. */
  readonly otherMountNs: boolean;
  readonly mountNs: string | null; // "mnt:[4026531841]": processes with the same one share a /tmp
  readonly cgroup: string | null; // v2 path, else v1 memory path (sanitized)
  readonly container: Container | null;
  /** Its uid as its own user namespace sees it (uid_map), where it has one: its agent's directory name. */
  readonly innerUid: number | null;
}

/** The NSpid line of /proc/PID/status: host-side pid first. null on kernels before 4.1. */
export function parseNSpid(status: string): number[] | null {
  const m = /^NSpid:\s+([\d\s]+)$/m.exec(status);
  if (!m) return null;
  const pids = m[1].trim().split(/\s+/).map(Number);
  return pids.length && pids.every((p) => Number.isSafeInteger(p) && p > 0) ? pids : null;
}

/** uid_map lines "inside outside count": the inside uid of an outside (host) uid. */
export function innerUidOf(uidMap: string, hostUid: number): number | null {
  for (const line of uidMap.split('\n')) {
    const [inside, outside, count] = line.trim().split(/\s+/).map(Number);
    if (![inside, outside, count].every(Number.isSafeInteger)) continue;
    if (hostUid >= outside && hostUid < outside + count) return inside + (hostUid - outside);
  }
  return null;
}

const ID = '([0-9a-f]{64})';
/** Container runtimes' cgroup names, most specific first (systemd scope names and cgroupfs paths). */
const RUNTIMES: Array<[string, RegExp]> = [
  ['docker', new RegExp(`(?:^|/)docker[-/]${ID}(?:\\.scope)?(?:/|$)`)],
  ['containerd', new RegExp(`(?:^|/)cri-containerd-${ID}\\.scope(?:/|$)`)],
  ['cri-o', new RegExp(`(?:^|/)crio-(?:conmon-)?${ID}\\.scope(?:/|$)`)],
  ['podman', new RegExp(`(?:^|/)libpod-(?:conmon-)?${ID}(?:\\.scope)?(?:/|$)`)],
  // cgroupfs driver: /kubepods/burstable/pod<uid>/<id>
  ['kubepods', new RegExp(`(?:^|/)kubepods[^/]*/(?:[^/]+/)*pod[0-9a-f_-]+(?:\\.slice)?/${ID}(?:/|$)`)],
];

/** The container a cgroup path names, where it names one. */
export function containerOf(cgroupPath: string): Container | null {
  for (const [runtime, re] of RUNTIMES) {
    const m = re.exec(cgroupPath);
    if (m) return { runtime, id: m[1] };
  }
  return null;
}

/** The v2 path, else the v1 memory controller's, from /proc/PID/cgroup. */
export function cgroupPathOf(text: string): { path: string; version: 1 | 2 } | null {
  let v2: string | null = null;
  for (const line of text.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    if (m[1].split(',').includes('memory')) return { path: m[2], version: 1 };
    if (m[1] === '') v2 = m[2];
  }
  return v2 === null ? null : { path: v2, version: 2 };
}

const readOr = (file: string): Promise<string | null> => fs.readFile(file, 'utf8').catch(() => null);
const linkOr = (file: string): Promise<string | null> => fs.readlink(file).catch(() => null);

/** Where pid runs, against cowtop's own namespaces. null: it is gone. */
export async function placementOf(pid: number, procRoot = '/proc'): Promise<Placement | null> {
  const dir = path.join(procRoot, String(pid));
  const status = await readOr(path.join(dir, 'status'));
  if (status === null) return null;
  const [pidNs, mntNs, selfPid, selfMnt, cgroupText, uidMap] = await Promise.all([
    linkOr(path.join(dir, 'ns', 'pid')),
    linkOr(path.join(dir, 'ns', 'mnt')),
    linkOr(path.join(procRoot, 'self', 'ns', 'pid')),
    linkOr(path.join(procRoot, 'self', 'ns', 'mnt')),
    readOr(path.join(dir, 'cgroup')),
    readOr(path.join(dir, 'uid_map')),
  ]);
  const nspids = parseNSpid(status) ?? [pid];
  const cg = cgroupText === null ? null : cgroupPathOf(cgroupText);
  const hostUid = /^Uid:\s+(\d+)/m.exec(status);
  return {
    nspids,
    innerPid: nspids[nspids.length - 1],
    // The NSpid list alone cannot tell a sibling namespace (a pod's, seen from its sidecar) from ours.
    otherPidNs: nspids.length > 1 || (pidNs !== null && selfPid !== null && pidNs !== selfPid),
    otherMountNs: mntNs !== null && selfMnt !== null && mntNs !== selfMnt,
    mountNs: mntNs,
    cgroup: cg ? sanitize(cg.path) : null,
    container: cg ? containerOf(cg.path) : null,
    innerUid: uidMap !== null && hostUid ? innerUidOf(uidMap, Number(hostUid[1])) : null,
  };
}

/** The memory cgroup of pid, from /proc/PID/cgroup; null when it is gone or names none. */
export async function cgroupOfPid(pid: number, procRoot = '/proc'): Promise<{ path: string; version: 1 | 2 } | null> {
  const text = await readOr(path.join(procRoot, String(pid), 'cgroup'));
  return text === null ? null : cgroupPathOf(text);
}
