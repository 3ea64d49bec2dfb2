#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx's loader: no build step between a clone and a running server.
import { register } from 'tsx/esm/api';
import v8 from 'node:v8';

// V8's allocation-site pretenuring takes the row data of database answers for long-lived and allocates it in
// the old generation: old space then fills with per-request garbage and every scavenge pays for it (2-7 ms
// pauses, ten a second, under steady queries; about 1 ms without). Measured on esim/query by orderNo over
// PostgreSQL: p99 6.6-7.1 ms with it, 3.3-3.7 ms without (docs/decisions/0007). Set early, before the heap
// holds anything worth pretenuring. ESIMHUB_V8_PRETENURING=1 keeps V8's default.
if (process.env.ESIMHUB_V8_PRETENURING !== '1') v8.setFlagsFromString('--no-allocation-site-pretenuring');

register();
const { runCli } = await import('../src/cli/main.ts');
await runCli(process.argv);
