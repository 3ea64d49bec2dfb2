import { sql, type Kysely } from 'kysely';
import type { StoreDialect } from '../connect.ts';

/**
 * PostgreSQL: order and eSIM numbers from native sequences. The `sequences` row every placement updated was
 * one row locked by every order of every partner until its transaction committed; nextval() takes no lock
 * that lasts the transaction (a rolled-back transaction leaves a gap, which numbers may have). The embedded
 * store keeps the table: it has one writer anyway.
 */
export function pgSequences(dialect: StoreDialect) {
  return {
    async up(db: Kysely<any>): Promise<void> {
      if (dialect !== 'postgres') return;
      for (const name of ['order', 'esim']) {
        const row = await db.selectFrom('sequences').select('value').where('name', '=', name).executeTakeFirst();
        const start = Number(row?.value ?? 0) + 1;
        await sql.raw(`create sequence if not exists esimhub_seq_${name} start with ${start}`).execute(db);
      }
    },
  };
}
