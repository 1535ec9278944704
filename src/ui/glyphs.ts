/**
 * What the terminal can draw, as htop decides it: a locale whose charset is not UTF-8 (LANG=C)
 * shows every non-ASCII character as '?', and the Linux console has no braille. The screen's
 * text passes through drawable() on its way out: the same columns, in characters it can show.
 */

/** unicode: everything; console: no braille (TERM=linux); ascii: nothing past 0x7f. */
export type Glyphs = 'unicode' | 'console' | 'ascii';

/** The locale's charset from LC_ALL, else LC_CTYPE, else LANG (POSIX's order); unset is "C". */
export function glyphsFor(env: NodeJS.ProcessEnv, forceAscii = false): Glyphs {
  if (forceAscii) return 'ascii';
  const locale = env.LC_ALL || env.LC_CTYPE || env.LANG || 'C';
  if (!/utf-?8/i.test(locale)) return 'ascii';
  if (/^(linux|vt\d+|dumb|cons\d+)/.test(env.TERM ?? '')) return 'console';
  return 'unicode';
}

// One character for one: the screen's columns stay where the frame put them.
const ASCII: Record<string, string> = {
  Σ: 'S',
  '▲': '^',
  '▼': 'v',
  '↑': '^',
  '↓': 'v',
  '·': '.',
  '…': '~',
  '├': '|',
  '└': '`',
  '│': '|',
  '─': '-',
  '┌': '+',
  '┐': '+',
  '┘': '+',
  '░': '.',
  '▒': ':',
  '▓': '+',
  '█': '#',
  μ: 'u',
  '×': 'x',
  '—': '-',
  '–': '-',
  '’': "'",
  '≥': '>',
  '≤': '<',
};

/** text as this terminal can draw it: braille dots become '*' (a blank cell stays blank). */
export function drawable(text: string, glyphs: Glyphs): string {
  if (glyphs === 'unicode') return text;
  if (glyphs === 'console') return text.replace(/[\u2801-\u28ff]/g, '*').replace(/\u2800/g, ' ');
  // A character past ASCII without its own stand-in is '?', as the terminal itself would show it.
  let out = '';
  for (const c of text) {
    if (c.charCodeAt(0) < 0x80) out += c;
    else if (c >= '\u2801' && c <= '\u28ff') out += '*';
    else out += c === '\u2800' ? ' ' : (ASCII[c] ?? '?');
  }
  return out;
}
