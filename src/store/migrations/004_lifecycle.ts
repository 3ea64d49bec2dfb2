import type { Kysely } from 'kysely';
import type { StoreDialect } from '../connect.ts';

/** Usage records, SMS, and the state the lifecycle keeps per eSIM and bundle (alerts sent, daily windows). */
export function lifecycle(dialect: StoreDialect) {
  void dialect;
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('esims').addColumn('usage_alert_level', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.alterTable('esims').addColumn('validity_alert_sent', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.alterTable('esims').addColumn('throttled', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.alterTable('bundles').addColumn('day_used_bytes', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.alterTable('bundles').addColumn('day_index', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.alterTable('partners').addColumn('traffic_mode', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.createIndex('esims_download_deadline').on('esims').columns(['esim_status', 'download_deadline']).execute();
      await db.schema.createIndex('esims_expired_time').on('esims').columns(['esim_status', 'expired_time']).execute();

      await db.schema
        .createTable('usage_records')
        .addColumn('record_key', 'varchar(200)', (c) => c.primaryKey())
        .addColumn('esim_id', 'varchar(40)', (c) => c.notNull())
        .addColumn('bytes', 'bigint', (c) => c.notNull())
        .addColumn('period_start', 'bigint')
        .addColumn('period_end', 'bigint')
        .addColumn('source', 'varchar(40)', (c) => c.notNull())
        .addColumn('received_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('usage_records_esim').on('usage_records').columns(['esim_id', 'received_at']).execute();

      await db.schema
        .createTable('sms_messages')
        .addColumn('id', 'varchar(40)', (c) => c.primaryKey())
        .addColumn('esim_id', 'varchar(40)', (c) => c.notNull())
        .addColumn('partner_id', 'varchar(40)', (c) => c.notNull())
        .addColumn('direction', 'varchar(10)', (c) => c.notNull())
        .addColumn('sender', 'varchar(40)')
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('sms_messages_esim').on('sms_messages').columns(['esim_id', 'created_at']).execute();
    },
  };
}
