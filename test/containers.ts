/**
 * Container-like trees without Docker: `unshare` gives a process its own PID, mount and UTS
 * namespaces and a private tmpfs on /tmp, as Docker does; the tree inside sees itself as pid 1.
 * Each is stopped by the test that started it: killing the unshare process kills the tree
 * (--kill-child), and the namespace's init takes everything in it along.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { alive, waitUntil } from './helpers';
import { children } from './gunicorn';

// A fixed script: what runs comes in as arguments, never as text pasted into it.
const PRIVATE_TMP = 'mount -t tmpfs -o mode=1777 cowtop-test /tmp && exec "$@"';

export interface Container {
  proc: ChildProcess;
  /** The host pid of the namespace's pid 1 (the command). */
  init: number;
  stderr: () => string;
}

/** Runs argv as pid 1 of new PID + mount + UTS namespaces with a private /tmp. */
export async function startContainer(
  argv: string[],
  env: NodeJS.ProcessEnv,
  namespaces = ['--pid', '--mount', '--uts', '--mount-proc'],
): Promise<Container> {
  const proc = spawn('unshare', [...namespaces, '--kill-child', '--', '/bin/sh', '-c', PRIVATE_TMP, 'sh', ...argv], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  let init = 0;
  // Started means its private /tmp is mounted: before that, /proc/PID/root/tmp is the host's.
  const tmpMounted = (pid: number): boolean => {
    try {
      return / \/tmp .* - tmpfs cowtop-test /.test(readFileSync(`/proc/${pid}/mountinfo`, 'utf8'));
    } catch {
      return false;
    }
  };
  await waitUntil(
    () => {
      init = children(proc.pid!)[0] ?? 0;
      return init > 0 && tmpMounted(init);
    },
    10_000,
    'the container to start',
  );
  return { proc, init, stderr: () => err };
}

export async function stopContainer(c: Container): Promise<void> {
  const init = c.init;
  c.proc.kill('SIGKILL'); // unshare --fork blocks SIGTERM; --kill-child takes the tree along
  await waitUntil(() => !alive(init) && !alive(c.proc.pid!), 15_000, 'the container to stop');
}

/** The pid a host pid has inside its own PID namespace (the last of NSpid). */
export function innerPid(pid: number): number {
  const m = /^NSpid:\s+([\d\s]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))!;
  return Number(m[1].trim().split(/\s+/).pop());
}
