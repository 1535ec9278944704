/** A real gunicorn serving the Flask app in fixtures/gunicorn, with cowtop's gc agent: for tests and screenshots. */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { pythonDir } from '../src/experiment/python-files';
import { FIXTURES, alive, freePort, waitUntil } from './helpers';

const AGENT_DIR = pythonDir();

const GUNICORN = '/usr/bin/gunicorn';
const APP_DIR = join(FIXTURES, 'gunicorn');

export function get(port: number, path: string): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type']) }));
    });
    req.on('error', reject);
    req.end();
  });
}

export const children = (pid: number): number[] => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
};

export async function startGunicorn(
  conf: string,
  agentDir: string,
): Promise<{ proc: ChildProcess; port: number; master: number }> {
  assert.ok(existsSync(GUNICORN), 'gunicorn is missing: apt-get install gunicorn python3-flask (.ci/run does)');
  const port = await freePort();
  const proc = spawn(
    GUNICORN,
    ['-c', join(APP_DIR, conf), '--bind', `127.0.0.1:${port}`, '--chdir', APP_DIR, 'app:app'],
    {
      env: { ...process.env, PYTHONPATH: `${AGENT_DIR}:${APP_DIR}`, COWTOP_AGENT_DIR: agentDir },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const master = proc.pid!;
  await waitUntil(
    () => children(master).length === 3 && children(master).every((p) => existsSync(join(agentDir, `${p}.json`))),
    60_000,
    'gunicorn workers with the agent',
  );
  return { proc, port, master };
}

export async function stopGunicorn(g: { proc: ChildProcess; master: number }): Promise<void> {
  const kids = children(g.master);
  g.proc.kill('SIGTERM');
  await waitUntil(() => !alive(g.master) && kids.every((p) => !alive(p)), 15_000, 'gunicorn to stop');
}
