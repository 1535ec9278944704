/**
 * The house's rules, read from the sources (ARCHITECTURE.md): each room sits on a floor and
 * imports only from its own floor or below; no circle of files; small files, and a thin cli/.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const SRC = join(ROOT, 'src');

/** The floors, lowest first: a room may import its own floor and those below. */
export const FLOORS: Record<string, number> = {
  util: 0,
  format: 1,
  files: 2,
  proc: 2,
  lifecycle: 2,
  experiment: 3,
  sample: 4,
  attach: 5,
  session: 6,
  measure: 7,
  export: 7,
  ui: 8,
  cli: 9,
};

function files(dir: string, ext: RegExp): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p, ext) : ext.test(n) ? [p] : [];
  });
}

/** Each source module (src/-relative, no extension) and the modules it imports. */
function imports(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const f of files(SRC, /\.ts$/)) {
    const from = relative(SRC, f).replace(/\.ts$/, '');
    const specs = [...readFileSync(f, 'utf8').matchAll(/(?:from|import\(|require\()\s*['"](\.[^'"]+)['"]/g)].map(
      (m) => m[1],
    );
    const to = specs
      .map((s) => normalize(join(dirname(from), s.replace(/\.js$/, ''))))
      .filter((t) => !t.endsWith('package.json') && !t.startsWith('..'));
    out.set(from, to);
  }
  return out;
}
const room = (mod: string): string => mod.split('/')[0];

test('every room is on a floor, and no import runs up a floor', () => {
  const up: string[] = [];
  for (const [from, tos] of imports()) {
    assert.ok(room(from) in FLOORS, `${from}: src/${room(from)} is on no floor (ARCHITECTURE.md)`);
    for (const to of tos) if (FLOORS[room(to)] > FLOORS[room(from)]) up.push(`${from} -> ${to}`);
  }
  assert.deepEqual(up, []);
});

test('no circle of files', () => {
  const graph = imports();
  const state = new Map<string, 'open' | 'done'>();
  const circles: string[] = [];
  const visit = (m: string, path: string[]): void => {
    if (state.get(m) === 'done') return;
    if (state.get(m) === 'open') {
      circles.push([...path.slice(path.indexOf(m)), m].join(' -> '));
      return;
    }
    state.set(m, 'open');
    for (const t of graph.get(m) ?? []) visit(t, [...path, m]);
    state.set(m, 'done');
  };
  for (const m of graph.keys()) visit(m, []);
  assert.deepEqual(circles, []);
});

test('no source file over 400 lines, no src/cli/ file over 150', () => {
  const lines = (f: string): number => readFileSync(f, 'utf8').split('\n').length - 1;
  const sources = [
    ...files(SRC, /\.ts$/),
    ...files(join(ROOT, 'python'), /\.py$/),
    ...files(join(ROOT, 'bin'), /\.js$/),
  ];
  const big = sources.filter((f) => lines(f) > 400).map((f) => `${relative(ROOT, f)}: ${lines(f)}`);
  assert.deepEqual(big, []);
  const cli = files(join(SRC, 'cli'), /\.ts$/)
    .filter((f) => lines(f) > 150)
    .map((f) => `${relative(ROOT, f)}: ${lines(f)}`);
  assert.deepEqual(cli, []);
});
