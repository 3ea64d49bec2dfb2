import type { Kysely } from 'kysely';
import type { StoreDialect } from '../connect.ts';

/**
 * Webhook deliveries (one per event and partner endpoint, created in the event's transaction) and every
 * attempt made to deliver them.
 */
export function webhooks(dialect: StoreDialect) {
  void dialect;
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('webhook_deliveries')
        .addColumn('id', 'varchar(40)', (c) => c.primaryKey())
        .addColumn('event_id', 'varchar(40)', (c) => c.notNull())
        .addColumn('event_seq', 'bigint', (c) => c.notNull())
        .addColumn('partner_id', 'varchar(40)', (c) => c.notNull())
        .addColumn('subject', 'varchar(60)')
        .addColumn('url', 'varchar(500)', (c) => c.notNull())
        .addColumn('status', 'varchar(20)', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
        .addColumn('locked_by', 'varchar(100)')
        .addColumn('locked_until', 'bigint')
        .addColumn('last_status_code', 'integer')
        .addColumn('last_error', 'text')
        .addColumn('delivered_at', 'bigint')
        // The current retry cycle: starts at creation, restarts on a manual resend.
        .addColumn('cycle_started_at', 'bigint', (c) => c.notNull())
        .addColumn('cycle_attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('webhook_deliveries_event', ['event_id', 'partner_id'])
        .execute();
      // Claiming due ones.
      await db.schema.createIndex('webhook_deliveries_due').on('webhook_deliveries').columns(['status', 'next_attempt_at']).execute();
      await db.schema.createIndex('webhook_deliveries_leases').on('webhook_deliveries').columns(['status', 'locked_until']).execute();
      // Order per subject: "is there an earlier undelivered one?".
      await db.schema.createIndex('webhook_deliveries_subject').on('webhook_deliveries').columns(['partner_id', 'subject', 'event_seq']).execute();
      // Listing a partner's deliveries, newest first.
      await db.schema.createIndex('webhook_deliveries_partner').on('webhook_deliveries').columns(['partner_id', 'created_at']).execute();

      await db.schema
        .createTable('webhook_attempts')
        .addColumn('id', 'varchar(40)', (c) => c.primaryKey())
        .addColumn('delivery_id', 'varchar(40)', (c) => c.notNull().references('webhook_deliveries.id'))
        .addColumn('attempt_no', 'integer', (c) => c.notNull())
        .addColumn('url', 'varchar(500)', (c) => c.notNull())
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('latency_ms', 'integer', (c) => c.notNull())
        .addColumn('status_code', 'integer')
        .addColumn('error', 'text')
        .addColumn('response_excerpt', 'text')
        .execute();
      await db.schema.createIndex('webhook_attempts_delivery').on('webhook_attempts').columns(['delivery_id', 'attempt_no']).execute();
    },
  };
}
