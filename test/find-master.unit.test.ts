/** attach --match: which process is the master (pickMaster over recorded process lists). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pickMaster, type Candidate } from '../src/attach/find';

const c = (pid: number, ppid: number, starttime: number, command: string): Candidate => ({
  pid,
  ppid,
  starttime,
  command,
});

test('the master is the matching process whose parent does not match, the oldest of several', () => {
  const pod = [
    c(1, 0, 10, '/pause'),
    c(7, 0, 20, '/usr/local/bin/python /usr/local/bin/gunicorn -w 2 app:app'),
    c(9, 7, 30, '/usr/local/bin/python /usr/local/bin/gunicorn -w 2 app:app'),
    c(10, 7, 31, '/usr/local/bin/python /usr/local/bin/gunicorn -w 2 app:app'),
    c(12, 0, 25, 'cowtop attach --match gunicorn --batch'),
  ];
  assert.equal(pickMaster(pod, /gunicorn/, new Set([12]))?.pid, 7, 'the workers and cowtop itself are not it');
  // A restarted server beside an old one: the oldest root is taken, deterministically.
  const two = [...pod, c(40, 0, 15, 'gunicorn -w 1 other:app'), c(41, 40, 16, 'gunicorn -w 1 other:app')];
  assert.equal(pickMaster(two, /gunicorn/, new Set([12]))?.pid, 40);
  assert.equal(pickMaster(pod, /uwsgi/, new Set()), null);
  // Without excluding itself, cowtop would attach to its own command line.
  assert.equal(pickMaster(pod, /--match/, new Set())?.pid, 12);
  assert.equal(pickMaster(pod, /--match/, new Set([12])), null);
});
