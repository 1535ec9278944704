/**
 * The memory cgroup readers on fixture hierarchies shaped like the kernel's (v2 as a kubelet
 * with the systemd driver lays it out; a v1/v2 hybrid), and the pure parsers on their text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cgroupMemoryOf, parseFlatKeyed, readCgroupMemory } from '../src/proc/cgroup';
import { cgroupPathOf } from '../src/proc/placement';
import { FIXTURES } from './helpers';

const V2 = join(FIXTURES, 'cgroup-v2');

test('memory.stat and memory.events: key value lines, anything else skipped', () => {
  assert.deepEqual(parseFlatKeyed('anon 12\nfile 7\nbogus\nx y\n\noom_kill 2\n'), { anon: 12, file: 7, oom_kill: 2 });
});

test("v2: a pod container's usage, the pod's lower limit above it, anon/file and OOM kills", async () => {
  const where = cgroupPathOf(readFileSync(join(V2, 'proc-cgroup.txt'), 'utf8'));
  assert.equal(where?.version, 2);
  const m = await readCgroupMemory(2, where!.path, V2);
  assert.ok(m);
  assert.equal(m.usage, 805306368);
  assert.equal(m.limit, 1073741824, "the pod slice's 1 GiB holds over the container's 2 GiB");
  assert.equal(m.high, null, 'memory.high "max" is no limit');
  assert.deepEqual([m.anon, m.file, m.shmem], [603979776, 167772160, 4194304]);
  assert.equal(m.oomKills, 2);
  assert.equal(m.limitHits, 3);
  assert.deepEqual(m.pids, [4242, 4250, 4251]);
});

test('v2 inside a container with its own cgroup namespace ("0::/"): the mount root is its cgroup', async () => {
  const root = mkdtempSync(join(tmpdir(), 'cowtop-cg-'));
  try {
    writeFileSync(join(root, 'memory.current'), '1000\n');
    writeFileSync(join(root, 'memory.max'), '4096\n');
    const m = await readCgroupMemory(2, '/', root);
    assert.deepEqual([m?.usage, m?.limit, m?.anon, m?.oomKills, m?.pids], [1000, 4096, null, null, null]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a v1/v2 hybrid: the v2 files under unified/, v1 memory under memory/', async () => {
  const root = mkdtempSync(join(tmpdir(), 'cowtop-cg-'));
  try {
    mkdirSync(join(root, 'unified', 'app.slice'), { recursive: true });
    writeFileSync(join(root, 'unified', 'app.slice', 'memory.current'), '2048\n');
    mkdirSync(join(root, 'memory', 'app.slice'), { recursive: true });
    writeFileSync(join(root, 'memory', 'app.slice', 'memory.usage_in_bytes'), '8192\n');
    writeFileSync(join(root, 'memory', 'app.slice', 'memory.limit_in_bytes'), '9223372036854771712\n');
    writeFileSync(
      join(root, 'memory', 'app.slice', 'memory.stat'),
      'rss 1\ncache 2\ntotal_rss 4096\ntotal_cache 4000\nhierarchical_memory_limit 65536\n',
    );
    writeFileSync(
      join(root, 'memory', 'app.slice', 'memory.oom_control'),
      'oom_kill_disable 0\nunder_oom 0\noom_kill 1\n',
    );
    writeFileSync(join(root, 'memory', 'app.slice', 'memory.failcnt'), '5\n');
    // /proc/PID/cgroup of a hybrid lists both: the memory controller's v1 line wins.
    const where = cgroupPathOf('12:memory:/app.slice\n1:name=systemd:/app.slice\n0::/app.slice\n');
    assert.deepEqual(where, { version: 1, path: '/app.slice' });
    const v1 = await readCgroupMemory(1, '/app.slice', root);
    assert.equal(v1?.usage, 8192);
    assert.equal(v1?.limit, 65536, "an ancestor's limit (hierarchical_memory_limit) where its own is unlimited");
    assert.deepEqual([v1?.anon, v1?.file, v1?.oomKills, v1?.limitHits], [4096, 4000, 1, 5]);
    const v2 = await readCgroupMemory(2, '/app.slice', root);
    assert.equal(v2?.usage, 2048);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a cgroup that vanished, a path that climbs out, odd characters: null or sanitized, never a throw', async () => {
  assert.equal(await readCgroupMemory(2, '/gone.scope', V2), null);
  assert.equal(await readCgroupMemory(2, '/../../etc', V2), null);
  assert.equal(await readCgroupMemory(1, '/a/../../b', V2), null);
  const odd = cgroupMemoryOf(2, '/pod\x1b[31m\nred\u202e.scope', { 'memory.current': 'x\n', 'memory.max': '-1\n' });
  assert.ok(![...odd.path].some((c) => c.charCodeAt(0) < 0x20 || c === '\x7f' || c === '\u202e'), odd.path);
  assert.equal(odd.usage, null, 'unparsable memory.current is unknown, not 0');
  assert.equal(odd.limit, null);
});
