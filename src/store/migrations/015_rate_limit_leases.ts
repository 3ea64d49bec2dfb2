import type { Kysely } from 'kysely';
import type { StoreDialect } from '../connect.ts';

/**
 * Rate-limit leases: a limit check may take several tokens from a key's shared bucket at once (a process
 * then spends them without asking again); the row says how many the last check was granted, so the check
 * stays one statement that returns it.
 */
export function rateLimitLeases(_dialect: StoreDialect) {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('rate_limits').addColumn('granted', 'integer', (c) => c.notNull().defaultTo(1)).execute();
    },
  };
}
