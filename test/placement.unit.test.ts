/** Where a process runs: NSpid, uid maps and container names from cgroup paths (pure parsers). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cgroupPathOf, containerOf, innerUidOf, parseNSpid } from '../src/proc/placement';

const ID = 'f'.repeat(8) + '0123456789abcdef'.repeat(3) + '0'.repeat(8);

test('NSpid: host pid first, the innermost last; absent on old kernels', () => {
  assert.deepEqual(parseNSpid('Name:\tgunicorn\nNSpid:\t40211\t7\t1\nNStgid:\t40211\t7\t1\n'), [40211, 7, 1]);
  assert.deepEqual(parseNSpid('NSpid:\t512\n'), [512]);
  assert.equal(parseNSpid('Name:\tx\nPid:\t5\n'), null);
  assert.equal(parseNSpid('NSpid:\t0\n'), null);
});

test('uid_map: the uid a user namespace gives a host uid', () => {
  assert.equal(innerUidOf('         0          0 4294967295\n', 1000), 1000);
  assert.equal(innerUidOf('         0     100000      65536\n', 100033), 33);
  assert.equal(innerUidOf('         0     100000      65536\n', 1000), null);
});

test('container ids from the cgroup paths of Docker, containerd, CRI-O, Podman and kubelet', () => {
  assert.deepEqual(containerOf(`/docker/${ID}`), { runtime: 'docker', id: ID });
  assert.deepEqual(containerOf(`/system.slice/docker-${ID}.scope`), { runtime: 'docker', id: ID });
  assert.deepEqual(
    containerOf(
      `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod12_ab.slice/cri-containerd-${ID}.scope`,
    ),
    { runtime: 'containerd', id: ID },
  );
  assert.deepEqual(containerOf(`/kubepods/burstable/pod0b5e3f1a-1111-2222-3333-444455556666/${ID}`), {
    runtime: 'kubepods',
    id: ID,
  });
  assert.deepEqual(containerOf(`/machine.slice/libpod-${ID}.scope/container`), { runtime: 'podman', id: ID });
  assert.deepEqual(containerOf(`/kubepods.slice/crio-${ID}.scope`), { runtime: 'cri-o', id: ID });
  assert.equal(containerOf('/user.slice/user-1000.slice/session-2.scope'), null);
  assert.equal(containerOf(`/docker/${ID.slice(1)}`), null, 'not 64 hex digits');
  assert.equal(containerOf('/'), null);
});

test('the memory cgroup: v1 memory controller first, else the v2 path', () => {
  assert.deepEqual(cgroupPathOf('12:pids:/\n4:memory:/process_api/abc\n0::/\n'), {
    path: '/process_api/abc',
    version: 1,
  });
  assert.deepEqual(cgroupPathOf('0::/system.slice/gunicorn.service\n'), {
    path: '/system.slice/gunicorn.service',
    version: 2,
  });
  assert.deepEqual(cgroupPathOf('5:cpu,memory:/a\n'), { path: '/a', version: 1 });
  assert.equal(cgroupPathOf('garbage'), null);
});
