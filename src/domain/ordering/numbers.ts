import { sql, type Transaction } from 'kysely';
import type { DB } from '../../store/schema.ts';

/** Next value of a named counter, inside the caller's transaction (row-locked on PostgreSQL). */
export async function nextSequence(trx: Transaction<DB>, name: 'order' | 'esim'): Promise<number> {
  const row = await trx.updateTable('sequences').set({ value: sql`value + 1` }).where('name', '=', name).returning('value').executeTakeFirstOrThrow();
  return Number(row.value);
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
