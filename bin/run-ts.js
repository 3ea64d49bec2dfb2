#!/usr/bin/env node
// `node bin/run-ts.js FILE.ts [args]`: runs a TypeScript file (benchmarks, scripts) with tsx's loader.
import { register } from 'tsx/esm/api';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

register();
const file = process.argv[2];
if (!file) {
  console.error('usage: node bin/run-ts.js FILE.ts [args]');
  process.exit(2);
}
process.argv.splice(2, 1);
await import(pathToFileURL(path.resolve(file)).href);
