import type { Kysely } from 'kysely';
import type { StoreDialect } from '../connect.ts';

/**
 * The dispatcher takes due deliveries in (next_attempt_at, event_seq) order, one status at a time: with
 * event_seq in the index that walk stops after the first rows it needs instead of sorting the whole backlog.
 */
export function webhookDueOrder(dialect: StoreDialect) {
  void dialect;
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.dropIndex('webhook_deliveries_due').execute();
      await db.schema.createIndex('webhook_deliveries_due').on('webhook_deliveries').columns(['status', 'next_attempt_at', 'event_seq']).execute();
    },
  };
}
