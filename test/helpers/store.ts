import crypto from 'node:crypto';
import { connectStore, type Store } from '../../src/store/connect.ts';

/**
 * Which store the suite runs on: `ESIMHUB_TEST_STORE=postgres` runs every test file on PostgreSQL
 * (ESIMHUB_TEST_PG_URL, default postgres://root@127.0.0.1:5432/test), else on the embedded SQLite store.
 *
 * On PostgreSQL each data directory a test uses gets its own schema, named after this test file's random
 * prefix and the directory: the server the test starts, the CLI commands and child processes it runs and
 * the store it opens directly all find the same data, exactly as they share `<dataDir>/esimhub.sqlite` on
 * SQLite. setup.ts drops this file's schemas when the file ends.
 */
export const TEST_STORE: 'sqlite' | 'postgres' = process.env.ESIMHUB_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';
export const PG_URL = process.env.ESIMHUB_TEST_PG_URL || 'postgres://root@127.0.0.1:5432/test';
export const onPostgres = TEST_STORE === 'postgres';

/** Unique per test file (each file runs in its own module registry). */
const FILE_PREFIX = `t_${crypto.randomBytes(4).toString('hex')}`;
const created = new Set<string>();

export function schemaFor(dataDir: string): string {
  const name = `${FILE_PREFIX}_${crypto.createHash('sha1').update(dataDir).digest('hex').slice(0, 12)}`;
  created.add(name);
  return name;
}

/** The environment a server or CLI process needs to use the test store for `dataDir`. */
export function storeEnv(dataDir: string): Record<string, string> {
  if (!onPostgres) return {};
  return { DATABASE_URL: PG_URL, DATABASE_SCHEMA: schemaFor(dataDir) };
}

/** Opens the store for `dataDir` directly (the same data a server with storeEnv(dataDir) uses). */
export async function openTestStore(dataDir: string): Promise<Store> {
  if (!onPostgres) return connectStore({ databaseUrl: '', dataDir });
  return connectStore({ databaseUrl: PG_URL, dataDir, schema: schemaFor(dataDir), poolSize: 4 });
}

/** Drops every schema this test file created (setup.ts calls it after the file). */
export async function dropTestSchemas(): Promise<void> {
  if (!onPostgres) return;
  const pg = await import('pg');
  const client = new pg.default.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ nspname: string }>('select nspname from pg_namespace where nspname like $1', [`${FILE_PREFIX}\\_%`]);
    for (const { nspname } of rows) await client.query(`DROP SCHEMA IF EXISTS "${nspname}" CASCADE`);
  } finally {
    await client.end();
  }
  created.clear();
}
