/**
 * The single executable's Python files, extracted into a private directory (src/files/extract.ts):
 * made 0700, reused only when every byte checks out, never used when another user made it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheBases, extractPrivate, hashOf } from '../src/files/extract';

const FILES = {
  'cowtop_agent.py': Buffer.from('print("agent")\n'),
  'autoload/sitecustomize.py': Buffer.from('# site\n'),
  'blessed-usr/xterm': Buffer.from([0x1a, 0x01, 0x00, 0xff]),
};

function scratch(): { at: string; done: () => void } {
  const at = mkdtempSync(join(tmpdir(), 'cowtop-extract-'));
  return { at, done: () => rmSync(at, { recursive: true, force: true }) };
}

test('extracts once into a 0700 directory named by the content hash, and reuses it', () => {
  const s = scratch();
  try {
    const base = join(s.at, 'cache', 'cowtop');
    const dir = extractPrivate(FILES, [base]);
    assert.equal(dir, join(base, `files-${hashOf(FILES)}`));
    assert.equal(statSync(base).mode & 0o777, 0o700);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(readFileSync(join(dir, 'autoload', 'sitecustomize.py'), 'utf8'), '# site\n');
    const ino = statSync(join(dir, 'cowtop_agent.py')).ino;
    assert.equal(extractPrivate(FILES, [base]), dir);
    assert.equal(statSync(join(dir, 'cowtop_agent.py')).ino, ino, 'not written again');
    assert.deepEqual([...readFileSync(join(dir, 'blessed-usr', 'xterm'))], [0x1a, 0x01, 0x00, 0xff], 'bytes, not text');
    assert.notEqual(hashOf({ ...FILES, 'x.py': Buffer.alloc(0) }), hashOf(FILES), 'other files, another directory');

    // An altered file (or a half-made directory) is made again, not run.
    writeFileSync(join(dir, 'cowtop_agent.py'), 'import os; os.system("evil")\n');
    assert.equal(extractPrivate(FILES, [base]), dir);
    assert.equal(readFileSync(join(dir, 'cowtop_agent.py'), 'utf8'), 'print("agent")\n');
  } finally {
    s.done();
  }
});

test('a cache planted by another user, a link or a directory open to others is passed over', {
  skip: process.getuid?.() === 0 ? false : 'chown needs root',
}, () => {
  const s = scratch();
  try {
    const theirs = join(s.at, 'theirs');
    mkdirSync(join(theirs, `files-${hashOf(FILES)}`), { recursive: true, mode: 0o700 });
    writeFileSync(join(theirs, `files-${hashOf(FILES)}`, 'cowtop_agent.py'), FILES['cowtop_agent.py']);
    chownSync(theirs, 65534, 65534);
    chownSync(join(theirs, `files-${hashOf(FILES)}`), 65534, 65534);
    const link = join(s.at, 'link');
    symlinkSync(join(s.at, 'elsewhere'), link);
    const open = join(s.at, 'open');
    mkdirSync(open, { mode: 0o755 });
    const mine = join(s.at, 'mine');
    const dir = extractPrivate(FILES, [theirs, link, open, mine]);
    assert.equal(dir, join(mine, `files-${hashOf(FILES)}`));
    assert.equal(statSync(link, { throwIfNoEntry: false }), undefined, 'nothing made through the link');

    // The hash-named directory itself a link to a directory of the right bytes: not taken.
    const decoy = join(s.at, 'decoy');
    extractPrivate(FILES, [decoy]);
    const base2 = join(s.at, 'base2');
    mkdirSync(base2, { mode: 0o700 });
    symlinkSync(join(decoy, `files-${hashOf(FILES)}`), join(base2, `files-${hashOf(FILES)}`));
    assert.throws(() => extractPrivate(FILES, [base2]), /cannot extract the files the binary carries: .*base2/);

    assert.throws(() => extractPrivate(FILES, [theirs]), /theirs belongs to uid 65534/);
  } finally {
    s.done();
  }
});

test('the cache is $XDG_CACHE_HOME/cowtop, then ~/.cache/cowtop, then /tmp/cowtop-UID', () => {
  const b = cacheBases({ XDG_CACHE_HOME: '/x/cache', HOME: '/home/u' });
  assert.deepEqual(b.slice(0, 2), ['/x/cache/cowtop', '/home/u/.cache/cowtop']);
  assert.match(b[2], /\/cowtop-\d+$/);
  assert.equal(cacheBases({ XDG_CACHE_HOME: 'relative', HOME: '/h' })[0], '/h/.cache/cowtop');
});
