import type { Kysely } from 'kysely';
import type { StoreDialect } from '../connect.ts';

/** Exchange rates and per-currency price lists (pricing), sandbox twins and dataplans.io purchases. */
export function dataplans(dialect: StoreDialect) {
  void dialect;
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('exchange_rates')
        .addColumn('currency', 'varchar(3)', (c) => c.primaryKey())
        .addColumn('units_per_usd_e6', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('currency_prices')
        .addColumn('currency', 'varchar(3)', (c) => c.notNull())
        .addColumn('package_code', 'varchar(60)', (c) => c.notNull())
        .addColumn('price', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('currency_prices_pk', ['currency', 'package_code'])
        .execute();
      await db.schema
        .createTable('sandbox_twins')
        .addColumn('live_partner_id', 'varchar(40)', (c) => c.primaryKey().references('partners.id'))
        .addColumn('sandbox_partner_id', 'varchar(40)', (c) => c.notNull().unique().references('partners.id'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('dataplans_purchases')
        .addColumn('purchase_id', 'varchar(40)', (c) => c.primaryKey())
        .addColumn('partner_id', 'varchar(40)', (c) => c.notNull().references('partners.id'))
        .addColumn('order_id', 'varchar(40)', (c) => c.notNull().unique().references('orders.id'))
        .addColumn('plan_slug', 'varchar(100)', (c) => c.notNull())
        .addColumn('plan_name', 'varchar(200)', (c) => c.notNull())
        .addColumn('retail', 'bigint', (c) => c.notNull())
        .addColumn('paid', 'bigint', (c) => c.notNull())
        .addColumn('currency', 'varchar(3)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('dataplans_purchases_partner').on('dataplans_purchases').columns(['partner_id', 'created_at']).execute();
      // Monthly tiers sum a partner's charges and refunds since the start of the month.
      await db.schema.createIndex('ledger_transfers_partner_time').on('ledger_transfers').columns(['partner_id', 'created_at']).execute();
    },
  };
}
