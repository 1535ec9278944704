#!/usr/bin/env -S node --max-semi-space-size=1

// The flag: a monitor should stay small. A 1 MiB young generation (V8 grows it to 16 MiB by
// default) keeps cowtop's own RSS about 30 MB lower for a few more scavenges (bench/RESULTS.md).

// A working directory deleted under the shell: yargs asks for it as it loads, and the
// experiment and run start there. One line, before anything is loaded or started.
try {
  process.cwd();
} catch (err) {
  process.stderr.write(
    `cowtop: the current directory no longer exists (${err.code || err.message}): cd to another one\n`,
  );
  process.exit(2);
}
require('../dist/src/cli/main.js').main();
