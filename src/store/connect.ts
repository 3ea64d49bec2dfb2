import fs from 'node:fs';
import path from 'node:path';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, type Migration, type MigrationProvider } from 'kysely';
import type { DB } from './schema.ts';
import { migrationList } from './migrations/index.ts';
import { kyselyFastReads, sqliteFastReads, type FastReads } from './fast-reads.ts';
import { prepareStatements, type QueryableClient } from './pg-prepared.ts';

export type { FastReads, IdempotencyScope, LedgerAccountRow } from './fast-reads.ts';

export type StoreDialect = 'sqlite' | 'postgres';

export interface Store {
  db: Kysely<DB>;
  dialect: StoreDialect;
  /** Human-readable location, for start-up messages. */
  description: string;
  /**
   * Hot-path reads that skip the query builder. On SQLite they run as cached synchronous statements (no
   * mutex, no promise hops); on PostgreSQL they are ordinary queries.
   */
  fast: FastReads;
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** postgres://… or sqlite:PATH or empty for the embedded file in dataDir. */
  databaseUrl: string;
  dataDir: string;
  /** Postgres: run in this schema (created if missing), so tests can share one database. */
  schema?: string;
  poolSize?: number;
}


export async function connectStore(options: ConnectOptions): Promise<Store> {
  if (/^postgres(ql)?:\/\//.test(options.databaseUrl)) return connectPostgres(options);
  const file = options.databaseUrl.startsWith('sqlite:')
    ? options.databaseUrl.slice('sqlite:'.length)
    : path.join(options.dataDir, 'esimhub.sqlite');
  return connectSqlite(file);
}

async function connectSqlite(file: string): Promise<Store> {
  const { default: Database } = await import('better-sqlite3');
  if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const sqlite = new Database(file);
  // WAL lets CLI commands read while the server writes; busy_timeout makes a second writer wait instead of failing.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 10000');
  sqlite.pragma('foreign_keys = ON');
  // A 64 MB page cache and rarer checkpoints: hot pages (ledger accounts, order indexes) are rewritten
  // many times a second, and each checkpoint copies them to the main file again.
  sqlite.pragma('cache_size = -65536');
  sqlite.pragma('wal_autocheckpoint = 20000');
  sqlite.defaultSafeIntegers(false);
  const db = new Kysely<DB>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  const fast = sqliteFastReads(sqlite, db);
  const store: Store = { db, dialect: 'sqlite', description: `sqlite ${file}`, fast, close: () => db.destroy() };
  await migrate(store);
  return store;
}

async function connectPostgres(options: ConnectOptions): Promise<Store> {
  const pg = await import('pg');
  const { Pool, types } = pg.default;
  // int8 columns hold money and times; every value we store is within Number.MAX_SAFE_INTEGER.
  types.setTypeParser(20, (value: string) => Number(value));
  const pool = new Pool({
    connectionString: options.databaseUrl,
    max: options.poolSize ?? 10,
    ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
  });
  pool.on('connect', (client) => {
    prepareStatements(client as unknown as QueryableClient);
    // A connection lost while checked out also emits 'error' on its client, where the pool no longer listens
    // (node-postgres#3202); unhandled, that ends the process. The query in flight fails with the error anyway.
    client.on('error', () => {});
  });
  // An idle pooled connection that breaks (database restarted, network lost) is reported here; unhandled, the
  // 'error' event would end the process. The pool has already dropped it and opens a new one when next needed.
  pool.on('error', (error) => console.warn(`esimhub: idle PostgreSQL connection lost: ${error.message}`));
  if (options.schema) {
    const client = await pool.connect();
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS "${options.schema.replace(/"/g, '')}"`);
    } catch (error) {
      // Two processes starting together may both create it: the loser sees a duplicate, which is fine.
      if (!['23505', '42P06'].includes((error as { code?: string }).code ?? '')) throw error;
    } finally {
      client.release();
    }
  }
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  const safeUrl = options.databaseUrl.replace(/\/\/[^@/]*@/, '//***@');
  const store: Store = { db, dialect: 'postgres', description: `postgres ${safeUrl}`, fast: kyselyFastReads(db), close: () => db.destroy() };
  await migrate(store, options.schema);
  return store;
}

/**
 * Kysely prepares every query anew; preparing costs more than running a small query, so statements are
 * kept by SQL text (our queries are built from a fixed set of shapes, so the cache stays small).
 */
function withStatementCache(sqlite: import('better-sqlite3').Database): import('better-sqlite3').Database {
  const cache = new Map<string, import('better-sqlite3').Statement>();
  const prepare = sqlite.prepare.bind(sqlite);
  return new Proxy(sqlite, {
    get(target, property, receiver) {
      if (property === 'prepare') {
        return (source: string) => {
          let statement = cache.get(source);
          if (!statement) {
            statement = prepare(source);
            if (cache.size > 2000) cache.clear();
            cache.set(source, statement);
          }
          return statement;
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

export async function migrate(store: Store, schema?: string): Promise<void> {
  const provider: MigrationProvider = {
    async getMigrations() {
      const out: Record<string, Migration> = {};
      for (const [name, make] of migrationList) out[name] = make(store.dialect);
      return out;
    },
  };
  // With a schema, the migration tables live in it too: another schema's tables must not count as ours.
  const migrator = new Migrator({
    db: store.db,
    provider,
    migrationTableName: 'schema_migrations',
    migrationLockTableName: 'schema_migrations_lock',
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  let { error, results } = await migrator.migrateToLatest();
  // Kysely's migrator introspects every schema of the database; a schema or table dropped by someone else
  // meanwhile (another tenant, another test file) fails that query with 3F000 (schema), 42P01 (relation),
  // 42703 (column) or XX000 (catalog lookup). When no migration reports an error, nothing was applied: retry.
  const raceCodes = new Set(['3F000', '42P01', '42703', 'XX000']);
  const lostRace = () => !!error && raceCodes.has((error as { code?: string }).code ?? '') && !results?.some((r) => r.status === 'Error');
  for (let attempt = 0; lostRace() && attempt < 8; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 100));
    ({ error, results } = await migrator.migrateToLatest());
  }
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message ?? error}`);
  }
}

/** Names of migrations not yet applied: empty when the schema is current (used by readiness checks). */
export async function pendingMigrations(store: Store): Promise<string[]> {
  const applied = await store.db
    .selectFrom('schema_migrations' as any)
    .select('name' as any)
    .execute()
    .then((rows) => new Set(rows.map((r: any) => r.name as string)))
    .catch(() => new Set<string>());
  return migrationList.map(([name]) => name).filter((name) => !applied.has(name));
}
