/** The settings file (files/config.ts, ui/settings.ts): what it keeps, and what it refuses to read. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configPath, parseConfig, readConfig, writeConfig } from '../src/files/config';
import { DashboardModel } from '../src/ui/model';
import { applySettings, SETTINGS_HEADER, settingsOf } from '../src/ui/settings';

test('where it lives: $XDG_CONFIG_HOME/cowtop/config, else ~/.config/cowtop/config', () => {
  assert.equal(configPath({ XDG_CONFIG_HOME: '/x', HOME: '/h' }), '/x/cowtop/config');
  assert.equal(configPath({ XDG_CONFIG_HOME: 'rel', HOME: '/h' }), '/h/.config/cowtop/config');
  assert.equal(configPath({}), null);
});

test('written and read back: sort, direction, units, interval, chart, tree; a bad value is named and left', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cowtop-settings-'));
  try {
    const m = new DashboardModel(0);
    m.sortBy('uss');
    m.cycleUnits();
    m.toggleTree();
    m.nextChart();
    m.intervalMs = 2000;
    const file = join(dir, 'cowtop', 'config');
    writeConfig(file, settingsOf(m), SETTINGS_HEADER);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'cowtop')).mode & 0o777, 0o700);
    assert.match(
      readFileSync(file, 'utf8'),
      /^# cowtop settings.*\nsort=uss\nsort_desc=1\nunits=KiB\ninterval=2000\nchart=footprint\ntree=1\n$/,
    );
    const read = readConfig(file);
    assert.ok(read.ok);
    const back = new DashboardModel(0);
    assert.deepEqual(applySettings(back, read.values, false), { interval: 2000, bad: [] });
    assert.deepEqual(settingsOf(back), { ...settingsOf(m), interval: '1000' }, 'the interval is the session’s to set');
    assert.deepEqual(applySettings(new DashboardModel(0), read.values, true).interval, null, '--interval wins');
    const odd = new DashboardModel(0);
    assert.deepEqual(
      applySettings(odd, { sort: 'nope', units: 'GiB', interval: '7', tree: 'yes', chart: 'uss' }, false),
      {
        interval: null,
        bad: ['sort', 'units', 'tree', 'interval'],
      },
    );
    assert.equal(odd.view.sort.column, 'role', 'left as it was');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a hostile or broken file is not read: a link, another user’s, writable by others, huge, garbage', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cowtop-settings-'));
  try {
    const good = join(dir, 'good');
    writeFileSync(good, 'sort=pss\n', { mode: 0o600 });
    assert.deepEqual(readConfig(good), { ok: true, values: { sort: 'pss' } });
    const link = join(dir, 'link');
    symlinkSync(good, link);
    assert.deepEqual(readConfig(link), { ok: false, missing: false, why: 'it is a symbolic link' });
    const open = join(dir, 'open');
    writeFileSync(open, 'sort=pss\n');
    chmodSync(open, 0o666);
    assert.match((readConfig(open) as { why: string }).why, /others may write it \(mode 666\)/);
    const huge = join(dir, 'huge');
    writeFileSync(huge, `# ${'x'.repeat(20_000)}\n`, { mode: 0o600 });
    assert.match((readConfig(huge) as { why: string }).why, /at most 16384/);
    const garbage = join(dir, 'garbage');
    writeFileSync(garbage, 'sort=pss\n\u001b[2J rm -rf\n', { mode: 0o600 });
    assert.deepEqual(readConfig(garbage), { ok: false, missing: false, why: 'a line in it is not key=value' });
    assert.deepEqual(readConfig(join(dir, 'none')), { ok: false, missing: true, why: 'none yet' });
    assert.equal(parseConfig('# c\n\nunits=MiB\n')!.units, 'MiB');
    if (process.getuid?.() === 0) {
      const theirs = join(dir, 'theirs');
      writeFileSync(theirs, 'sort=pss\n', { mode: 0o600 });
      chownSync(theirs, 65534, 65534);
      assert.match((readConfig(theirs) as { why: string }).why, /belongs to uid 65534/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
