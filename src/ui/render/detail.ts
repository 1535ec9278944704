/**
 * Enter: one process in full, from the same snapshot the table draws (the UI reads no /proc):
 * every smaps_rollup field under the kernel's own name, the fault counters, the gc state, the
 * command line. And k's question: which signal, to which process.
 */
import { exitNote, exitReason } from '../../experiment/exit-reason';
import { formatBytes, formatCount, formatSeconds } from '../../format/units';
import { SIGNAL_HELP, SIGNALS } from '../../proc/signal';
import { kindsText } from '../../sample/copy-map';
import type { ProcessSample } from '../../sample/snapshot';
import type { Confirm, DashboardModel } from '../model';
import { esc, type Theme } from '../theme';
import type { Frame } from './types';
import { roleText } from '../rows';

/** smaps_rollup's lines in the kernel's order, with the field each is parsed into. */
const ROLLUP: Array<[string, keyof NonNullable<ProcessSample['rollup']>]> = [
  ['Rss', 'rss'],
  ['Pss', 'pss'],
  ['Pss_Anon', 'pssAnon'],
  ['Pss_File', 'pssFile'],
  ['Pss_Shmem', 'pssShmem'],
  ['Pss_Dirty', 'pssDirty'],
  ['Shared_Clean', 'sharedClean'],
  ['Shared_Dirty', 'sharedDirty'],
  ['Private_Clean', 'privateClean'],
  ['Private_Dirty', 'privateDirty'],
  ['Swap', 'swap'],
  ['SwapPss', 'swapPss'],
];

const kb = (bytes: number): string => `${formatCount(bytes / 1024)} kB`;
const row = (name: string, value: string, note = ''): string =>
  `  {bold}${name.padEnd(16)}{/bold}${value.padStart(14)}${note ? `  ${note}` : ''}`;

export function detailLines(p: ProcessSample | null, key: string, model: DashboardModel, theme: Theme): string[] {
  if (!p)
    return [
      theme.warn(`The process ${esc(key.split(':')[0])} is gone: it is no longer in the tree.`),
      '',
      'Esc closes this pane.',
    ];
  const lines: string[] = [];
  const head = [`{bold}${esc(roleText(p))}{/bold}`, `pid ${p.pid}`];
  if (p.innerPid != null) head.push(`pid ${p.innerPid} in its namespace`);
  if (p.ppid) head.push(`ppid ${p.ppid}`);
  if (p.state) head.push(`state ${esc(p.state)}`);
  if (!p.alive) head.push(theme.warn('exited'));
  if (model.view.paused) head.push(theme.warn('PAUSED'));
  lines.push(head.join('   '));
  lines.push(`  {bold}${'command'.padEnd(16)}{/bold}${esc(p.command ?? '-')}`);
  const where = model.attached?.where;
  if (where && (where.otherPidNs || where.otherMountNs || where.container)) {
    const ns = [
      where.otherPidNs ? `PID namespace: pid ${where.nspids.join(' > ')}` : "PID namespace: cowtop's",
      where.otherMountNs ? `its own mount namespace (${where.mountNs})` : "cowtop's mount namespace",
    ];
    lines.push(`  {bold}${'tree runs in'.padEnd(16)}{/bold}${esc(ns.join(', '))}`);
    const box = where.container ? `${where.container.runtime} ${where.container.id}` : 'none named';
    lines.push(`  {bold}${'container'.padEnd(16)}{/bold}${esc(`${box}; cgroup ${where.cgroup ?? '?'}`)}`);
  }
  // The experiment's argv is the one it started with; a re-fork changes what its workers run.
  const s = model.shown;
  if (!model.attached && s && p.alive && (p.role === 'worker' || p.role === 'parent')) {
    const frozen = p.gc?.frozen
      ? `frozen (${formatCount(p.gc.frozen)} objects)`
      : p.gc
        ? 'not frozen'
        : 'frozen: not reported yet';
    lines.push(
      `  {bold}${'runs now'.padEnd(16)}{/bold}${esc(`workload ${s.workload}, gc ${s.strategy ?? '?'}, ${frozen}`)}${theme.dim('  (the command line is the one it started with)')}`,
    );
  }
  lines.push('', `{bold}Memory{/bold}  /proc/${p.pid}/smaps_rollup, as the kernel names it`);
  const r = p.rollup ?? null;
  if (r) {
    for (const [name, field] of ROLLUP) {
      const v = r[field];
      if (v !== undefined) lines.push(row(name, kb(v), theme.dim(formatBytes(v))));
    }
    lines.push(row('USS', kb(r.uss), theme.dim(`${formatBytes(r.uss)} = Private_Clean + Private_Dirty (smem's USS)`)));
  } else {
    lines.push(
      theme.dim(
        `  ${p.error ? esc(p.error) : p.alive ? 'not read (no /proc, or not permitted)' : 'the process exited'}`,
      ),
    );
  }
  lines.push(...copyLines(p, model, theme));
  if (p.ussGrowth !== null)
    lines.push(
      row(
        'USS growth',
        formatBytes(p.ussGrowth),
        theme.dim(
          model.attached ? 'since cowtop attached' : 'since the first sample after fork: pages no longer shared',
        ),
      ),
    );
  lines.push('', `{bold}Page faults{/bold}  /proc/${p.pid}/stat`);
  const rate = (d: number | null): string =>
    d === null || !model.shown ? '' : theme.dim(`${formatCount((d * 1000) / model.shown.elapsedMs)}/s now`);
  lines.push(
    row('minflt', formatCount(p.minflt), rate(p.minfltDelta)),
    row('majflt', formatCount(p.majflt), rate(p.majfltDelta)),
  );
  if (p.cpu !== null) lines.push(row('CPU', `${p.cpu.toFixed(1)}%`, theme.dim('of one core, last interval')));
  lines.push(
    '',
    `{bold}Python gc{/bold}  ${p.gc ? (model.attached ? 'from the gc agent' : 'reported by the experiment') : ''}`,
  );
  const g = p.gc;
  if (!g) {
    lines.push(
      theme.dim(model.attached ? '  no gc agent in this process (see cowtop agent --path)' : '  not reported yet'),
    );
  } else {
    lines.push(row('enabled', String(g.enabled)));
    if (g.counts)
      lines.push(
        row('get_count()', g.counts.join(' / '), theme.dim('objects per generation since its last collection')),
      );
    if (g.threshold) lines.push(row('get_threshold()', g.threshold.join(' / ')));
    if (g.frozen !== null)
      lines.push(row('get_freeze_count()', formatCount(g.frozen), theme.dim('objects in the permanent generation')));
    if (g.sinceFork)
      lines.push(row('since fork', g.sinceFork.join(' / '), theme.dim('collections per generation in this process')));
    for (const [i, st] of (g.stats ?? []).entries())
      lines.push(
        row(
          `gen ${i}`,
          `${formatCount(st.collections)} colls`,
          theme.dim(
            `${formatCount(st.collected)} collected, ${formatCount(st.uncollectable)} uncollectable (gc.get_stats)`,
          ),
        ),
      );
    if (g.traced)
      lines.push(row('tracemalloc', formatBytes(g.traced[0]), theme.dim(`peak ${formatBytes(g.traced[1])}`)));
    if (g.pypy)
      lines.push(
        row(
          'PyPy gc',
          `${formatCount(g.pypy.minor)}/${formatCount(g.pypy.majorSteps)}/${formatCount(g.pypy.major)}`,
          theme.dim('minor / major steps / major collections'),
        ),
      );
  }
  const c = p.lastCollection;
  if (c)
    lines.push(
      row(
        'last collection',
        `gen ${c.generation ?? '?'}`,
        theme.dim(`${formatSeconds(c.duration)}, ${formatCount(c.collected)} collected`),
      ),
    );
  if (p.exit) lines.push('', theme.warn(`exited: ${esc(`${exitReason(p.exit) ?? 'code ?'}${exitNote(p.exit)}`)}`));
  lines.push('', theme.dim('k sends this process a signal; Esc closes this pane'));
  return lines;
}

/** k's box: the process, the signal list with the pick highlighted, and the keys. */
export function confirmFrame(c: Confirm, cols: number, rows: number, theme: Theme): NonNullable<Frame['help']> {
  const width = Math.min(cols - 2, 72);
  const items = SIGNALS.map((name, i) => {
    const text = `${name.padEnd(8)} ${SIGNAL_HELP[name]}`.slice(0, width - 6);
    return i === c.signal ? `{inverse} > ${text}{/inverse}` : `   ${text}`;
  });
  const all = [
    `Send ${SIGNALS[c.signal]} to ${esc(c.what)} (pid ${c.pid})?`,
    ...items,
    '',
    theme.dim('↑/↓ pick a signal   Enter sends   Esc cancels'),
  ];
  const height = Math.min(rows - 2, all.length + 2);
  // Too short a screen: keep the picked signal in view.
  const inner = height - 2;
  let lines = all;
  if (all.length > inner) {
    const first = Math.max(1, Math.min(1 + c.signal - Math.floor((inner - 2) / 2), all.length - inner + 1));
    lines = [all[0], ...all.slice(first, first + inner - 1)];
  }
  const rect = { top: Math.floor((rows - height) / 2), left: Math.floor((cols - width) / 2), width, height };
  return { rect, lines, label: ' send a signal ', scroll: 0, kind: 'confirm' };
}

/** The copy map's figures for this process, when it is a worker and the map has been read. */
function copyLines(p: ProcessSample, model: DashboardModel, theme: Theme): string[] {
  if (p.role !== 'worker' || !p.alive) return [];
  const map = model.shown?.copies;
  const head = `{bold}Copy-on-write since fork{/bold}  /proc/${p.pid}/pagemap against the parent's, page by page`;
  if (!map) return ['', head, theme.dim(model.shown?.copiesNote ? `  ${esc(model.shown.copiesNote)}` : '  reading...')];
  if (!map.privileged) {
    const f = map.fallback.find((x) => x.pid === p.pid);
    return [
      '',
      head,
      theme.warn(`  ${esc(map.why ?? '')}`),
      ...(f?.mappings ?? [])
        .slice(0, 6)
        .map((m) =>
          row(m.label.slice(0, 16), kb(m.private), theme.dim(`private (smaps); ${formatBytes(m.shared)} shared`)),
        ),
    ];
  }
  const w = map.workers.find((x) => x.pid === p.pid);
  if (!w) return ['', head, theme.dim('  not in the last map yet')];
  const out = ['', head];
  out.push(row('shared', kb(w.total.shared), theme.dim(`${formatBytes(w.total.shared)} still the parent's pages`)));
  out.push(
    row(
      'copied',
      kb(w.total.copied),
      theme.dim(`${formatBytes(w.total.copied)} copied from the parent (copy-on-write)`),
    ),
  );
  out.push(row('new since fork', kb(w.total.new), theme.dim(formatBytes(w.total.new))));
  if (w.total.swapped) out.push(row('swapped', kb(w.total.swapped)));
  const held = kindsText(w);
  if (held) out.push(`  {bold}${'copies held'.padEnd(16)}{/bold}${esc(held)}`);
  for (const m of w.mappings.slice(0, 5))
    out.push(
      row(
        `  ${m.label.slice(0, 14)}`,
        kb(m.copied),
        theme.dim(`copied of ${formatBytes(m.size)}; ${formatBytes(m.shared)} shared, ${formatBytes(m.new)} new`),
      ),
    );
  return out;
}
