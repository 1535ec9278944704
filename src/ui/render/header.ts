/** The dashboard's header lines: what runs, its mode, the totals; the attached tree's place and cgroup. */
import { TRACKED_PER_RECORD } from '../../experiment/options';
import { STARTING } from '../splash';
import { formatBytes, formatCount, formatDuration } from '../../format/units';
import type { Snapshot } from '../../sample/snapshot';
import type { DashboardModel } from '../model';
import type { Placement } from '../../proc/placement';
import { esc, type Theme } from '../theme';
import { unitSuffix } from '../columns';

/** What the attached header counts in a snapshot: once per snapshot, not per frame (2,000 rows). */
const countsCache = new WeakMap<
  Snapshot,
  { workers: number; live: number; masterGc: boolean; frozen: number | null }
>();
function treeCounts(s: Snapshot): { workers: number; live: number; masterGc: boolean; frozen: number | null } {
  let counts = countsCache.get(s);
  if (!counts) {
    counts = { workers: 0, live: 0, masterGc: false, frozen: null };
    for (const p of s.processes) {
      if (p.role === 'master' && p.gc) counts.masterGc = true;
      if (!p.alive) continue;
      counts.live++;
      if (p.role === 'worker') counts.workers++;
      if (p.gc?.frozen != null) counts.frozen = Math.max(counts.frozen ?? 0, p.gc.frozen);
    }
    countsCache.set(s, counts);
  }
  return counts;
}

function attachedHeader(
  model: DashboardModel,
  s: Snapshot | null,
  width: number,
  theme: Theme,
  now: number,
  rowsShown: string | null,
): string {
  const a = model.attached!;
  const counts = s ? treeCounts(s) : null;
  const workers = counts?.workers ?? 0;
  const live = counts?.live ?? 0;
  const title = a.run ? 'cowtop run' : 'cowtop attach';
  const where = placementText(a.where ?? null);
  const agents = a.agents ? `gc agent ${a.agents}/${live}` : 'no gc agent';
  // Where it runs and whether the agents answer say more than the command's tail: it gives way.
  const others = [title, String(a.pid), where, `workers ${workers}`, agents].filter(Boolean);
  const room = width - others.reduce((n, t) => n + t.replace(/\{[^}]*\}/g, '').length + 2, 1);
  const max = Math.max(16, Math.min(50, room));
  const command = a.command.length > max ? `${a.command.slice(0, max - 1)}…` : a.command;
  const first = fitParts(
    [
      [`{bold}${title}{/bold}`, 0],
      [`${a.pid} ${esc(command)}`, 0],
      [where, 0],
      [`workers ${workers}`, 0],
      [agents, 1],
      [a.implementation ? esc(a.implementation) : '', 2],
      [`sizes in ${unitSuffix(model.view.units)}`, 2],
      [everyText(model.intervalMs), 1],
      [`up ${formatDuration(now - model.startedAt)}`, 3],
    ].filter(([t]) => t) as Array<[string, number]>,
    width,
  );
  // The most any process froze: the recipe's workers freeze too (uWSGI runs no before-fork hook).
  const frozen = counts?.frozen ?? null;
  // What the processes report (the workers' frozen counts), never what cowtop run asked for.
  const observed = s?.freeze ?? null;
  const mode =
    observed === null
      ? theme.dim(a.run && !counts?.masterGc ? ' gc: no agent yet ' : ' gc: no agent ')
      : observed
        ? theme.freezeOn(' FREEZE ON ')
        : theme.freezeOff(' FREEZE OFF ');
  const parts: Array<[string, number]> = [[mode, 0]];
  if (a.run?.freeze && observed === false) parts.push([theme.warn('--freeze asked, but the workers froze nothing'), 0]);
  else if (a.run)
    parts.push([theme.dim(a.run.freeze ? 'recipe: gc off in master, freeze at fork' : 'gc as the app sets it'), 1]);
  if (frozen) parts.push([`frozen ${formatCount(frozen)}`, 2]);
  // cowtop saw nothing before it attached: growth is from then, not from the fork.
  parts.push([theme.dim(a.run ? 'GROWTH since first seen' : 'GROWTH since attach'), 2]);
  // COPIED is read from the copy map every 10 s in the background, USS every tick: say how old.
  const copiedAge = s?.copies?.privileged ? copiesAge(s.copies.at, s.at) : null;
  if (copiedAge !== null) parts.push([theme.dim(`COPIED ${copiedAge} old`), 2]);
  if (model.view.paused) parts.push([theme.warn('{bold}PAUSED{/bold}'), 0]);
  if (model.view.notice) parts.push([theme.warn(`{bold}${esc(model.view.notice)}{/bold}`), 0]);
  if (s) {
    parts.push(...totalParts(s.totals));
  }
  if (rowsShown) parts.push([theme.dim(rowsShown), 0]); // rows out of sight: always said
  return withCgroup(`${first}\n${fitParts(parts, width)}`, model, s, width, theme);
}

function withCgroup(text: string, model: DashboardModel, s: Snapshot | null, width: number, theme: Theme): string {
  const line = cgroupLine(model, s, width, theme);
  return line ? `${text}\n${line}` : text;
}

export function headerText(
  model: DashboardModel,
  s: Snapshot | null,
  width: number,
  theme: Theme,
  now: number,
  /** Which table rows are shown, where the table's title has no room to say it. */
  rowsShown: string | null = null,
): string {
  if (model.attached) return attachedHeader(model, s, width, theme, now, rowsShown);
  const r = model.ready;
  const up = formatDuration(now - model.startedAt);
  const workers = s ? s.processes.filter((p) => p.role === 'worker' && p.alive).length : 0;
  const first = r
    ? fitParts(
        [
          ['{bold}cowtop{/bold}', 2], // the terminal's title says what runs: the figures keep their room first
          [`${esc(r.implementation)} ${esc(r.version)}`, 1],
          [`records ${formatCount(r.size)}`, 0],
          [`(${formatCount(r.size * TRACKED_PER_RECORD)} gc-tracked)`, 3],
          [`heap ${formatBytes(r.heapBytes)}`, 2],
          [`workers ${workers}`, 0],
          [`workload ${esc(s?.workload ?? r.workload)}`, 0],
          // The column titles carry the unit too; the interval is said nowhere else ([ ] change it).
          [`sizes in ${unitSuffix(model.view.units)}`, 2],
          [everyText(model.intervalMs), 1],
          [`up ${up}`, 3],
        ],
        width,
      )
    : `{bold}cowtop{/bold}  ${STARTING}  up ${up}`;
  const freeze = s?.freeze ?? r?.freeze ?? false;
  const split = s?.split ?? false;
  const strategy = s?.strategy ?? r?.gc ?? 'default';
  const mode = split
    ? `${theme.freezeOff(' SPLIT: ')}${theme.freezeOn(' half frozen ')}`
    : freeze
      ? theme.freezeOn(' FREEZE ON ')
      : strategy.startsWith('disable')
        ? theme.freezeOff(' GC DISABLED ')
        : strategy.startsWith('threshold')
          ? theme.freezeOff(' GC THRESHOLD ')
          : r && !r.freezeSupported
            ? theme.dim(' NO gc.freeze() ')
            : theme.freezeOff(' FREEZE OFF ');
  const frozen = s?.processes.find((p) => p.role === 'parent')?.gc?.frozen;
  // [text, priority]: lower numbers stay when the line is too long for the terminal.
  const parts: Array<[string, number]> = [[mode, 0]];
  if (s && split) parts.push([groupMeans(s), 0]);
  const thresholds = workerThresholds(s);

  if (model.view.paused) parts.push([theme.warn('{bold}PAUSED{/bold}'), 0]);
  if (model.view.pending) parts.push([theme.warn(esc(model.view.pending)), 0]);
  if (model.view.notice) parts.push([theme.warn(`{bold}${esc(model.view.notice)}{/bold}`), 0]);
  if (s && !s.procAvailable) parts.push([theme.warn('no /proc: USS/PSS/faults unknown'), 1]);
  if (s) {
    parts.push(...totalParts(s.totals));
  }
  // The thresholds in force in the workers (gc.get_threshold()): what the strategy set.
  if (thresholds) parts.push([`thresholds ${thresholds}`, strategy.startsWith('threshold') ? 1 : 3]);
  if (frozen !== undefined && frozen !== null) parts.splice(1, 0, [`frozen ${formatCount(frozen)}`, 2]);
  if (rowsShown) parts.push([theme.dim(rowsShown), 0]); // rows out of sight: always said
  return withCgroup(`${first}\n${fitParts(parts, width)}`, model, s, width, theme);
}

/** How old the copy map is against the sample it rides with: "4s"; null while it is fresh (a tick). */
export function copiesAge(mapAt: number, sampleAt: number): string | null {
  const s = Math.round((sampleAt - mapAt) / 1000);
  return s >= 2 ? `${s}s` : null;
}

/** Σ USS, Σ PSS, Σ RSS and shared, with their priorities; a sum nobody could read is '?'. */
function totalParts(t: Snapshot['totals']): Array<[string, number]> {
  const size = (b: number | null): string => (b === null ? '?' : formatBytes(b));
  return [
    [`Σ USS ${size(t.uss)}`, 1],
    [`Σ PSS ${size(t.pss)}`, 1],
    [`Σ RSS ${size(t.rss)}`, 2],
    [`shared ${size(t.shared)}`, 3],
  ];
}

/** The thresholds the workers run with (gc.get_threshold()), or 'off' when their gc is disabled. */
function workerThresholds(s: Snapshot | null): string | null {
  const w = s?.processes.find((p) => p.role === 'worker' && p.alive && p.gc);
  if (!w?.gc) return null;
  if (!w.gc.enabled) return 'off';
  return w.gc.threshold ? w.gc.threshold.join('/') : null;
}

/** Split view: the mean USS of each group of workers, the difference in one glance. */
export function groupMeans(s: Snapshot): string {
  const mean = (frozen: boolean): string => {
    const ws = s.processes.filter((p) => p.alive && p.role === 'worker' && p.frozen === frozen && p.uss !== null);
    return ws.length ? formatBytes(ws.reduce((a, p) => a + p.uss!, 0) / ws.length) : '-';
  };
  return `mean USS: no freeze ${mean(false)} | frozen ${mean(true)}`;
}

/** Joins parts with two spaces, dropping the lowest priority ones until the line fits. */
export function fitParts(parts: Array<[string, number]>, width: number): string {
  const visible = (s: string): number => s.replace(/\{[^}]*\}/g, '').length;
  const list = [...parts];
  const len = (): number => list.reduce((a, [t]) => a + visible(t) + 2, -2);
  for (let level = 3; level > 0 && len() > width; level--) {
    for (let i = list.length - 1; i >= 0 && len() > width; i--) if (list[i][1] === level) list.splice(i, 1);
  }
  return list.map(([t]) => t).join('  ');
}

/** The sampling interval as the header says it: "every 0.5s", "every 2s". */
export function everyText(ms: number): string {
  return `every ${ms < 1000 ? (ms / 1000).toFixed(1) : String(Math.round(ms / 100) / 10)}s`;
}

/** Where the attached root runs, when that is not beside cowtop: its container, its pid there. */
export function placementText(where: Placement | null): string {
  if (!where) return '';
  const there = where.otherPidNs ? `pid ${where.innerPid} there` : '';
  if (where.container)
    return esc(`in ${where.container.runtime} ${where.container.id.slice(0, 12)}${there ? `, ${there}` : ''}`);
  if (where.otherPidNs) return `in another PID namespace, ${there}`;
  return where.otherMountNs ? 'in another mount namespace' : '';
}

/**
 * The tree's memory cgroup against its limit, as one line: a bar, anon against page cache, and
 * the headroom (more workers at the workers' mean USS, or time to the limit at the growth of the
 * last minute). Only where there is a limit: without one there is nothing to run into.
 */
export function cgroupLine(model: DashboardModel, s: Snapshot | null, width: number, theme: Theme): string | null {
  const c = s?.cgroups?.[0];
  if (!c || c.limit === null || c.usage === null) return null;
  const share = Math.min(1, c.usage / c.limit);
  const barWidth = 10;
  const full = Math.round(share * barWidth);
  const bar = `[${'#'.repeat(full)}${'.'.repeat(barWidth - full)}]`;
  const pct = `${Math.round(share * 100)}%`;
  const paint = share >= 0.9 ? theme.warn : (t: string) => t;
  const workers = s!.processes.filter((p) => p.alive && p.role === 'worker' && p.uss !== null);
  const meanUss = workers.length ? workers.reduce((a, p) => a + p.uss!, 0) / workers.length : null;
  const room = Math.max(0, c.limit - c.usage);
  const growth = model.cgroupGrowth();
  const parts: Array<[string, number]> = [
    [theme.dim('CGROUP'), 0],
    [paint(`${bar} ${formatBytes(c.usage)} of ${formatBytes(c.limit)} ${pct}`), 0],
    [c.anon !== null && c.file !== null ? `anon ${formatBytes(c.anon)} file ${formatBytes(c.file)}` : '', 2],
    [meanUss ? `room for ${Math.floor(room / meanUss)} more workers at ${formatBytes(meanUss)}` : '', 1],
    [
      growth !== null && growth > 0
        ? `limit in ${formatDuration((room / growth) * 1000)} at +${formatBytes(growth)}/s`
        : '',
      1,
    ],
    [c.oomKills ? theme.warn(`OOM kills ${c.oomKills}`) : '', 0],
    [c.outside ? theme.dim(`+${c.outside} other processes`) : '', 2],
    [theme.dim(esc(c.path.length > 40 ? `…${c.path.slice(-39)}` : c.path)), 3],
  ];
  return fitParts(
    parts.filter(([t]) => t),
    width,
  );
}
