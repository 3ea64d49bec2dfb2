import { sql, type Kysely } from 'kysely';
import type { StoreDialect } from '../connect.ts';

/**
 * Operations: rate-limit state shared by every API process (GCRA: one row per key holding its theoretical
 * arrival time, in fractional milliseconds). Used on PostgreSQL when no REDIS_URL is set; the embedded
 * store has one API process and limits in memory, but the table exists there too (one migration list).
 */
export function operations(dialect: StoreDialect) {
  return {
    async up(db: Kysely<any>): Promise<void> {
      // PostgreSQL: unlogged (no WAL, so a limit check never waits for a disk flush); after a crash the
      // table is empty, which only means every key starts with a full burst.
      let rateLimits = db.schema.createTable('rate_limits');
      if (dialect === 'postgres') rateLimits = rateLimits.modifyFront(sql`unlogged`);
      await rateLimits
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('tat', dialect === 'postgres' ? 'double precision' : 'real', (c) => c.notNull())
        .execute();
      // Recent-window figures for /metrics (allocation latency, webhook lag).
      await db.schema.createIndex('orders_completed').on('orders').column('completed_at').execute();
      await db.schema.createIndex('webhook_deliveries_delivered').on('webhook_deliveries').column('delivered_at').execute();
    },
  };
}
