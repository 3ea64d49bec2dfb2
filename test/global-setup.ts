// @ts-expect-error a plain ESM script shared with npm's prepare/prestart
import { buildConsole } from '../scripts/build-console.mjs';

/**
 * The console tests need the built app; building once here keeps workers from racing to build it. A failed
 * build does not stop the API tests: the browser tests then fail on the missing or stale app, and the build
 * error is printed here.
 */
export default async function setup(): Promise<void> {
  try {
    await buildConsole({ quiet: true });
  } catch (error) {
    console.error(`\nconsole build FAILED (browser tests will fail):\n${error instanceof Error ? error.message : String(error)}\n`);
  }
}
