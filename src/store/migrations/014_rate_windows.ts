import { sql, type Kysely } from 'kysely';
import type { StoreDialect } from '../connect.ts';

/**
 * Fixed one-second windows per key (the eSIM Go dialect's documented limit, with its remaining/reset
 * headers), shared by every API process on PostgreSQL. One row per key, reset when a new window starts.
 */
export function rateWindows(dialect: StoreDialect) {
  return {
    async up(db: Kysely<any>): Promise<void> {
      // Unlogged on PostgreSQL, like rate_limits: losing it in a crash only gives every key a fresh window.
      let table = db.schema.createTable('rate_windows');
      if (dialect === 'postgres') table = table.modifyFront(sql`unlogged`);
      await table
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('window_start', 'bigint', (c) => c.notNull())
        .addColumn('used', 'integer', (c) => c.notNull())
        .execute();
    },
  };
}
