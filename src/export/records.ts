/** Snapshots and reports as batch records: JSON lines, CSV rows or a plain table. */
import { textTable } from '../format/tables';
import type { LogLine } from '../experiment/experiment';
import type { Report } from '../experiment/protocol';
import type { ProcessSample, Snapshot } from '../sample/snapshot';
import type { CopyMap } from '../sample/copy-map';
import { type CgroupSample, oomText } from '../sample/cgroup-watch';
import { isoTime } from '../util/clock';
import { formatBytes, formatCount, formatSeconds } from '../format/units';

export function gcRecord(p: ProcessSample) {
  if (!p.gc) return null;
  return {
    counts: p.gc.counts,
    collections: p.gc.stats?.map((s) => s.collections) ?? null,
    collected: p.gc.stats?.map((s) => s.collected) ?? null,
    uncollectable: p.gc.stats?.map((s) => s.uncollectable) ?? null,
    collectionsSinceFork: p.gc.sinceFork ?? null, // a worker's own; collections is what gc.get_stats says
    frozen: p.gc.frozen,
    threshold: p.gc.threshold ?? null,
    enabled: p.gc.enabled,
    // How old these figures are (ms since the process wrote them), and whether that is past 3
    // of its intervals: an agent that cannot write leaves its last figures behind.
    ...(p.gcAge ? { ageMs: Math.round(p.gcAge.ms), stale: p.gcAge.stale } : {}),
    ...(p.gc.pypy ? { pypy: p.gc.pypy } : {}),
    ...(p.gc.traced ? { traced: { current: p.gc.traced[0], peak: p.gc.traced[1] } } : {}),
  };
}

/** The documented sample record: fields may be added, never renamed. */
export function sampleRecord(s: Snapshot) {
  return {
    type: 'sample',
    t: s.t,
    time: isoTime(s.at ?? Date.now()),
    freeze: s.freeze,
    strategy: s.strategy,
    split: s.split,
    workload: s.workload,
    processes: s.processes.map((p) => ({
      pid: p.pid,
      role: p.role,
      worker: workerNumber(p), // the number on screen
      alive: p.alive,
      ...(p.innerPid != null ? { nspid: p.innerPid } : {}), // its pid in its own PID namespace (a container)
      ...(p.frozen !== null ? { frozen: p.frozen } : {}),
      rss: p.rss,
      pss: p.pss,
      uss: p.uss,
      swap: p.swap,
      shared: p.shared,
      ussGrowth: p.ussGrowth,
      minflt: p.minflt,
      majflt: p.majflt,
      minfltDelta: p.minfltDelta,
      majfltDelta: p.majfltDelta,
      cpu: p.cpu,
      gc: gcRecord(p),
      ...(p.exit
        ? {
            exit: {
              code: p.exit.code ?? null,
              signal: p.exit.signalName ?? p.exit.signal ?? null,
              requested: p.exit.requested,
              ...(p.exit.cause ? { cause: p.exit.cause } : {}),
            },
          }
        : {}),
      ...(p.error ? { error: p.error } : {}),
      ...(s.copies && p.role === 'worker' && p.alive ? { copies: copiesRecord(s.copies, p.pid) } : {}),
    })),
    totals: s.totals,
    // The memory cgroup most of the tree is in (a container's limit): null where none could be read.
    ...(s.cgroups ? { cgroup: s.cgroups.length ? cgroupRecord(s.cgroups[0]) : null } : {}),
    ...(s.cgroups && s.cgroups.length > 1 ? { otherCgroups: s.cgroups.slice(1).map(cgroupRecord) } : {}),
    tickMs: Math.round(s.tickMs * 100) / 100,
    ...(s.copies !== undefined && s.copies !== null
      ? { map: mapRecord(s.copies) }
      : s.copiesNote
        ? { map: { error: s.copiesNote } }
        : {}),
  };
}

function cgroupRecord(c: CgroupSample) {
  return {
    version: c.version,
    path: c.path,
    usage: c.usage,
    limit: c.limit,
    high: c.high,
    anon: c.anon,
    file: c.file,
    shmem: c.shmem,
    oomKills: c.oomKills,
    limitHits: c.limitHits,
    treeProcesses: c.treeProcesses,
    outside: c.outside,
  };
}

/** OOM kills in the tree's cgroups since the last sample, as event records. */
export function oomRecords(s: Snapshot, time = isoTime(s.at)) {
  return (s.ooms ?? []).map((o) => ({
    type: 'event',
    kind: 'oom',
    t: s.t,
    cgroup: o.cgroup,
    kills: o.kills,
    usage: o.usage,
    limit: o.limit,
    gone: o.gone.map((g) => ({ pid: g.pid, role: g.role, worker: g.index === null ? null : g.index + 1 })),
    text: oomText(o),
    time,
  }));
}

/** A worker's pages against the parent's (bytes), null where they cannot be told (no CAP_SYS_ADMIN). */
function copiesRecord(map: CopyMap, pid: number) {
  const w = map.workers.find((x) => x.pid === pid);
  if (!map.privileged || !w) {
    const f = map.fallback.find((x) => x.pid === pid);
    return {
      sharedWithParent: null,
      copied: null,
      newSinceFork: null,
      swapped: null,
      mappings: (f?.mappings ?? []).map((m) => ({ label: m.label, private: m.private, shared: m.shared })),
    };
  }
  return {
    sharedWithParent: w.total.shared,
    copied: w.total.copied,
    newSinceFork: w.total.new,
    swapped: w.total.swapped,
    mappings: w.mappings.map((m) => ({
      label: m.label,
      size: m.size,
      sharedWithParent: m.shared,
      copied: m.copied,
      newSinceFork: m.new,
      swapped: m.swapped,
    })),
    ...(w.copiedKinds ? { copiedKinds: Object.fromEntries(w.copiedKinds.map((k) => [k.kind, k.bytes])) } : {}),
  };
}

/** The map as a whole: when, at what cost, and how much of the parent's anonymous memory each share of workers still holds. */
function mapRecord(map: CopyMap) {
  const pages = map.sharers.length;
  const byAll = pages ? map.sharers.reduce((a, n) => a + (n >= map.workerCount ? 1 : 0), 0) : 0;
  const byNone = pages ? map.sharers.reduce((a, n) => a + (n === 0 ? 1 : 0), 0) : 0;
  return {
    time: isoTime(map.at),
    tookMs: Math.round(map.tookMs * 10) / 10,
    privileged: map.privileged,
    ...(map.why ? { why: map.why } : {}),
    parentAnonPages: pages,
    sharedByAllWorkers: byAll,
    sharedByNoWorker: byNone,
  };
}

/** A report or log line as an event record, or null for reports that only feed samples. */
export function eventRecord(t: number, r: Report | LogLine, time = isoTime()) {
  const e = eventFields(t, r);
  return e && { ...e, time };
}

function eventFields(t: number, r: Report | LogLine) {
  if ('stream' in r) return { type: 'event', kind: 'log', t, stream: r.stream, text: r.text };
  switch (r.type) {
    case 'ready':
      return {
        type: 'event',
        kind: 'ready',
        t,
        pid: r.pid,
        implementation: r.implementation,
        version: r.version,
        size: r.size,
        freeze: r.freeze,
        strategy: r.gc,
        freezeSupported: r.freezeSupported,
        buildSeconds: r.buildSeconds,
        heapBytes: r.heapBytes,
        modules: r.modules,
        importSeconds: r.importSeconds ?? null,
      };
    case 'fork':
      return {
        type: 'event',
        kind: 'fork',
        t,
        pid: r.pid,
        index: r.index, // kept: fields are added, never renamed
        worker: r.index >= 0 ? r.index + 1 : null, // as samples and the screen number it (index + 1)
        freeze: r.freeze,
        strategy: r.gc,
        workload: r.workload,
      };
    case 'exit':
      return {
        type: 'event',
        kind: 'exit',
        t,
        pid: r.pid,
        code: r.code ?? null,
        signal: r.signalName ?? r.signal ?? null,
        requested: r.requested,
        ...(r.cause ? { cause: r.cause } : {}),
      };
    case 'collection':
      return {
        type: 'event',
        kind: 'collect',
        t,
        pid: r.pid,
        generation: r.generation,
        duration: r.duration,
        collected: r.collected,
        uncollectable: r.uncollectable,
        explicit: r.explicit,
      };
    case 'refork':
      return {
        type: 'event',
        kind: 'freeze',
        t,
        freeze: r.freeze,
        strategy: r.gc,
        workload: r.workload,
        workers: r.workers,
        seconds: r.seconds,
      };
    case 'enabled':
      return { type: 'event', kind: 'enabled', t, pid: r.pid, after: r.after, served: r.served };
    case 'error':
      return { type: 'event', kind: 'log', t, stream: 'error', text: r.message };
    default:
      return null;
  }
}

/** The CSV's columns, named as the JSON records name them (t in ms, worker as on screen). */
export const CSV_HEADER =
  't,freeze,pid,role,alive,rss,pss,uss,swap,minflt,majflt,minfltDelta,majfltDelta,cpu,gc0,gc1,gc2,collections0,collections1,collections2,frozen,worker,ussGrowth';

export function csvRows(s: Snapshot): string[] {
  const v = (x: unknown): string =>
    x === null || x === undefined ? '' : typeof x === 'number' ? String(Math.round(x * 100) / 100) : String(x);
  return s.processes.map((p) => {
    const counts = p.gc?.counts ?? [];
    const colls = p.gc?.stats?.map((g) => g.collections) ?? [];
    return [
      s.t,
      s.freeze,
      p.pid,
      p.role,
      p.alive,
      p.rss,
      p.pss,
      p.uss,
      p.swap,
      p.minflt,
      p.majflt,
      p.minfltDelta,
      p.majfltDelta,
      p.cpu,
      counts[0],
      counts[1],
      counts[2],
      colls[0],
      colls[1],
      colls[2],
      p.gc?.frozen,
      workerNumber(p),
      p.ussGrowth,
    ]
      .map(v)
      .join(',');
  });
}

/** A worker's number as the screen shows it (index + 1); null for the parent and others. */
const workerNumber = (p: ProcessSample): number | null =>
  p.role === 'worker' && p.index !== null ? p.index + 1 : null;

/** One unit for a whole column of sizes (its largest value's), so that a column reads down. */
export function bytesColumn(values: ReadonlyArray<number | null>): string[] {
  const max = Math.max(0, ...values.map((v) => Math.abs(v ?? 0)));
  const [unit, size] = max >= 2 ** 30 ? ['GiB', 2 ** 30] : max >= 2 ** 20 ? ['MiB', 2 ** 20] : ['KiB', 1024];
  return values.map((v) => (v === null ? '-' : `${(v / size).toFixed(1)} ${unit}`));
}

/** The clock every format uses: ms since cowtop started (t). */
const clock = (t: number): string => `t=${Math.round(t)}ms`;

/** A sum over the tree; '?' where a process could not be read (never a partial sum). */
const total = (b: number | null): string => (b === null ? '?' : formatBytes(b));

export function tableBlock(s: Snapshot): string {
  const head = `${clock(s.t)}  ${s.freeze === null ? 'gc unknown (no agent)' : s.freeze ? 'FREEZE ON' : 'FREEZE OFF'}  workload=${s.workload}  USS ${total(s.totals.uss)}  PSS ${total(s.totals.pss)}  RSS ${total(s.totals.rss)}`;
  const cols = ['ROLE', 'PID', 'RSS', 'PSS', 'USS', 'GROWTH', 'MINFLT/s', 'GC COUNTS', 'FROZEN'];
  const ps = s.processes;
  const sizes = (get: (p: (typeof ps)[number]) => number | null): string[] => bytesColumn(ps.map(get));
  const [rss, pss, uss, growth] = [
    sizes((p) => p.rss),
    sizes((p) => p.pss),
    sizes((p) => p.uss),
    sizes((p) => p.ussGrowth),
  ];
  const rows = ps.map((p, i) => [
    p.alive ? p.role : `${p.role}(exited)`,
    String(p.pid),
    rss[i],
    pss[i],
    uss[i],
    growth[i],
    formatCount(p.minfltDelta === null ? null : (p.minfltDelta * 1000) / Math.max(1, s.elapsedMs)),
    p.gc?.counts ? p.gc.counts.join('/') : '-',
    formatCount(p.gc?.frozen),
  ]);
  return [head, ...textTable([cols, ...rows], 1, [], '  ').lines].join('\n');
}

/** A field of an event as a person reads it: seconds and bytes with their unit, lists joined. */
function fieldText(key: string, val: unknown): string {
  if (Array.isArray(val)) return val.join(',');
  if (typeof val !== 'number') return String(val);
  if (/seconds$|^duration$|^after$/i.test(key)) return formatSeconds(val).replace(' ', '');
  if (/Bytes$/.test(key)) return formatBytes(val).replace(' ', '');
  return Number.isInteger(val) ? String(val) : val.toFixed(2);
}

export function eventLine(e: ReturnType<typeof eventRecord>): string {
  if (!e) return '';
  const t = clock(e.t);
  switch (e.kind) {
    case 'collect':
      return `${t}  collect   pid ${e.pid} gen ${e.generation} in ${formatSeconds(e.duration)}, ${formatCount(e.collected)} collected`;
    case 'log':
      return `${t}  log       [${e.stream}] ${e.text}`;
    default: {
      const { type: _t, kind, t: _tt, time: _time, ...rest } = e as Record<string, unknown>;
      return `${t}  ${String(kind).padEnd(8)}  ${Object.entries(rest)
        .filter(([, val]) => val !== undefined)
        .map(([k, val]) => `${k}=${fieldText(k, val)}`)
        .join(' ')}`;
    }
  }
}
