import { afterAll } from 'vitest';
import { dropTestSchemas } from './helpers/store.ts';

// On PostgreSQL every test file runs in schemas of its own; they are dropped when the file ends.
afterAll(async () => {
  await dropTestSchemas();
});
