/**
 * --prometheus PORT: OpenMetrics for a fleet, so many machines are watched with Prometheus and
 * Grafana rather than anything home-made. Values are taken from the latest snapshot when
 * scraped: a scrape never reads /proc.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import { UsageError } from '../util/usage-error';
import type { CgroupSample, ProcessSample, Snapshot } from '../sample/snapshot';

/** Every series carries the server's name, so one Prometheus can hold a fleet of them. */
const PROCESS_LABELS = ['name', 'pid', 'role', 'worker'] as const;

/** 1 when a live process reported frozen objects, 0 when some reported and none has any, else unknown. */
function frozenOf(s: Snapshot): number | null {
  const reported = s.processes.filter((p) => p.alive && p.gc?.frozen !== undefined && p.gc?.frozen !== null);
  if (reported.some((p) => p.gc!.frozen! > 0)) return 1;
  return reported.length ? 0 : null;
}

export class MetricsServer {
  readonly registry = new Registry();
  private latest: Snapshot | null = null;
  private server: Server | null = null;

  constructor(
    readonly host: string,
    readonly port: number,
    readonly name = 'cowtop',
  ) {
    this.registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE as never);
    const live = (): ProcessSample[] => this.latest?.processes.filter((p) => p.alive) ?? [];
    // worker: 1-based as on screen; the master and the experiment's parent have none ("").
    const labels = (p: ProcessSample) => ({
      name,
      pid: String(p.pid),
      role: p.role,
      worker: p.index === null ? '' : String(p.index + 1),
    });
    // Per copy map, once: a scrape of a big tree must not search the workers for every row.
    const byPid = new WeakMap<object, Map<number, number>>();
    const copied = (p: ProcessSample): number | null => {
      const map = this.latest?.copies;
      if (!map?.privileged) return null;
      let m = byPid.get(map);
      if (!m) byPid.set(map, (m = new Map(map.workers.map((w) => [w.pid, w.total.copied]))));
      return m.get(p.pid) ?? null;
    };
    /** One series per live process: a Gauge is set, a Counter (cumulative in /proc) is reset and raised to it. */
    const perProcess = (
      kind: 'gauge' | 'counter',
      name: string,
      help: string,
      get: (p: ProcessSample) => number | null,
    ): void => {
      const Metric = kind === 'gauge' ? Gauge : Counter;
      new Metric({
        name,
        help,
        labelNames: PROCESS_LABELS,
        registers: [this.registry],
        collect(this: Gauge | Counter) {
          this.reset();
          for (const p of live()) {
            const v = get(p);
            if (v === null) continue;
            if (this instanceof Gauge) this.set(labels(p), v);
            else this.inc(labels(p), v);
          }
        },
      } as never);
    };
    perProcess(
      'gauge',
      'cowtop_process_uss_bytes',
      'Unique set size: Private_Clean + Private_Dirty from smaps_rollup',
      (p) => p.uss,
    );
    perProcess('gauge', 'cowtop_process_pss_bytes', 'Proportional set size (Pss from smaps_rollup)', (p) => p.pss);
    perProcess('gauge', 'cowtop_process_rss_bytes', 'Resident set size (Rss from smaps_rollup, or stat)', (p) => p.rss);
    perProcess('gauge', 'cowtop_process_swap_bytes', 'Swap from smaps_rollup', (p) => p.swap);
    perProcess(
      'gauge',
      'cowtop_process_copied_bytes',
      'Pages of the parent this worker no longer shares: a different frame in pagemap (the copy map; needs CAP_SYS_ADMIN, read every 10 s)',
      copied,
    );
    perProcess(
      'gauge',
      'cowtop_gc_frozen_objects',
      'gc.get_freeze_count(): objects in the permanent generation',
      (p) => p.gc?.frozen ?? null,
    );
    perProcess(
      'counter',
      'cowtop_process_minor_faults',
      'Minor page faults since the process started (stat field 10)',
      (p) => p.minflt,
    );
    perProcess(
      'counter',
      'cowtop_process_major_faults',
      'Major page faults since the process started (stat field 12)',
      (p) => p.majflt,
    );
    new Gauge({
      name: 'cowtop_gc_count',
      help: 'gc.get_count() per generation: allocations less deallocations since its last collection',
      labelNames: [...PROCESS_LABELS, 'generation'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const p of live()) {
          for (const [g, c] of (p.gc?.counts ?? []).entries()) this.set({ ...labels(p), generation: String(g) }, c);
        }
      },
    });
    new Counter({
      name: 'cowtop_gc_collections',
      help: 'Collections per generation (gc.get_stats)',
      labelNames: [...PROCESS_LABELS, 'generation'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const p of live())
          for (const [g, s] of (p.gc?.stats ?? []).entries())
            this.inc({ ...labels(p), generation: String(g) }, s.collections);
      },
    });
    const tree = (metric: string, help: string, get: (s: Snapshot) => number | null): void => {
      const snap = (): Snapshot | null => this.latest;
      new Gauge({
        name: metric,
        help,
        labelNames: ['name'],
        registers: [this.registry],
        collect() {
          this.reset();
          const s = snap();
          const v = s ? get(s) : null;
          if (v !== null) this.set({ name }, v);
        },
      });
    };
    tree('cowtop_tree_uss_bytes', 'Sum of USS over the tree', (s) => s.totals.uss);
    tree('cowtop_tree_pss_bytes', 'Sum of PSS over the tree: its real footprint', (s) => s.totals.pss);
    tree('cowtop_tree_rss_bytes', 'Sum of RSS over the tree: what top suggests', (s) => s.totals.rss);
    tree('cowtop_tree_processes', 'Live processes in the tree', (s) => s.processes.filter((p) => p.alive).length);
    tree(
      'cowtop_tree_frozen',
      '1 when a process of the tree has frozen objects (gc.freeze() was called), else 0',
      (s) => frozenOf(s),
    );
    tree(
      'cowtop_tree_copied_bytes',
      "Sum over the workers of the parent's pages they no longer share (the copy map)",
      (s) => (s.copies?.privileged ? s.copies.workers.reduce((a, w) => a + w.total.copied, 0) : null),
    );
    this.cgroupMetrics(name);
  }

  /** The tree's memory cgroups, labelled by path: what a pod or container is charged against its limit. */
  private cgroupMetrics(name: string): void {
    const groups = (): readonly CgroupSample[] => this.latest?.cgroups ?? [];
    const cgroup = (
      kind: 'gauge' | 'counter',
      metric: string,
      help: string,
      get: (c: CgroupSample) => number | null,
    ): void => {
      const Metric = kind === 'gauge' ? Gauge : Counter;
      new Metric({
        name: metric,
        help,
        labelNames: ['name', 'cgroup'],
        registers: [this.registry],
        collect(this: Gauge | Counter) {
          this.reset();
          for (const c of groups()) {
            const v = get(c);
            if (v === null) continue;
            if (this instanceof Gauge) this.set({ name, cgroup: c.path }, v);
            else this.inc({ name, cgroup: c.path }, v);
          }
        },
      } as never);
    };
    cgroup(
      'gauge',
      'cowtop_cgroup_usage_bytes',
      "Memory charged to the tree's cgroup (memory.current / memory.usage_in_bytes)",
      (c) => c.usage,
    );
    cgroup(
      'gauge',
      'cowtop_cgroup_limit_bytes',
      'The lowest memory limit on the cgroup and its ancestors (memory.max / hierarchical_memory_limit); absent: none',
      (c) => c.limit,
    );
    cgroup(
      'gauge',
      'cowtop_cgroup_anon_bytes',
      'Anonymous memory in the cgroup (memory.stat anon / total_rss)',
      (c) => c.anon,
    );
    cgroup(
      'gauge',
      'cowtop_cgroup_file_bytes',
      'Page cache in the cgroup (memory.stat file / total_cache)',
      (c) => c.file,
    );
    cgroup(
      'gauge',
      'cowtop_cgroup_outside_processes',
      "Processes in the cgroup that are not the tree's: usage then counts theirs too",
      (c) => c.outside,
    );
    cgroup(
      'counter',
      'cowtop_cgroup_oom_kills',
      "Processes the kernel's OOM killer killed in the cgroup (memory.events oom_kill / memory.oom_control)",
      (c) => c.oomKills,
    );
  }

  update(snap: Snapshot): void {
    this.latest = snap;
  }

  /** Listens; a port in use or a bad address is the user's to fix: one line, exit 2. */
  start(): Promise<void> {
    this.server = createServer((req, res) => {
      if (req.url !== '/metrics' && req.url !== '/') {
        res.writeHead(404).end('see /metrics\n');
        return;
      }
      this.registry.metrics().then(
        (body) => res.writeHead(200, { 'Content-Type': this.registry.contentType }).end(body),
        (err: Error) => res.writeHead(500).end(String(err.message)),
      );
    });
    return new Promise((resolve, reject) => {
      this.server!.once('error', (err: NodeJS.ErrnoException) =>
        reject(new UsageError(`cannot serve metrics on ${this.host}:${this.port}: ${err.code ?? err.message}`)),
      );
      this.server!.listen(this.port, this.host, () => resolve());
    });
  }

  close(): void {
    this.server?.close();
  }
}
