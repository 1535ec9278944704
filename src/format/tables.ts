/**
 * Tables as text: columns aligned for a terminal, or Markdown to paste into an issue. Every
 * report (compare, strategies, matrix, run --compare, --format table) is made with these.
 */

export interface TextTable {
  lines: string[];
  /** Each column's width, for a line that labels groups of columns above the table. */
  widths: number[];
}

/**
 * rows[0] is usually the heading. The first `left` columns are aligned left (names), the rest
 * right (figures); columns are two spaces apart, and three more before each of `groups` (the
 * first column of a second group, as compare's "with gc.freeze()" half).
 */
export function textTable(rows: readonly string[][], left = 1, groups: readonly number[] = [], indent = ''): TextTable {
  const count = Math.max(0, ...rows.map((r) => r.length));
  const widths = Array.from({ length: count }, (_, i) => Math.max(0, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string =>
    indent +
    widths
      .map((w, i) => {
        const cell = r[i] ?? '';
        const text = i < left ? cell.padEnd(w) : cell.padStart(w);
        return groups.includes(i) ? `   ${text}` : text;
      })
      .join('  ');
  return { lines: rows.map(line), widths };
}

/** A Markdown table: the first `left` columns aligned left, the rest right. */
export function markdownTable(head: readonly string[], rows: readonly string[][], left = 1): string[] {
  const rule = head.map((_, i) => (i < left ? ' --- ' : ' ---: ')).join('|');
  return [`| ${head.join(' | ')} |`, `|${rule}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
}
