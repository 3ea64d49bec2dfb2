import { PostgresAdapter, sql, type Kysely, type Transaction } from 'kysely';
import type { DB } from '../../store/schema.ts';

/**
 * Next value of a named counter. PostgreSQL: a native sequence (no lock held until commit; see migration
 * 012). Embedded store: a row of `sequences`, inside the caller's transaction.
 */
export async function nextSequence(trx: Transaction<DB>, name: 'order' | 'esim'): Promise<number> {
  if (trx.getExecutor().adapter instanceof PostgresAdapter) {
    const result = await sql<{ value: string }>`select nextval(${`esimhub_seq_${name}`}) as value`.execute(trx);
    return Number(result.rows[0].value);
  }
  const row = await trx.updateTable('sequences').set({ value: sql`value + 1` }).where('name', '=', name).returning('value').executeTakeFirstOrThrow();
  return Number(row.value);
}

/**
 * Reserves `n` consecutive values at once (bulk seeding) and returns the first. On PostgreSQL the range is
 * taken from the native sequence with setval; an order placed at that very moment could take a number inside
 * it (its insert would then fail on the unique order number), so seed while the platform is not ordering.
 */
export async function reserveSequence(db: Kysely<DB>, name: 'order' | 'esim', n: number): Promise<number> {
  if (n <= 0) return 0;
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    const seq = `esimhub_seq_${name}`;
    const result = await sql<{ last: string }>`select setval(${seq}, nextval(${seq}) + ${n - 1}) as last`.execute(db);
    return Number(result.rows[0].last) - n + 1;
  }
  const row = await db.updateTable('sequences').set({ value: sql`value + ${n}` }).where('name', '=', name).returning('value').executeTakeFirstOrThrow();
  return Number(row.value) - n + 1;
}

function datePrefix(nowMs: number): string {
  const d = new Date(nowMs);
  return `${String(d.getUTCFullYear() % 100).padStart(2, '0')}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`;
}

/** `B` + yyMMdd + an 8-digit global sequence, e.g. B26112400000042: unique because the sequence is. */
export function formatOrderNo(sequence: number, nowMs: number): string {
  return `B${datePrefix(nowMs)}${String(sequence).padStart(8, '0')}`;
}

/** yyMMdd + an 8-digit global sequence: digits only, as clients expect of esimTranNo. */
export function formatEsimTranNo(sequence: number, nowMs: number): string {
  return `${datePrefix(nowMs)}${String(sequence).padStart(8, '0')}`;
}
