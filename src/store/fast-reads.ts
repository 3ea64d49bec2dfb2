import { sql, type Insertable, type Kysely, type Transaction } from 'kysely';
import type BetterSqlite3 from 'better-sqlite3';
import type { DB, UsageRecordTable } from './schema.ts';

/**
 * Hot-path statements that skip the query builder (`store.fast`). On SQLite they run as cached synchronous
 * statements whenever no transaction is open on the connection; on PostgreSQL they are ordinary queries.
 */
/** An Idempotency-Key's identity: per API key (or console user), method and path. */
export interface IdempotencyScope {
  keyId: string;
  method: string;
  path: string;
  key: string;
}

/** What a claim knows of its request: its hash (a repeat must match) and when the key was first used. */
export interface IdempotencyClaim {
  requestHash: string;
  nowMs: number;
  expiresAtMs: number;
}

/** The stored answer replayed to repeats. */
export interface IdempotencyAnswer {
  status: number;
  body: string | null;
  type: string | null;
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
  finishIdempotencyKey(scope: IdempotencyScope, claim: IdempotencyClaim, response: IdempotencyAnswer): Promise<void>;
  /** Gives a claimed key up (the request failed in a way a retry should run again). */
  releaseIdempotencyKey(scope: IdempotencyScope): Promise<void>;
  /**
   * Inserts usage records inside the caller's transaction `trx`, skipping keys already stored; returns the
   * keys it inserted. Bulk ingestion writes tens of thousands a second through here.
   */
  insertUsageRecords(trx: Transaction<DB>, rows: Array<Insertable<UsageRecordTable>>): Promise<Set<string>>;
  /**
   * Bulk loading (`esimhub seed`): inserts new rows, all with the first row's columns, inside the caller's
   * transaction `trx`. No conflict handling: a duplicate key fails the statement and so the transaction.
   */
  bulkInsert<T extends keyof DB & string>(trx: Transaction<DB>, table: T, rows: ReadonlyArray<Insertable<DB[T]>>): Promise<void>;
}

/** Rows per INSERT through the query builder: well inside SQLite's and PostgreSQL's parameter limits. */
const USAGE_ROWS_PER_INSERT = 1000;

/** Narrows a query on idempotency_keys to one key's row. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function whereScope<Q extends { where: (...args: any[]) => any }>(query: Q, scope: IdempotencyScope): Q {
  return query.where('key_id', '=', scope.keyId).where('method', '=', scope.method).where('path', '=', scope.path).where('idempotency_key', '=', scope.key) as Q;
}

export function kyselyFastReads(db: Kysely<DB>): FastReads {
  const columnTypes = new Map<string, Map<string, string>>();
  // Column types for unnest's array casts, without the length (a cast would truncate; the column itself refuses).
  const typesOf = async (trx: Transaction<DB>, table: string) => {
    let types = columnTypes.get(table);
    if (!types) {
      const { rows } = await sql<{ name: string; type: string }>`select attname as name, atttypid::regtype::text as type from pg_attribute where attrelid = ${table}::regclass and attnum > 0 and not attisdropped`.execute(trx);
      columnTypes.set(table, (types = new Map(rows.map((r) => [r.name, r.type]))));
    }
    return types;
  };
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
      await whereScope(db.updateTable('idempotency_keys').set({ state: 'done', response_status: response.status, response_body: response.body, response_type: response.type }), scope).execute();
    },
    async releaseIdempotencyKey(scope) {
      await whereScope(db.deleteFrom('idempotency_keys'), scope).execute();
    },
    async insertUsageRecords(trx, rows) {
      const fresh = new Set<string>();
      for (let i = 0; i < rows.length; i += USAGE_ROWS_PER_INSERT) {
        const part = rows.slice(i, i + USAGE_ROWS_PER_INSERT);
        const inserted = await trx.insertInto('usage_records').values(part).onConflict((oc) => oc.column('record_key').doNothing()).returning(['record_key']).execute();
        for (const r of inserted) fresh.add(r.record_key);
      }
      return fresh;
    },
    async bulkInsert(trx, table, rows) {
      if (!rows.length) return;
      const columns = Object.keys(rows[0]);
      const values = rows as ReadonlyArray<Record<string, unknown>>;
      // This implementation serves the PostgreSQL store (the embedded one has sqliteFastReads').
      // One array parameter per column: PostgreSQL parses and binds a few arrays, not a parameter per value.
      const types = await typesOf(trx, table);
      const arrays = columns.map((column) => sql`${values.map((row) => row[column] ?? null)}::${sql.raw(`${types.get(column)}[]`)}`);
      await sql`insert into ${sql.table(table)} (${sql.join(columns.map((column) => sql.ref(column)))}) select * from unnest(${sql.join(arrays)})`.execute(trx);
    },
  };
}

/** The embedded store's fast path over its one better-sqlite3 connection (`db` is Kysely over the same one). */
export function sqliteFastReads(sqlite: BetterSqlite3.Database, db: Kysely<DB>): FastReads {
  const viaKysely = kyselyFastReads(db);
  const statements = new Map<string, BetterSqlite3.Statement>();
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
    // The caller's transaction holds the one connection, so statements run on it directly belong to that
    // transaction. One prepared single-row statement, run per record, costs less than building and binding
    // 1,000-row statements through the query builder.
    insertUsageRecords: async (_trx, rows) => {
      if (!sqlite.inTransaction) throw new Error('insertUsageRecords runs inside the caller\'s transaction');
      const insert = statement('insert into usage_records (record_key, esim_id, bytes, period_start, period_end, source, received_at) values (?, ?, ?, ?, ?, ?, ?) on conflict (record_key) do nothing');
      const fresh = new Set<string>();
      for (const r of rows) {
        if (insert.run(r.record_key, r.esim_id, r.bytes, r.period_start ?? null, r.period_end ?? null, r.source, r.received_at).changes === 1) fresh.add(r.record_key);
      }
      return fresh;
    },
    // As insertUsageRecords: one prepared single-row statement per table. Values are bound by position
    // (binding by name from the row object took 1.7 times as long).
    bulkInsert: async (_trx, table, rows) => {
      if (!sqlite.inTransaction) throw new Error('bulkInsert runs inside the caller\'s transaction');
      if (!rows.length) return;
      const columns = Object.keys(rows[0]);
      const insert = statement(`insert into "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) values (${columns.map(() => '?').join(', ')})`);
      for (const row of rows as ReadonlyArray<Record<string, unknown>>) insert.run(columns.map((column) => row[column]));
    },
  };
  const inFlight = new Map<string, number>();
  const scopeId = (scope: IdempotencyScope) => `${scope.keyId}\u0000${scope.method}\u0000${scope.path}\u0000${scope.key}`;
  type Answer = { scope: IdempotencyScope; claim: IdempotencyClaim; response: IdempotencyAnswer };
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
  return fast;
}
