import type { Kysely } from 'kysely';
import type { StoreDialect } from '../connect.ts';

/** Orders, eSIMs and the bundles on them, profile pools, the job queue and the event outbox. */
export function orders(dialect: StoreDialect) {
  const serial = dialect === 'postgres' ? 'bigserial' : 'integer';
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('sequences')
        .addColumn('name', 'varchar(40)', (c) => c.primaryKey())
        .addColumn('value', 'bigint', (c) => c.notNull())
        .execute();
      await db.insertInto('sequences').values([{ name: 'esim', value: 0 }, { name: 'order', value: 0 }]).execute();

      await db.schema
        .createTable('orders')
        .addColumn('id', 'varchar(40)', (c) => c.primaryKey())
        .addColumn('order_no', 'varchar(40)', (c) => c.notNull().unique())
        .addColumn('partner_id', 'varchar(40)', (c) => c.notNull().references('partners.id'))
        .addColumn('kind', 'varchar(10)', (c) => c.notNull())
        .addColumn('transaction_id', 'varchar(100)', (c) => c.notNull())
        .addColumn('status', 'varchar(20)', (c) => c.notNull())
        .addColumn('environment', 'varchar(10)', (c) => c.notNull())
        .addColumn('total_count', 'integer', (c) => c.notNull())
        .addColumn('allocated_count', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('amount', 'bigint', (c) => c.notNull())
        .addColumn('currency', 'varchar(3)', (c) => c.notNull())
        .addColumn('target_esim_id', 'varchar(40)')
        .addColumn('failure_reason', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('completed_at', 'bigint')
        .addUniqueConstraint('orders_partner_txn', ['partner_id', 'kind', 'transaction_id'])
        .execute();
      await db.schema.createIndex('orders_partner_created').on('orders').columns(['partner_id', 'created_at']).execute();

      await db.schema
        .createTable('order_items')
        .addColumn('id', 'varchar(40)', (c) => c.primaryKey())
        .addColumn('order_id', 'varchar(40)', (c) => c.notNull().references('orders.id'))
        .addColumn('line_no', 'integer', (c) => c.notNull())
        .addColumn('package_code', 'varchar(60)', (c) => c.notNull())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addColumn('period_num', 'integer')
        .addColumn('unit_price', 'bigint', (c) => c.notNull())
        .addColumn('line_amount', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('order_items_order').on('order_items').column('order_id').execute();

      await db.schema
        .createTable('esims')
        .addColumn('id', 'varchar(40)', (c) => c.primaryKey())
        .addColumn('esim_tran_no', 'varchar(30)', (c) => c.notNull().unique())
        .addColumn('order_id', 'varchar(40)', (c) => c.notNull().references('orders.id'))
        .addColumn('order_item_id', 'varchar(40)', (c) => c.notNull())
        .addColumn('slot', 'integer', (c) => c.notNull())
        .addColumn('partner_id', 'varchar(40)', (c) => c.notNull())
        .addColumn('environment', 'varchar(10)', (c) => c.notNull())
        .addColumn('transaction_id', 'varchar(100)', (c) => c.notNull())
        .addColumn('package_code', 'varchar(60)', (c) => c.notNull())
        .addColumn('iccid', 'varchar(22)', (c) => c.notNull())
        .addColumn('imsi', 'varchar(15)')
        .addColumn('msisdn', 'varchar(15)')
        .addColumn('ac', 'varchar(255)', (c) => c.notNull())
        .addColumn('smdp_address', 'varchar(200)', (c) => c.notNull())
        .addColumn('matching_id', 'varchar(100)', (c) => c.notNull())
        .addColumn('confirmation_code', 'varchar(20)')
        .addColumn('pin', 'varchar(8)')
        .addColumn('puk', 'varchar(8)')
        .addColumn('apn', 'varchar(100)')
        .addColumn('eid', 'varchar(32)')
        .addColumn('supply', 'varchar(40)', (c) => c.notNull())
        .addColumn('pool_profile_id', 'varchar(40)')
        .addColumn('smdp_status', 'varchar(20)', (c) => c.notNull())
        .addColumn('esim_status', 'varchar(20)', (c) => c.notNull())
        .addColumn('status_before_suspend', 'varchar(20)')
        .addColumn('sms_status', 'integer', (c) => c.notNull())
        .addColumn('data_type', 'integer', (c) => c.notNull())
        .addColumn('active_type', 'integer', (c) => c.notNull())
        .addColumn('price', 'bigint', (c) => c.notNull())
        .addColumn('qr_token', 'varchar(40)', (c) => c.notNull().unique())
        .addColumn('short_code', 'varchar(20)', (c) => c.notNull().unique())
        .addColumn('download_deadline', 'bigint', (c) => c.notNull())
        .addColumn('activate_time', 'bigint')
        .addColumn('expired_time', 'bigint')
        .addColumn('total_volume', 'bigint', (c) => c.notNull())
        .addColumn('total_duration', 'integer', (c) => c.notNull())
        .addColumn('duration_unit', 'varchar(10)', (c) => c.notNull())
        .addColumn('order_usage', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('last_usage_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('esims_order_slot', ['order_item_id', 'slot'])
        .execute();
      await db.schema.createIndex('esims_order').on('esims').columns(['order_id', 'esim_tran_no']).execute();
      await db.schema.createIndex('esims_iccid').on('esims').columns(['iccid', 'created_at']).execute();
      await db.schema.createIndex('esims_partner_created').on('esims').columns(['partner_id', 'created_at']).execute();

      await db.schema
        .createTable('bundles')
        .addColumn('id', 'varchar(40)', (c) => c.primaryKey())
        .addColumn('esim_id', 'varchar(40)', (c) => c.notNull().references('esims.id'))
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('order_id', 'varchar(40)', (c) => c.notNull())
        .addColumn('package_code', 'varchar(60)', (c) => c.notNull())
        .addColumn('kind', 'varchar(10)', (c) => c.notNull())
        .addColumn('state', 'varchar(20)', (c) => c.notNull())
        .addColumn('volume', 'bigint', (c) => c.notNull())
        .addColumn('used_bytes', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('duration', 'integer', (c) => c.notNull())
        .addColumn('duration_unit', 'varchar(10)', (c) => c.notNull())
        .addColumn('data_type', 'integer', (c) => c.notNull())
        .addColumn('period_num', 'integer')
        .addColumn('price', 'bigint', (c) => c.notNull())
        .addColumn('activated_at', 'bigint')
        .addColumn('expires_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('bundles_esim_seq', ['esim_id', 'seq'])
        .execute();

      await db.schema
        .createTable('profile_batches')
        .addColumn('id', 'varchar(40)', (c) => c.primaryKey())
        .addColumn('name', 'varchar(200)', (c) => c.notNull())
        .addColumn('pool', 'varchar(60)', (c) => c.notNull())
        .addColumn('profile_count', 'integer', (c) => c.notNull())
        .addColumn('low_stock_threshold', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('pool_profiles')
        .addColumn('id', 'varchar(40)', (c) => c.primaryKey())
        .addColumn('batch_id', 'varchar(40)', (c) => c.notNull().references('profile_batches.id'))
        .addColumn('pool', 'varchar(60)', (c) => c.notNull())
        .addColumn('iccid', 'varchar(22)', (c) => c.notNull().unique())
        .addColumn('smdp_address', 'varchar(200)', (c) => c.notNull())
        .addColumn('matching_id', 'varchar(100)', (c) => c.notNull())
        .addColumn('confirmation_code', 'varchar(20)')
        .addColumn('imsi', 'varchar(15)')
        .addColumn('msisdn', 'varchar(15)')
        .addColumn('pin', 'varchar(8)')
        .addColumn('puk', 'varchar(8)')
        .addColumn('apn', 'varchar(100)')
        .addColumn('luhn_ok', 'integer', (c) => c.notNull())
        .addColumn('status', 'varchar(20)', (c) => c.notNull())
        .addColumn('assigned_esim_id', 'varchar(40)')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('assigned_at', 'bigint')
        .execute();
      await db.schema.createIndex('pool_profiles_available').on('pool_profiles').columns(['pool', 'status', 'id']).execute();

      await db.schema
        .createTable('jobs')
        .addColumn('id', serial, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('kind', 'varchar(40)', (c) => c.notNull())
        .addColumn('job_key', 'varchar(200)', (c) => c.unique())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('status', 'varchar(20)', (c) => c.notNull())
        .addColumn('run_at', 'bigint', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('max_attempts', 'integer', (c) => c.notNull())
        .addColumn('locked_by', 'varchar(100)')
        .addColumn('locked_until', 'bigint')
        .addColumn('last_error', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('jobs_ready').on('jobs').columns(['status', 'run_at']).execute();

      await db.schema
        .createTable('events')
        .addColumn('seq', serial, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('id', 'varchar(40)', (c) => c.notNull().unique())
        .addColumn('partner_id', 'varchar(40)', (c) => c.notNull())
        .addColumn('type', 'varchar(40)', (c) => c.notNull())
        .addColumn('subject', 'varchar(60)')
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('occurred_at', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('events_partner').on('events').columns(['partner_id', 'seq']).execute();
    },
  };
}
