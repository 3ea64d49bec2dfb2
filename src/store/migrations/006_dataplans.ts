import type { Kysely } from 'kysely';
import type { StoreDialect } from '../connect.ts';

/** Reserved for its issue's tables; empty until then (an applied empty migration is harmless). */
export function dataplans(dialect: StoreDialect) {
  void dialect;
  return {
    async up(db: Kysely<any>): Promise<void> {
      void db;
    },
  };
}
