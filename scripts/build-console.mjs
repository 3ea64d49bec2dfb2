// Builds the web console (console/ → console/dist) with Vite when the build is missing or older than its
// sources. Run by `npm install` (prepare), `npm start` (prestart) and the test setup; `--force` always builds.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../console');
const built = path.join(root, 'dist', 'index.html');

function newestMtimeMs(entry) {
  const stat = fs.statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const name of fs.readdirSync(entry)) newest = Math.max(newest, newestMtimeMs(path.join(entry, name)));
  return newest;
}

export async function buildConsole({ force = false, quiet = false } = {}) {
  const sources = ['src', 'index.html', 'vite.config.ts'].map((name) => path.join(root, name));
  const stale = force || !fs.existsSync(built) || Math.max(...sources.map(newestMtimeMs)) > fs.statSync(built).mtimeMs;
  if (!stale) return false;
  const { build } = await import('vite');
  await build({ configFile: path.join(root, 'vite.config.ts'), logLevel: quiet ? 'warn' : 'info' });
  return true;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const did = await buildConsole({ force: process.argv.includes('--force'), quiet: process.argv.includes('--quiet') });
    if (!did) console.log('console: build is up to date');
  } catch (error) {
    console.error(`console: build failed: ${error instanceof Error ? error.message : error}`);
    process.exit(1);
  }
}
