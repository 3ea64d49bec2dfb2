import type { Kysely } from 'kysely';
import type { StoreDialect } from '../connect.ts';

/**
 * Indexes the console's reads need at scale: an eSIM's events (its timeline) without scanning every event of
 * its partner, and a partner's eSIMs by status (active counts, status filters); and deposit idempotency keys.
 */
export function consoleIndexes(dialect: StoreDialect) {
  void dialect;
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.createIndex('events_partner_subject').on('events').columns(['partner_id', 'subject', 'seq']).execute();
      await db.schema.createIndex('esims_partner_status').on('esims').columns(['partner_id', 'esim_status']).execute();
      // A deposit sent twice (a retried click) with one Idempotency-Key is one deposit.
      await db.schema.alterTable('deposit_requests').addColumn('idempotency_key', 'text').execute();
      await db.schema.createIndex('deposit_requests_idempotency').on('deposit_requests').columns(['partner_id', 'idempotency_key']).unique().execute();
    },
  };
}
