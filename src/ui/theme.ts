/** Colours in one place. NO_COLOR (no-color.org) turns every colour off; emphasis stays. */
import { sanitize } from '../format/sanitize';

export interface Theme {
  color: boolean;
  freezeOn(s: string): string;
  freezeOff(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
  warn(s: string): string;
  good(s: string): string;
  sortMark(s: string): string;
  selected(s: string): string; // the selected row of the table
  caption(s: string): string; // cowtop demo's caption band
  heat(level: 0 | 1 | 2 | 3, s: string): string; // growth since fork: none, some, much, most of the heap
  frozenGroup(s: string): string; // split view: the workers forked after gc.freeze(), in FREEZE ON's colour
  unfrozenGroup(s: string): string;
  eventKind(kind: string, s: string): string;
  series: string[]; // line colours for chart series
}

export function makeTheme(env: NodeJS.ProcessEnv = process.env): Theme {
  const color = env.NO_COLOR === undefined || env.NO_COLOR === '';
  const tag = (open: string, s: string): string => (color ? `{${open}}${s}{/${open}}` : s);
  return {
    color,
    freezeOn: (s) =>
      color ? `{black-fg}{green-bg}{bold}${s}{/bold}{/green-bg}{/black-fg}` : `{bold}{inverse}${s}{/inverse}{/bold}`,
    freezeOff: (s) => (color ? `{white-fg}{red-bg}{bold}${s}{/bold}{/red-bg}{/white-fg}` : `{bold}${s}{/bold}`),
    dim: (s) => tag('gray-fg', s),
    bold: (s) => `{bold}${s}{/bold}`,
    warn: (s) => tag('red-fg', s),
    good: (s) => tag('green-fg', s),
    selected: (s) => `{inverse}${s}{/inverse}`, // no colour needed: reads the same under NO_COLOR
    caption: (s) => (color ? `{bold}{yellow-fg}${s}{/yellow-fg}{/bold}` : `{bold}${s}{/bold}`),
    // 256-colour warm scale (yellow, orange, red); blessed maps it down on 8-colour terminals.
    heat: (level, s) =>
      level === 0
        ? s
        : tag(['', '#d7d700-fg', '#ff8700-fg', '#ff2020-fg'][level], level === 3 ? `{bold}${s}{/bold}` : s),
    frozenGroup: (s) => tag('green-fg', s),
    unfrozenGroup: (s) => tag('red-fg', s),
    sortMark: (s) => (color ? `{cyan-fg}{bold}${s}{/bold}{/cyan-fg}` : `{bold}${s}{/bold}`),
    eventKind: (kind, s) => {
      const c =
        {
          fork: 'cyan-fg',
          exit: 'gray-fg',
          collect: 'yellow-fg',
          freeze: 'green-fg',
          workload: 'green-fg',
          error: 'red-fg',
          log: 'gray-fg',
          info: 'white-fg',
        }[kind] ?? 'white-fg';
      return tag(c, s);
    },
    series: color ? ['yellow', 'cyan', 'magenta', 'green', 'red', 'blue', 'white'] : ['white'],
  };
}

/**
 * Text from Python or the system may hold `{`: it must never be read as a blessed tag. It went
 * through the sanitizer where it came in; once more here costs little and covers file names.
 */
export const esc = (s: string): string => sanitize(s).replace(/[{}]/g, (ch) => (ch === '{' ? '{open}' : '{close}'));
// (blessed.escape, as lib/helpers.js has it: written here so that building a frame never loads blessed)
