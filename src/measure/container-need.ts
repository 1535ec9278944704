/**
 * What run --compare's passes mean for a container: the memory its cgroup was charged at the
 * peak of each pass (sampled every tick), or, where the cgroup holds other processes too
 * (cowtop itself, a sidecar), the tree's Σ PSS; and the memory request and limit each pass
 * would need: the request what it held after the load, the limit its peak with LIMIT_HEADROOM.
 */
import type { Snapshot } from '../sample/snapshot';

export const LIMIT_HEADROOM = 1.25;
const STEP = 8 * 2 ** 20; // quantities in whole 8 MiB steps: 264Mi, not 263.4Mi

export interface PassMemory {
  cgroup: string | null; // the cgroup holding most of the tree (as /proc/PID/cgroup names it)
  limit: number | null;
  /** Processes in it that are not the tree's, at the last sample and at the peak's (null: unreadable). */
  outside: number | null;
  peakOutside: number | null;
  peakUsage: number | null;
  afterUsage: number | null;
  peakPss: number | null; // Σ PSS of the tree (null: a process unreadable)
  afterPss: number | null;
}

export class PeakWatch {
  private m: PassMemory = {
    cgroup: null,
    limit: null,
    outside: null,
    peakOutside: null,
    peakUsage: null,
    afterUsage: null,
    peakPss: null,
    afterPss: null,
  };

  observe(s: Snapshot): void {
    const cg = s.cgroups?.[0];
    const max = (a: number | null, b: number | null | undefined): number | null =>
      b == null ? a : a === null ? b : Math.max(a, b);
    // The tree moved (a launcher that enters its container's cgroup, then execs the server):
    // the cgroup's figures start again; Σ PSS is the tree's wherever it is.
    if (cg && cg.path !== this.m.cgroup)
      this.m = { ...this.m, cgroup: cg.path, peakOutside: null, peakUsage: null, afterUsage: null };
    const peak = cg?.usage != null && (this.m.peakUsage === null || cg.usage > this.m.peakUsage);
    this.m = {
      cgroup: cg?.path ?? this.m.cgroup,
      limit: cg ? cg.limit : this.m.limit,
      outside: cg ? cg.outside : this.m.outside,
      // A peak while another process shared the cgroup is no figure of the tree's alone.
      peakOutside: peak ? cg!.outside : this.m.peakOutside,
      peakUsage: max(this.m.peakUsage, cg?.usage),
      afterUsage: cg?.usage ?? null,
      peakPss: max(this.m.peakPss, s.totals.pss),
      afterPss: s.totals.pss,
    };
  }

  /** What was seen over the pass; the figures after are the last sample's. */
  get memory(): PassMemory {
    return this.m;
  }
}

export interface Need {
  peak: number;
  after: number;
  request: number; // bytes, a multiple of 8 MiB
  limit: number;
}

export interface ContainerNeed {
  /** cgroup: its usage is the tree's alone in both passes; pss: the tree's Σ PSS stands in. */
  basis: 'cgroup' | 'pss' | null;
  cgroup: string | null;
  currentLimit: number | null;
  without: Need | null;
  with: Need | null;
}

const up = (n: number): number => Math.max(STEP, Math.ceil(n / STEP) * STEP);

function need(peak: number | null, after: number | null): Need | null {
  if (peak === null || after === null) return null;
  return { peak, after, request: up(after), limit: up(peak * LIMIT_HEADROOM) };
}

export function containerNeed(off: PassMemory, on: PassMemory): ContainerNeed {
  const own = (m: PassMemory): boolean =>
    m.outside === 0 && m.peakOutside === 0 && m.peakUsage !== null && m.afterUsage !== null;
  const basis = own(off) && own(on) ? 'cgroup' : off.peakPss !== null && on.peakPss !== null ? 'pss' : null;
  const pick = (m: PassMemory): Need | null =>
    basis === 'cgroup' ? need(m.peakUsage, m.afterUsage) : basis === 'pss' ? need(m.peakPss, m.afterPss) : null;
  return { basis, cgroup: off.cgroup, currentLimit: off.limit, without: pick(off), with: pick(on) };
}

/** "264Mi": a Kubernetes quantity. */
export const quantity = (bytes: number): string => `${Math.round(bytes / 2 ** 20)}Mi`;

/** The lines run --compare prints about the container, in words. */
export function containerLines(c: ContainerNeed, fmt: (n: number) => string): string[] {
  if (!c.basis || !c.without || !c.with)
    return ['Container memory: unknown (no memory cgroup readable, and Σ PSS incomplete).'];
  const where =
    c.basis === 'cgroup'
      ? `cgroup ${c.cgroup}${c.currentLimit === null ? ', no limit' : `, limit ${fmt(c.currentLimit)}`}; its usage, sampled every tick of the pass`
      : c.cgroup
        ? `Σ PSS of the tree: its cgroup ${c.cgroup} holds other processes too (cowtop itself?), so its usage is not the server's`
        : 'Σ PSS of the tree: no memory cgroup readable';
  const pct = (a: number, b: number): string =>
    a > 0 ? ` (${b <= a ? '-' : '+'}${Math.abs(Math.round((1 - b / a) * 100))}%)` : '';
  return [
    `Container memory (${where}): peak ${fmt(c.without.peak)} -> ${fmt(c.with.peak)}${pct(c.without.peak, c.with.peak)} with the freeze recipe; after the load ${fmt(c.without.after)} -> ${fmt(c.with.after)}`,
    `It would need requests.memory ${quantity(c.without.request)} / limits.memory ${quantity(c.without.limit)} as it is, ${quantity(c.with.request)} / ${quantity(c.with.limit)} with the recipe (request: what it held after the load; limit: its peak + ${Math.round((LIMIT_HEADROOM - 1) * 100)}%)`,
  ];
}
