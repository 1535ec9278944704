/** Replays a recorded session into a DashboardModel and draws it on a headless blessed screen. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable, PassThrough } from 'node:stream';
import { parseReport } from '../src/experiment/protocol';
import { DashboardModel } from '../src/ui/model';
import { buildFrame } from '../src/ui/render/frame';
import { DashboardScreen } from '../src/ui/screen';
import { makeTheme } from '../src/ui/theme';
import type { Controller } from '../src/ui/keys';
import { FIXTURES } from './helpers';

export function replaySession(
  file = join(FIXTURES, 'session.json'),
  upTo = Infinity,
): { model: DashboardModel; end: number } {
  const { startedAt, items } = JSON.parse(readFileSync(file, 'utf8'));
  const model = new DashboardModel(startedAt);
  // The interval the recording sampled at (the dashboard sets it from the session): a column
  // of the charts is one interval.
  const at = items.filter((it: any) => it.kind === 'snapshot').map((it: any) => it.at as number);
  const gaps = at
    .slice(1)
    .map((t: number, i: number) => t - at[i])
    .sort((a: number, b: number) => a - b);
  if (gaps.length) model.intervalMs = Math.max(100, Math.round(gaps[Math.floor(gaps.length / 2)] / 100) * 100);
  let end = startedAt;
  for (const it of items) {
    if (it.at > upTo) break;
    end = it.at;
    if (it.kind === 'snapshot') model.pushSnapshot(it.data);
    else if (it.kind === 'report') {
      // Through the schema, as the live pipe's lines go.
      const r = parseReport(JSON.stringify(it.data));
      if (!r) throw new Error(`the recorded report ${JSON.stringify(it.data)} no longer parses`);
      model.onReport(r, it.at);
    } else model.onLog(it.data, it.at);
  }
  return { model, end };
}

export const canAll: Controller['can'] = (what) => what !== 'restart'; // a live experiment

/** The screen text blessed would show at cols x rows for this model at time now. */
export function renderText(
  model: DashboardModel,
  cols: number,
  rows: number,
  now: number,
  env: NodeJS.ProcessEnv = {},
): string {
  return renderFrames([{ model, now }], cols, rows, env)[0];
}

/** Frame after frame on one screen, as the dashboard draws them: the text after each. */
export function renderFrames(
  frames: Array<{ model: DashboardModel; now: number }>,
  cols: number,
  rows: number,
  env: NodeJS.ProcessEnv = {},
): string[] {
  const output = Object.assign(new Writable({ write: (_c, _e, cb) => cb() }), { isTTY: true, columns: cols, rows });
  const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => input });
  const ui = new DashboardScreen({ input, output, term: 'xterm-256color' });
  try {
    return frames.map(({ model, now }) => {
      ui.draw(buildFrame(model, cols, rows, makeTheme(env), canAll, now));
      return (ui.screen as unknown as { lines: Array<Array<[number, string]>> }).lines
        .map((l) =>
          l
            .map((c) => c[1])
            .join('')
            .replace(/\s+$/, ''),
        )
        .join('\n');
    });
  } finally {
    ui.destroy();
  }
}
