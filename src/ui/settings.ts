/**
 * What the dashboard keeps between runs (htop's htoprc): the sort and its direction, units,
 * interval, chart and tree view, as `key=value` in the settings file (files/config.ts).
 */
import { COLUMNS } from './columns';
import { CHARTS, type ChartId, type ColumnId, type DashboardModel, INTERVALS, type Units } from './model';

export const SETTINGS_HEADER =
  '# cowtop settings: written when the dashboard ends, read when it starts; flags given win over them.';

const UNITS: readonly Units[] = ['MiB', 'KiB', 'heap'];

export function settingsOf(model: DashboardModel): Record<string, string> {
  const v = model.view;
  return {
    sort: v.sort.column,
    sort_desc: v.sort.desc ? '1' : '0',
    units: v.units,
    interval: String(model.intervalMs),
    chart: v.chart,
    tree: v.table.tree ? '1' : '0',
  };
}

/**
 * Applies what the file says to the view; returns the interval it asks for (null: none, or one
 * given on the command line) and the keys whose values were not understood.
 */
export function applySettings(
  model: DashboardModel,
  values: Readonly<Record<string, string>>,
  intervalGiven: boolean,
): { interval: number | null; bad: string[] } {
  const bad: string[] = [];
  const v = model.view;
  const flag = (k: string): boolean | null => (values[k] === '1' ? true : values[k] === '0' ? false : null);
  if (values.sort !== undefined) {
    if (COLUMNS.some((c) => c.id === values.sort)) v.sort.column = values.sort as ColumnId;
    else bad.push('sort');
  }
  if (values.sort_desc !== undefined) {
    const d = flag('sort_desc');
    if (d === null) bad.push('sort_desc');
    else v.sort.desc = d;
  }
  if (values.units !== undefined) {
    if (UNITS.includes(values.units as Units)) v.units = values.units as Units;
    else bad.push('units');
  }
  if (values.chart !== undefined) {
    if (CHARTS.includes(values.chart as ChartId)) v.chart = values.chart as ChartId;
    else bad.push('chart');
  }
  if (values.tree !== undefined) {
    const t = flag('tree');
    if (t === null) bad.push('tree');
    else v.table.tree = t;
  }
  let interval: number | null = null;
  if (values.interval !== undefined) {
    const ms = Number(values.interval);
    if (!INTERVALS.includes(ms)) bad.push('interval');
    else if (!intervalGiven) interval = ms;
  }
  return { interval, bad };
}
