/**
 * deploy/: the Kubernetes and Compose examples parse, agree with themselves (ports, volumes,
 * annotations, capabilities) and name only metrics cowtop serves; then each example's three
 * command lines (the agent copy, the server, the cowtop sidecar) run here as written, with only
 * the image's paths and the ports mapped: the sidecar, started first, finds the real gunicorn
 * master by --match and serves gc data for every worker and the cgroup.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { alive, FIXTURES, finished, freePort, ROOT, runCli, startCli, waitUntil } from './helpers';
import { children, get } from './gunicorn';

const DEPLOY = join(ROOT, 'deploy');
const AGENT_VOLUME = '/cowtop-agent';

interface Example {
  init: string[];
  app: { command: string[]; env: Record<string, string>; workdir: string; agentMount: string };
  sidecar: string[];
  metricsPort: string;
}

const yamlFile = (rel: string): any[] =>
  parseAllDocuments(readFileSync(join(DEPLOY, rel), 'utf8')).map((d) => {
    assert.deepEqual(d.errors, [], rel);
    return d.toJS();
  });

/** The value after flag in a command line. */
const after = (args: string[], flag: string): string | undefined => args[args.indexOf(flag) + 1];

function kubernetes(): Example {
  const docs = yamlFile('kubernetes/shop.yaml');
  const dep = docs.find((d) => d.kind === 'Deployment');
  const svc = docs.find((d) => d.kind === 'Service');
  const pod = dep.spec.template;
  const spec = pod.spec;
  assert.equal(spec.shareProcessNamespace, true, 'the sidecar must see the server');
  const [init] = spec.initContainers;
  const app = spec.containers.find((c: any) => c.name === 'app');
  const side = spec.containers.find((c: any) => c.image.startsWith('cowtop'));
  assert.ok(side.securityContext.capabilities.add.includes('SYS_PTRACE'));
  const port = after(side.args, '--prometheus')!;
  const metrics = side.ports.find((p: any) => p.containerPort === Number(port));
  assert.ok(metrics, 'the sidecar exposes the port it serves on');
  assert.equal(pod.metadata.annotations['prometheus.io/port'], port);
  assert.equal(pod.metadata.annotations['prometheus.io/path'], '/metrics');
  assert.equal(pod.metadata.annotations['prometheus.io/scrape'], 'true');
  assert.equal(svc.spec.ports[0].targetPort, metrics.name);
  assert.deepEqual(svc.spec.selector, dep.spec.selector.matchLabels);
  assert.equal(init.volumeMounts[0].mountPath, AGENT_VOLUME);
  const mount = app.volumeMounts.find((m: any) => m.name === init.volumeMounts[0].name);
  // The scrape job keeps these pods by the annotations above and labels them as the dashboard's variables.
  const [job] = yamlFile('kubernetes/prometheus.yml')[0].scrape_configs;
  const relabel = JSON.stringify(job.relabel_configs);
  for (const a of ['prometheus_io_scrape', 'prometheus_io_port', 'prometheus_io_path'])
    assert.ok(relabel.includes(`__meta_kubernetes_pod_annotation_${a}`), a);
  const targets = job.relabel_configs.map((r: any) => r.target_label);
  assert.ok(targets.includes('namespace') && targets.includes('pod'));
  return {
    init: init.args,
    app: {
      command: app.command,
      env: Object.fromEntries(app.env.map((e: any) => [e.name, e.value])),
      workdir: app.workingDir,
      agentMount: mount.mountPath,
    },
    sidecar: side.args,
    metricsPort: port,
  };
}

function compose(): Example {
  const { services, volumes } = yamlFile('compose/compose.yaml')[0];
  const side = services.cowtop;
  assert.equal(side.pid, 'service:app');
  assert.ok(side.cap_add.includes('SYS_PTRACE'));
  const port = after(side.command, '--prometheus')!;
  assert.deepEqual(side.ports, [`127.0.0.1:${port}:${port}`], 'published on loopback, the port it serves');
  const [vol, at] = services['cowtop-agent'].volumes[0].split(':');
  assert.ok(vol in volumes);
  assert.equal(at, AGENT_VOLUME);
  const appMount = services.app.volumes.map((v: string) => v.split(':')).find((v: string[]) => v[0] === vol);
  assert.equal(services.app.depends_on['cowtop-agent'].condition, 'service_completed_successfully');
  return {
    init: services['cowtop-agent'].command,
    app: {
      command: services.app.command,
      env: services.app.environment,
      workdir: services.app.working_dir,
      agentMount: appMount[1],
    },
    sidecar: side.command,
    metricsPort: port,
  };
}

/** Every cowtop_* name the Grafana dashboard and the examples use, and the families cowtop declares. */
function namedMetrics(): string[] {
  const text = ['grafana/cowtop.json', 'kubernetes/shop.yaml', 'compose/compose.yaml', 'kubernetes/prometheus.yml']
    .map((f) => readFileSync(join(DEPLOY, f), 'utf8'))
    .join('\n');
  return [...new Set(text.match(/\bcowtop_[a-z_]+\b/g) ?? [])].filter(
    (m) => !/^cowtop_(agent|experiment|run)$/.test(m),
  );
}

async function runExample(ex: Example): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cowtop-deploy-'));
  const volume = join(dir, 'volume');
  const agentDir = join(dir, 'agent-files');
  // The image's paths, mapped here: the shared volume, the server's working directory.
  const map = (s: string): string => s.split(AGENT_VOLUME).join(volume);
  const [metrics, http] = [await freePort(), await freePort()];
  const sidecarArgs = ex.sidecar.map(map);
  sidecarArgs[sidecarArgs.indexOf('--prometheus') + 1] = String(metrics);
  sidecarArgs[sidecarArgs.indexOf('--prometheus-host') + 1] = '127.0.0.1'; // loopback only, here
  const appCmd = ex.app.command.map(map).map((a) => (a === '0.0.0.0:8000' ? `127.0.0.1:${http}` : a));
  let sidecar: ReturnType<typeof startCli> | null = null;
  let app: ReturnType<typeof spawn> | null = null;
  try {
    const init = await runCli(ex.init.map(map));
    assert.equal(init.code, 0, init.stderr);
    assert.equal(init.stdout.trim(), volume);

    // The sidecar first: it waits for the server to appear, as in a pod.
    sidecar = startCli(sidecarArgs, { COWTOP_AGENT_DIR: agentDir });
    let sideErr = '';
    sidecar.stderr!.on('data', (d) => (sideErr += d));
    await waitUntil(
      () => /waiting for a process matching \/gunicorn\//.test(sideErr),
      15_000,
      'the sidecar to wait',
    ).catch((e) => {
      throw new Error(`${e.message}; its stderr: ${sideErr}`);
    });
    const env = Object.fromEntries(Object.entries(ex.app.env).map(([k, v]) => [k, map(String(v))]));
    assert.equal(ex.app.agentMount, AGENT_VOLUME);
    app = spawn(appCmd[0] === 'gunicorn' ? '/usr/bin/gunicorn' : appCmd[0], appCmd.slice(1), {
      cwd: join(FIXTURES, 'gunicorn'), // the image's workdir, /app
      env: { ...process.env, ...env, COWTOP_AGENT_DIR: agentDir },
      stdio: 'ignore',
    });
    const master = app.pid!;
    await waitUntil(() => children(master).length === 2, 60_000, 'gunicorn with 2 workers');
    assert.equal((await get(http, '/')).status, 200);
    const workers = children(master);
    // gc data for the master and each worker, from the agent the init container copied.
    let body = '';
    await waitUntil(
      async () => {
        body = (await get(metrics, '/metrics')).body;
        return [master, ...workers].every((pid) =>
          new RegExp(`^cowtop_gc_count\\{name="shop",pid="${pid}",[^}]*generation="0"\\} \\d+$`, 'm').test(body),
        );
      },
      40_000,
      'gc counts of the master and both workers',
    );
    assert.match(sideErr, new RegExp(`attached to pid ${master} \\(`));
    assert.match(body, /^cowtop_cgroup_usage_bytes\{name="shop",cgroup="[^"]+"\} \d+$/m);
    const served = new Set(
      [...body.matchAll(/^# TYPE (cowtop_\w+) (gauge|counter)$/gm)].flatMap((m) =>
        m[2] === 'counter' ? [m[1], `${m[1]}_total`] : [m[1]],
      ),
    );
    for (const m of namedMetrics()) assert.ok(served.has(m), `${m}, named in deploy/, is served`);

    // The server stops: the sidecar ends by itself (its pod restarts it, to find the next one).
    const done = finished(sidecar, 30_000);
    app.kill('SIGTERM');
    const r = await done;
    assert.equal(r.code, 0, r.stderr);
    await waitUntil(() => !alive(master) && workers.every((p) => !alive(p)), 15_000, 'gunicorn to stop');
  } finally {
    sidecar?.kill('SIGKILL');
    if (app?.pid) for (const p of [app.pid, ...children(app.pid)]) if (alive(p)) process.kill(p, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the Kubernetes example: a sidecar attaching by --match, serving every worker and the cgroup', async () => {
  await runExample(kubernetes());
});

test('the Compose example: the same commands, the same metrics', async () => {
  await runExample(compose());
});
