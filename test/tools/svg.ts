/** Draws an @xterm/headless screen as an SVG: what a person saw, colours and all. */
import type { Terminal } from '@xterm/headless';

const BASE16 = [
  '#000000',
  '#cd3131',
  '#0dbc79',
  '#e5e510',
  '#2472c8',
  '#bc3fbc',
  '#11a8cd',
  '#e5e5e5',
  '#666666',
  '#f14c4c',
  '#23d18b',
  '#f5f543',
  '#3b8eea',
  '#d670d6',
  '#29b8db',
  '#ffffff',
];

function palette(i: number): string {
  if (i < 16) return BASE16[i];
  if (i < 232) {
    const n = i - 16;
    const c = (v: number): number => (v ? 55 + v * 40 : 0);
    return `rgb(${c(Math.floor(n / 36))},${c(Math.floor(n / 6) % 6)},${c(n % 6)})`;
  }
  const g = 8 + (i - 232) * 10;
  return `rgb(${g},${g},${g})`;
}

const FG = '#d4d4d4';
const BG = '#1e1e1e';
const escXml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function terminalSvg(term: Terminal, title: string): string {
  const cw = 8.4;
  const ch = 17;
  const buf = term.buffer.active;
  const out: string[] = [];
  const W = Math.ceil(term.cols * cw) + 20;
  const H = term.rows * ch + 44;
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">`);
  out.push(`<title>${escXml(title)}</title>`);
  out.push(`<rect width="100%" height="100%" rx="6" fill="${BG}"/>`);
  out.push(
    `<circle cx="16" cy="13" r="5" fill="#ff5f56"/><circle cx="32" cy="13" r="5" fill="#ffbd2e"/><circle cx="48" cy="13" r="5" fill="#27c93f"/>`,
  );
  out.push(
    `<text x="${W / 2}" y="17" fill="#888" font-family="monospace" font-size="12" text-anchor="middle">${escXml(title)}</text>`,
  );
  out.push(
    `<g font-family="'DejaVu Sans Mono', Menlo, Consolas, monospace" font-size="14" transform="translate(10,30)" xml:space="preserve">`,
  );
  for (let y = 0; y < term.rows; y++) {
    const line = buf.getLine(buf.viewportY + y);
    if (!line) continue;
    let run: { x: number; text: string; fg: string; bg: string; bold: boolean } | null = null;
    const flush = (): void => {
      if (!run) return;
      if (run.bg !== BG)
        out.push(
          `<rect x="${(run.x * cw).toFixed(1)}" y="${y * ch}" width="${(run.text.length * cw).toFixed(1)}" height="${ch}" fill="${run.bg}"/>`,
        );
      if (run.text.trim())
        out.push(
          `<text x="${(run.x * cw).toFixed(1)}" y="${y * ch + 13}" fill="${run.fg}"${run.bold ? ' font-weight="bold"' : ''} textLength="${(run.text.length * cw).toFixed(1)}">${escXml(run.text)}</text>`,
        );
      run = null;
    };
    for (let x = 0; x < term.cols; x++) {
      const cell = line.getCell(x);
      if (!cell) continue;
      let fg = cell.isFgDefault()
        ? FG
        : cell.isFgRGB()
          ? `#${cell.getFgColor().toString(16).padStart(6, '0')}`
          : palette(cell.getFgColor());
      let bg = cell.isBgDefault()
        ? BG
        : cell.isBgRGB()
          ? `#${cell.getBgColor().toString(16).padStart(6, '0')}`
          : palette(cell.getBgColor());
      if (cell.isInverse()) [fg, bg] = [bg === BG ? '#000000' : bg, fg];
      const bold = !!cell.isBold();
      const chr = cell.getChars() || ' ';
      if (run && run.fg === fg && run.bg === bg && run.bold === bold) run.text += chr;
      else {
        flush();
        run = { x, text: chr, fg, bg, bold };
      }
    }
    flush();
  }
  out.push('</g></svg>');
  return out.join('\n');
}
