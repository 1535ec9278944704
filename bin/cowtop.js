#!/usr/bin/env -S node --max-semi-space-size=1
'use strict';
// The flag: a monitor should stay small. A 1 MiB young generation (V8 grows it to 16 MiB by
// default) keeps cowtop's own RSS about 30 MB lower for a few more scavenges (bench/RESULTS.md).
require('../dist/src/cli/main.js').main();
