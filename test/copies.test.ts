/** The pagemap decoding and the shared/copied/new split, on made-up entries; then on a real fork. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { decodePageEntry, parseMaps, parseSmapsMappings } from '../src/proc/parse';
import { ProcReader } from '../src/proc/read';
import { copiedFromParent } from '../src/sample/copies';
import { classifyRange, heatCells, isAnonymous, kindsText, mappingLabel } from '../src/sample/copy-map';
import { kindOf, pageKinds } from '../src/experiment/page-kinds';
import { waitUntil } from './helpers';

/** One pagemap entry: present/swapped bits and a frame number, as the kernel writes it. */
function entry(present: boolean, pfn = 0, swapped = false): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE((present ? 1n << 63n : 0n) | (swapped ? 1n << 62n : 0n) | BigInt(pfn));
  return b;
}

test('a pagemap entry: present, swapped, exclusive, soft-dirty bits and a 55-bit frame number', () => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE((1n << 63n) | (1n << 56n) | (1n << 55n) | 0x12_3456_789an);
  assert.deepEqual(decodePageEntry(b.readUInt32LE(0), b.readUInt32LE(4)), {
    present: true,
    swapped: false,
    exclusive: true,
    softDirty: true,
    pfn: 0x12_3456_789a,
  });
  const s = entry(false, 0, true);
  assert.equal(decodePageEntry(s.readUInt32LE(0), s.readUInt32LE(4)).swapped, true);
  assert.equal(decodePageEntry(s.readUInt32LE(0), s.readUInt32LE(4)).pfn, 0);
});

test('pages are shared (same frame), copied (another frame), new (only the worker) or swapped', () => {
  const parent = Buffer.concat([entry(true, 10), entry(true, 11), entry(false), entry(true, 13), entry(true, 14)]);
  const worker = Buffer.concat([
    entry(true, 10),
    entry(true, 99),
    entry(true, 12),
    entry(false),
    entry(false, 0, true),
  ]);
  const acc = { shared: 0, copied: 0, new: 0, swapped: 0 };
  const counts = new Uint8Array(5);
  assert.equal(
    classifyRange(parent, worker, acc, { counts, index: Int32Array.from([0, 1, -1, 2, 3]), offset: 0 }),
    true,
    'frames seen',
  );
  assert.deepEqual(acc, { shared: 4096, copied: 4096, new: 4096, swapped: 4096 });
  assert.deepEqual([...counts], [1, 0, 0, 0, 0], 'the parent page still shared counts one sharer');
  const alone = { shared: 0, copied: 0, new: 0, swapped: 0 };
  classifyRange(null, Buffer.concat([entry(true, 5), entry(true, 6)]), alone);
  assert.equal(alone.new, 8192, 'no parent mapping there: new since fork');
});

test('maps: private writable memory is where copies land; the map draws the anonymous part', () => {
  const maps = parseMaps(
    [
      '55d0c0a00000-55d0c0a21000 rw-p 00000000 00:00 0                          [heap]',
      '7f1c2a000000-7f1c2a400000 rw-p 00000000 00:00 0 ',
      '7f1c2b000000-7f1c2b100000 r--p 00000000 08:01 1234                       /usr/lib/libc.so.6',
      '7f1c2c000000-7f1c2c001000 rw-s 00000000 00:05 77                         /dev/zero (deleted)',
      'garbage line',
    ].join('\n'),
  );
  assert.equal(maps.length, 4);
  assert.deepEqual(maps.map(isAnonymous), [true, true, false, false]);
  assert.deepEqual(maps.map(mappingLabel), ['[heap]', 'anon', 'libc.so.6', 'zero (deleted)']);
  assert.equal(maps[0].end - maps[0].start, 0x21000);
});

test('a real fork: the child writing into half of a buffer copies that half, the rest stays shared', async () => {
  const code = [
    'import mmap, os, sys, time',
    'buf = mmap.mmap(-1, 64 * 4096)',
    'for i in range(64): buf[i * 4096] = 1',
    'pid = os.fork()',
    'if pid == 0:',
    '    for i in range(32): buf[i * 4096] = 2',
    '    print("written", flush=True)',
    '    time.sleep(30); os._exit(0)',
    'time.sleep(30)',
  ].join('\n');
  const parent = spawn('python3', ['-c', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  let child = 0;
  try {
    await new Promise((resolve) => parent.stdout!.once('data', resolve));
    await waitUntil(
      () => {
        child = Number(
          require('node:fs').readFileSync(`/proc/${parent.pid}/task/${parent.pid}/children`, 'utf8').trim(),
        );
        return child > 0;
      },
      5000,
      'the child',
    );
    const r = await copiedFromParent(new ProcReader(), parent.pid!, child);
    assert.ok(r.ok, r.ok ? '' : r.why);
    // The interpreter's own pages move too; the buffer's 32 written pages are the floor.
    assert.ok(r.split.copied >= 32 * 4096, `copied ${r.split.copied}`);
    assert.ok(r.split.shared >= 32 * 4096, `shared ${r.split.shared}`);
  } finally {
    parent.kill('SIGKILL');
    if (child) process.kill(child, 'SIGKILL');
  }
});

test('smaps per mapping, and the grid: cells of page runs, 0 calm when every worker shares, 1 hot when none does', () => {
  const text = [
    '55d0c0a00000-55d0c0a21000 rw-p 00000000 00:00 0                          [heap]',
    'Rss:                 132 kB',
    'Pss:                  66 kB',
    'Shared_Clean:          0 kB',
    'Shared_Dirty:        100 kB',
    'Private_Clean:         0 kB',
    'Private_Dirty:        32 kB',
    '7f1c2a000000-7f1c2a400000 rw-p 00000000 00:00 0 ',
    'Rss:                   8 kB',
    'Pss:                   8 kB',
    'Shared_Clean:          0 kB',
    'Shared_Dirty:          0 kB',
    'Private_Clean:         0 kB',
    'Private_Dirty:         8 kB',
    'VmFlags: rd wr mr mw me ac',
  ].join('\n');
  const blocks = parseSmapsMappings(text);
  assert.deepEqual(
    blocks.map((b) => [b.mapping.path, b.rollup.privateDirty, b.rollup.sharedDirty]),
    [
      ['[heap]', 32 * 1024, 100 * 1024],
      ['', 8 * 1024, 0],
    ],
  );
  const cells = heatCells({ sharers: Uint8Array.from([2, 2, 0, 0, 1, 1]), workerCount: 2 }, 3);
  assert.deepEqual([...cells], [0, 1, 0.5]);
  assert.equal(heatCells({ sharers: new Uint8Array(0), workerCount: 2 }, 10).length, 0);
});

test('page kinds: runs looked up by page number; what the copies held, biggest first, other last', () => {
  const k = pageKinds(
    ['records', 'lists'],
    [
      [100, 4, 1],
      [10, 5, 0],
    ],
  );
  assert.deepEqual(
    [9, 10, 14, 15, 100, 103, 104].map((p) => kindOf(k, p)),
    [-1, 0, 0, -1, 1, 1, -1],
  );
  const acc = { shared: 0, copied: 0, new: 0, swapped: 0 };
  const counts = new Float64Array(3);
  // Pages 13, 14 and 15, all copied (the parent's frames differ): two record pages, one of no kind.
  classifyRange(
    Buffer.concat([entry(true, 1), entry(true, 2), entry(true, 3)]),
    Buffer.concat([entry(true, 7), entry(true, 8), entry(true, 9)]),
    acc,
    undefined,
    { table: k, firstPage: 13, counts },
  );
  assert.deepEqual([...counts], [2, 0, 1]);
  assert.equal(acc.copied, 3 * 4096);
  assert.equal(
    kindsText({
      total: { shared: 0, copied: 3, new: 0, swapped: 0 },
      copiedKinds: [
        { kind: 'records', bytes: 1 },
        { kind: 'other', bytes: 3 },
        { kind: 'lists', bytes: 6 },
      ],
    }),
    '60% lists, 10% records, 30% other',
  );
});
