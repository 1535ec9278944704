/**
 * npm run binary: dist/cowtop-linux-<arch>, one file for a server without Node. The project is
 * bundled into one script (esbuild), the Python package and the agent ride along as one asset,
 * and Node's single executable application support puts both into a copy of this node
 * (--experimental-sea-config, then postject). At its first run the binary extracts the Python
 * files into a private directory (src/files/extract.ts).
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from '../helpers';
import { FILES_ASSET } from '../../src/experiment/python-files';

const OUT = join(ROOT, 'dist', 'sea');
export const BINARY = join(ROOT, 'dist', `cowtop-linux-${process.arch}`);
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

function pyFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() && e.name !== '__pycache__'
      ? pyFiles(join(dir, e.name))
      : e.isFile() && e.name.endsWith('.py')
        ? [join(dir, e.name)]
        : [],
  );
}

// What bin/cowtop.js does before main(), without its shebang's node flags.
const ENTRY = `
try { process.cwd(); } catch (err) {
  process.stderr.write('cowtop: the current directory no longer exists (' + (err.code || err.message) + '): cd to another one\\n');
  process.exit(2);
}
globalThis.__cowtopBlessedUsr = () => require('node:path').join(require('./dist/src/experiment/python-files.js').extractedDir(), 'blessed-usr');
require('./dist/src/cli/main.js').main();
`;

/** Replaces what must be there, or fails the build: a blessed that changed is looked at again. */
function patched(file: string, from: string, to: string): { contents: string; loader: 'js' } {
  const text = readFileSync(file, 'utf8');
  if (!text.includes(from)) throw new Error(`${file} changed: "${from}" is not in it`);
  return { contents: text.split(from).join(to), loader: 'js' };
}

/**
 * blessed loads its widgets as require('./widgets/' + name): esbuild bundles the directory, but
 * by file name, so the name gets its '.js'. Its terminfo fallbacks (used when the system's
 * entry will not parse, as ncurses 6's xterm-256color) are read beside its code: in the
 * binary, from the extracted files.
 */
const BLESSED: import('esbuild').Plugin = {
  name: 'blessed',
  setup(build) {
    build.onLoad({ filter: /blessed[\\/]lib[\\/]widget\.js$/ }, (args) =>
      patched(args.path, "require('./widgets/' + file)", "require('./widgets/' + file + '.js')"),
    );
    build.onLoad({ filter: /blessed[\\/]lib[\\/]tput\.js$/ }, (args) =>
      patched(args.path, "__dirname + '/../usr/", "globalThis.__cowtopBlessedUsr() + '/"),
    );
  },
};

export async function buildBinary(): Promise<string> {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const esbuild = require('esbuild') as typeof import('esbuild');
  await esbuild.build({
    stdin: { contents: ENTRY, resolveDir: ROOT, sourcefile: 'cowtop-entry.js' },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile: join(OUT, 'cowtop.js'),
    // blessed's Terminal widget wants these optional packages; cowtop never makes one.
    external: ['term.js', 'pty.js'],
    legalComments: 'none',
    plugins: [BLESSED],
    logLevel: 'warning',
  });
  const python = join(ROOT, 'python');
  const usr = join(ROOT, 'node_modules', 'blessed', 'usr');
  const files: Record<string, string> = {};
  for (const f of pyFiles(python).sort()) files[`python/${relative(python, f)}`] = readFileSync(f).toString('base64');
  for (const e of readdirSync(usr, { withFileTypes: true }))
    if (e.isFile()) files[`blessed-usr/${e.name}`] = readFileSync(join(usr, e.name)).toString('base64');
  writeFileSync(join(OUT, FILES_ASSET), JSON.stringify(files));
  writeFileSync(
    join(OUT, 'sea-config.json'),
    JSON.stringify({
      main: join(OUT, 'cowtop.js'),
      output: join(OUT, 'cowtop.blob'),
      disableExperimentalSEAWarning: true,
      useCodeCache: true,
      assets: { [FILES_ASSET]: join(OUT, FILES_ASSET) },
    }),
  );
  const blob = spawnSync(process.execPath, ['--experimental-sea-config', join(OUT, 'sea-config.json')], {
    encoding: 'utf8',
  });
  if (blob.status !== 0) throw new Error(`node --experimental-sea-config failed: ${blob.stderr}`);
  rmSync(BINARY, { force: true });
  copyFileSync(process.execPath, BINARY);
  chmodSync(BINARY, 0o755);
  const { inject } = require('postject') as {
    inject(file: string, name: string, data: Buffer, opts: { sentinelFuse: string }): Promise<void>;
  };
  await inject(BINARY, 'NODE_SEA_BLOB', readFileSync(join(OUT, 'cowtop.blob')), { sentinelFuse: FUSE });
  return BINARY;
}

if (require.main === module) {
  buildBinary().then(
    (file) =>
      process.stdout.write(`${relative(process.cwd(), file)}: ${(statSync(file).size / 2 ** 20).toFixed(1)} MiB\n`),
    (err: Error) => {
      process.stderr.write(`npm run binary: ${err.message}\n`);
      process.exit(1);
    },
  );
}
