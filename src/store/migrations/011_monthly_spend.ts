import { sql, type Kysely } from 'kysely';
import type { StoreDialect } from '../connect.ts';

/**
 * Each partner's charges and refunds per calendar month (UTC), kept by the ledger in the transaction of each
 * transfer: monthly tiers read one row instead of summing the month's transfers on every order.
 */
export function monthlySpend(dialect: StoreDialect) {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('monthly_spend')
        .addColumn('partner_id', 'text', (c) => c.notNull())
        .addColumn('month', 'text', (c) => c.notNull())
        .addColumn('charges', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('refunds', 'bigint', (c) => c.notNull().defaultTo(0))
        .addPrimaryKeyConstraint('monthly_spend_pk', ['partner_id', 'month'])
        .execute();
      const month = dialect === 'postgres' ? sql`to_char(to_timestamp(created_at / 1000.0) at time zone 'UTC', 'YYYY-MM')` : sql`strftime('%Y-%m', created_at / 1000, 'unixepoch')`;
      await sql`insert into monthly_spend (partner_id, month, charges, refunds)
        select partner_id, ${month},
          coalesce(sum(case when kind = 'charge' then amount else 0 end), 0),
          coalesce(sum(case when kind = 'refund' then amount else 0 end), 0)
        from ledger_transfers
        where partner_id is not null and kind in ('charge', 'refund')
        group by partner_id, ${month}`.execute(db);
    },
  };
}
