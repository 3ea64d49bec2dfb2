import type { Kysely } from 'kysely';
import type { StoreDialect } from '../connect.ts';

/** eSIM Go dialect: order/apply references, inventory, bundle references, per-eSIM and per-partner settings. */
export function esimgo(dialect: StoreDialect) {
  void dialect;
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('esimgo_orders')
        .addColumn('reference', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('partner_id', 'varchar(40)', (c) => c.notNull())
        .addColumn('kind', 'varchar(10)', (c) => c.notNull())
        .addColumn('order_id', 'varchar(40)')
        .addColumn('assigned', 'integer', (c) => c.notNull())
        .addColumn('lines_json', 'text', (c) => c.notNull())
        .addColumn('total', 'bigint', (c) => c.notNull())
        .addColumn('currency', 'varchar(3)', (c) => c.notNull())
        .addColumn('source_ip', 'varchar(64)')
        .addColumn('running_balance', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('esimgo_orders_partner').on('esimgo_orders').columns(['partner_id', 'created_at']).execute();
      await db.schema.createIndex('esimgo_orders_order').on('esimgo_orders').columns(['order_id']).execute();

      await db.schema
        .createTable('esimgo_inventory')
        .addColumn('id', 'varchar(40)', (c) => c.primaryKey())
        .addColumn('usage_id', 'bigint', (c) => c.notNull().unique())
        .addColumn('partner_id', 'varchar(40)', (c) => c.notNull())
        .addColumn('package_code', 'varchar(40)', (c) => c.notNull())
        .addColumn('reference', 'varchar(64)', (c) => c.notNull())
        .addColumn('total', 'integer', (c) => c.notNull())
        .addColumn('remaining', 'integer', (c) => c.notNull())
        .addColumn('unit_price', 'bigint', (c) => c.notNull())
        .addColumn('currency', 'varchar(3)', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('esimgo_inventory_partner').on('esimgo_inventory').columns(['partner_id', 'package_code']).execute();

      await db.schema
        .createTable('esimgo_bundle_refs')
        .addColumn('bundle_id', 'varchar(40)', (c) => c.primaryKey())
        .addColumn('partner_id', 'varchar(40)', (c) => c.notNull())
        .addColumn('reference', 'varchar(64)', (c) => c.notNull())
        .addColumn('assignment_reference', 'varchar(80)', (c) => c.notNull())
        .addColumn('inventory_id', 'varchar(40)')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('esimgo_esims')
        .addColumn('esim_id', 'varchar(40)', (c) => c.primaryKey())
        .addColumn('partner_id', 'varchar(40)', (c) => c.notNull())
        .addColumn('customer_ref', 'varchar(200)', (c) => c.notNull())
        .addColumn('branding_id', 'varchar(80)')
        .addColumn('deleted_at', 'bigint')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('esimgo_settings')
        .addColumn('partner_id', 'varchar(40)', (c) => c.primaryKey())
        .addColumn('callback_url', 'varchar(2000)')
        .addColumn('callback_version', 'varchar(4)', (c) => c.notNull())
        .addColumn('dialect', 'varchar(20)', (c) => c.notNull())
        .addColumn('key_id', 'varchar(40)')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.insertInto('sequences').values({ name: 'esimgo_usage', value: 0 }).execute();
    },
  };
}
