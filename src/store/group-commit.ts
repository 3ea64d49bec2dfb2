import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB } from './schema.ts';
import type { StoreDialect } from './connect.ts';

/** Runs a unit of work in a transaction of its own, or of a group (see GroupCommit). */
export interface TransactionRunner {
  run<T>(work: (trx: Transaction<DB>) => Promise<T>): Promise<T>;
}

interface Pending {
  work: (trx: Transaction<DB>) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for the embedded store. SQLite has one writer and every commit writes each page it touched
 * to the WAL: concurrent units of work (order placements) that arrive while one group runs are run together
 * in the next transaction, each inside a savepoint, so one commit writes shared pages (indexes, the wallet,
 * the job queue) once for all of them. A unit that fails rolls back to its savepoint alone and rejects; the
 * others commit. Results are handed out only after the commit, so nothing is reported before it is durable.
 */
export class GroupCommit implements TransactionRunner {
  private queue: Pending[] = [];
  private scheduled = false;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly maxGroup = 64,
  ) {}

  run<T>(work: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    const group = this.queue.splice(0, this.maxGroup);
    if (this.queue.length) setImmediate(() => void this.flush());
    else this.scheduled = false;
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    try {
      await this.db.transaction().execute(async (trx) => {
        outcomes.length = 0;
        for (const item of group) {
          if (group.length === 1) {
            outcomes.push({ ok: true, value: await item.work(trx) });
            continue;
          }
          await sql`savepoint unit`.execute(trx);
          try {
            const value = await item.work(trx);
            await sql`release savepoint unit`.execute(trx);
            outcomes.push({ ok: true, value });
          } catch (error) {
            await sql`rollback to savepoint unit`.execute(trx);
            await sql`release savepoint unit`.execute(trx);
            outcomes.push({ ok: false, error });
          }
        }
      });
    } catch (error) {
      // The group's commit failed (or a lone unit threw): nothing of it happened.
      for (const item of group) item.reject(error);
      return;
    }
    group.forEach((item, i) => {
      const outcome = outcomes[i];
      if (outcome.ok) item.resolve(outcome.value);
      else item.reject(outcome.error);
    });
  }
}

/** PostgreSQL: concurrent transactions commit in parallel on their own connections. */
class OwnTransaction implements TransactionRunner {
  constructor(private readonly db: Kysely<DB>) {}
  run<T>(work: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(work);
  }
}

export function transactionRunner(db: Kysely<DB>, dialect: StoreDialect): TransactionRunner {
  return dialect === 'sqlite' ? new GroupCommit(db) : new OwnTransaction(db);
}
