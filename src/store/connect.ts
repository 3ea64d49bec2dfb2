import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, type Migration, type MigrationProvider } from 'kysely';
import type { DB } from './schema.ts';
import { migrationList } from './migrations/index.ts';

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

/** An Idempotency-Key's identity: per API key (or console user), method and path. */
export interface IdempotencyScope {
  keyId: string;
  method: string;
  path: string;
  key: string;
}

export interface LedgerAccountRow {
  debits_posted: number;
  credits_posted: number;
  currency: string;
  updated_at: number;
}

export interface FastReads {
  ledgerAccount(accountId: string): Promise<Readonly<LedgerAccountRow> | undefined>;
  /** Inserts an in-flight claim of an Idempotency-Key unless the key is already there; true when inserted. */
  claimIdempotencyKey(scope: IdempotencyScope, requestHash: string, lockedUntilMs: number, nowMs: number, expiresAtMs: number): Promise<boolean>;
  /** Stores the answer of a claimed key (state done). */
  finishIdempotencyKey(scope: IdempotencyScope, claim: { requestHash: string; nowMs: number; expiresAtMs: number }, response: { status: number; body: string | null; type: string | null }): Promise<void>;
  /** Gives a claimed key up (the request failed in a way a retry should run again). */
  releaseIdempotencyKey(scope: IdempotencyScope): Promise<void>;
}

function kyselyFastReads(db: Kysely<DB>): FastReads {
  const scoped = <Q extends { where: (...args: any[]) => any }>(query: Q, scope: IdempotencyScope): Q =>
    query.where('key_id', '=', scope.keyId).where('method', '=', scope.method).where('path', '=', scope.path).where('idempotency_key', '=', scope.key) as Q;
  return {
    ledgerAccount: (accountId) =>
      db.selectFrom('ledger_accounts').select(['debits_posted', 'credits_posted', 'currency', 'updated_at']).where('id', '=', accountId).executeTakeFirst(),
    async claimIdempotencyKey(scope, requestHash, lockedUntilMs, nowMs, expiresAtMs) {
      const inserted = await db
        .insertInto('idempotency_keys')
        .values({ key_id: scope.keyId, method: scope.method, path: scope.path, idempotency_key: scope.key, request_hash: requestHash, state: 'in_flight', response_status: null, response_body: null, response_type: null, locked_until: lockedUntilMs, created_at: nowMs, expires_at: expiresAtMs })
        .onConflict((oc) => oc.columns(['key_id', 'method', 'path', 'idempotency_key']).doNothing())
        .executeTakeFirst();
      return Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1;
    },
    async finishIdempotencyKey(scope, _claim, response) {
      await scoped(db.updateTable('idempotency_keys').set({ state: 'done', response_status: response.status, response_body: response.body, response_type: response.type }), scope).execute();
    },
    async releaseIdempotencyKey(scope) {
      await scoped(db.deleteFrom('idempotency_keys'), scope).execute();
    },
  };
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
  const viaKysely = kyselyFastReads(db);
  const statements = new Map<string, import('better-sqlite3').Statement>();
  const statement = (source: string) => {
    let found = statements.get(source);
    if (!found) statements.set(source, (found = sqlite.prepare(source)));
    return found;
  };
  // Ledger account rows read through the fast path are remembered until something changes them. A write by
  // this process (every order, deposit and refund the server makes) moves total_changes(), checked on every
  // read for next to nothing: this process never answers a balance older than its own last write. A commit
  // by another process (a CLI command) moves data_version; that check starts a read transaction, which
  // costs as much as the read itself, so it runs at most every EXTERNAL_CHECK_MS.
  const EXTERNAL_CHECK_MS = 50;
  const accounts = new Map<string, LedgerAccountRow>();
  const dataVersion = sqlite.prepare('pragma data_version').pluck();
  const totalChanges = sqlite.prepare('select total_changes()').pluck();
  let seenVersion = -1;
  let seenChanges = -1;
  let versionCheckedAtMs = 0;
  const validate = () => {
    const changes = totalChanges.get() as number;
    const nowMs = Date.now();
    let version = seenVersion;
    if (nowMs - versionCheckedAtMs >= EXTERNAL_CHECK_MS) {
      version = dataVersion.get() as number;
      versionCheckedAtMs = nowMs;
    }
    if (version !== seenVersion || changes !== seenChanges || accounts.size > 10_000) {
      accounts.clear();
      seenVersion = version;
      seenChanges = changes;
    }
  };
  // One connection serves the process. While another request's transaction is open on it, a direct
  // statement would see (or, writing, join) that transaction, so it waits its turn through Kysely;
  // otherwise it runs synchronously: no query building, no mutex, no promise hops, and a write commits alone.
  const fast: FastReads = {
    ledgerAccount: async (accountId) => {
      if (sqlite.inTransaction) return viaKysely.ledgerAccount(accountId);
      validate();
      const cached = accounts.get(accountId);
      if (cached) return cached;
      const row = statement('select debits_posted, credits_posted, currency, updated_at from ledger_accounts where id = ?').get(accountId) as LedgerAccountRow | undefined;
      if (row) accounts.set(accountId, Object.freeze(row));
      return row;
    },
    // One process owns the embedded store, so a claim in flight lives in memory: a duplicate arriving
    // meanwhile finds it there (and is told to retry). Only the answer is written, and answers finishing in
    // the same turn of the event loop are written in one transaction. A crash before that write loses the
    // claim, and a retry runs the request again: orders and top-ups are idempotent by the transaction id the
    // key derives, as they would be after an abandoned claim's lease ran out.
    claimIdempotencyKey: async (scope, requestHash, lockedUntilMs, nowMs, expiresAtMs) => {
      const id = scopeId(scope);
      // A claim whose request never finished (it should not happen: every reply finishes its claim) lapses
      // like the shared store's lease.
      if ((inFlight.get(id) ?? 0) > nowMs) return false;
      if (sqlite.inTransaction) {
        if (!(await viaKysely.claimIdempotencyKey(scope, requestHash, lockedUntilMs, nowMs, expiresAtMs))) return false;
        inFlight.set(id, lockedUntilMs);
        return true;
      }
      const existing = statement('select 1 from idempotency_keys where key_id = ? and method = ? and path = ? and idempotency_key = ?').get(scope.keyId, scope.method, scope.path, scope.key);
      if (existing) return false;
      inFlight.set(id, lockedUntilMs);
      return true;
    },
    finishIdempotencyKey: (scope, claim, response) =>
      new Promise<void>((resolve, reject) => {
        answers.push({ scope, claim, response, resolve, reject });
        if (answers.length === 1) setImmediate(flushAnswers);
      }),
    releaseIdempotencyKey: async (scope) => {
      inFlight.delete(scopeId(scope));
      await viaKysely.releaseIdempotencyKey(scope);
    },
  };
  const inFlight = new Map<string, number>();
  const scopeId = (scope: IdempotencyScope) => `${scope.keyId}\u0000${scope.method}\u0000${scope.path}\u0000${scope.key}`;
  type Answer = { scope: IdempotencyScope; claim: { requestHash: string; nowMs: number; expiresAtMs: number }; response: { status: number; body: string | null; type: string | null } };
  let answers: Array<Answer & { resolve: () => void; reject: (error: unknown) => void }> = [];
  const upsertAnswer = `insert into idempotency_keys (key_id, method, path, idempotency_key, request_hash, state, response_status, response_body, response_type, locked_until, created_at, expires_at)
    values (?, ?, ?, ?, ?, 'done', ?, ?, ?, ?, ?, ?)
    on conflict (key_id, method, path, idempotency_key) do update set state = 'done', response_status = excluded.response_status,
      response_body = excluded.response_body, response_type = excluded.response_type`;
  const answerParams = ({ scope, claim, response }: Answer) => [scope.keyId, scope.method, scope.path, scope.key, claim.requestHash, response.status, response.body, response.type, claim.nowMs, claim.nowMs, claim.expiresAtMs];
  const flushAnswers = async () => {
    const batch = answers;
    answers = [];
    try {
      if (!sqlite.inTransaction) {
        const write = statement(upsertAnswer);
        sqlite.transaction(() => batch.forEach((answer) => write.run(...answerParams(answer))))();
      } else {
        // A transaction is open on the connection (a group of orders being placed): queue behind it.
        await db.transaction().execute(async (trx) => {
          for (const { scope, claim, response } of batch) {
            await trx
              .insertInto('idempotency_keys')
              .values({ key_id: scope.keyId, method: scope.method, path: scope.path, idempotency_key: scope.key, request_hash: claim.requestHash, state: 'done', response_status: response.status, response_body: response.body, response_type: response.type, locked_until: claim.nowMs, created_at: claim.nowMs, expires_at: claim.expiresAtMs })
              .onConflict((oc) => oc.columns(['key_id', 'method', 'path', 'idempotency_key']).doUpdateSet({ state: 'done', response_status: response.status, response_body: response.body, response_type: response.type }))
              .execute();
          }
        });
      }
      for (const answer of batch) answer.resolve();
    } catch (error) {
      for (const answer of batch) answer.reject(error);
    } finally {
      for (const answer of batch) inFlight.delete(scopeId(answer.scope));
    }
  };
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
  pool.on('connect', (client) => prepareStatements(client as unknown as QueryableClient));
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

interface QueryableClient {
  query: (...args: unknown[]) => Promise<unknown>;
}

/** Named statements per connection at most: our queries come from a fixed set of shapes, `in (…)` lists add a few. */
const PREPARED_PER_CONNECTION = 2000;

/**
 * PostgreSQL: every parameterised query runs as a named prepared statement on its connection, so the server
 * parses and plans each shape once per connection instead of on every call (Kysely sends plain queries). A
 * statement whose plan went stale because another process changed the schema (a migration while this
 * process runs) is sent unnamed from then on.
 */
function prepareStatements(client: QueryableClient): void {
  const query = client.query.bind(client);
  const names = new Map<string, string>();
  const stale = new Set<string>();
  client.query = (...args: unknown[]) => {
    const [text, values] = args;
    if (typeof text !== 'string' || !Array.isArray(values) || values.length === 0 || args.length > 2 || stale.has(text)) return query(...args);
    let name = names.get(text);
    if (!name) {
      if (names.size >= PREPARED_PER_CONNECTION) return query(...args);
      name = `esimhub_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
      names.set(text, name);
    }
    return query({ name, text, values }).catch((error: { code?: string; message?: string }) => {
      if (error.code !== '0A000' || !/cached plan/.test(error.message ?? '')) throw error;
      stale.add(text);
      throw error;
    });
  };
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
  // meanwhile (another tenant, another test file) fails that query with 3F000 (schema), 42P01 (relation), 42703 (column) or
  // XX000 (catalog lookup). When no migration reports an error, nothing was applied: try again.
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
