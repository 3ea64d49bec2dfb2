import type { Insertable, Kysely } from 'kysely';
import type { DB } from '../../store/schema.ts';
import type { Store } from '../../store/connect.ts';
import { generateSandboxCatalog } from './generate.ts';

/**
 * Rows per INSERT. 200 packages × 32 columns = 6,400 bind parameters: well inside SQLite's 32,766 and
 * Postgres' 65,535 limits, while keeping the number of round trips small.
 */
export const INSERT_BATCH = 200;

export interface SeedCounts {
  /** False when the catalogue already had packages and nothing was written. */
  seeded: boolean;
  locations: number;
  members: number;
  operators: number;
  packages: number;
}

/**
 * Inserts rows in batches; rows that already exist (by any unique key) are left alone. Reference rows
 * (locations, operators) may already be there, from an import or from another instance starting at the
 * same time: existing rows win and nothing fails.
 */
export async function insertInBatches<T extends keyof DB & string>(db: Kysely<DB>, table: T, rows: readonly Insertable<DB[T]>[]): Promise<void> {
  for (let i = 0; i < rows.length; i += INSERT_BATCH) {
    // Kysely cannot relate a generic table name to its row type; the signature above keeps callers typed.
    const batch = rows.slice(i, i + INSERT_BATCH) as any[];
    await db.insertInto(table).values(batch).onConflict((oc) => oc.doNothing()).execute();
  }
}

async function countPackages(db: Kysely<DB>): Promise<number> {
  const row = await db.selectFrom('packages').select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow();
  // Postgres returns count(*) as a bigint string.
  return Number(row.n);
}

/**
 * Seeds the simulated catalogue when the packages table is empty, all in one transaction: a reader never
 * sees half a catalogue, and a failure leaves the database as it was.
 */
export async function ensureSandboxCatalog(store: Store, nowMs: number): Promise<SeedCounts> {
  const none: SeedCounts = { seeded: false, locations: 0, members: 0, operators: 0, packages: 0 };
  if ((await countPackages(store.db)) > 0) return none;
  const catalog = generateSandboxCatalog(nowMs);
  return store.db.transaction().execute(async (trx) => {
    // Re-check inside the transaction: another instance may have seeded since the first look.
    if ((await countPackages(trx)) > 0) return none;
    await insertInBatches(trx, 'locations', catalog.locations);
    await insertInBatches(trx, 'location_members', catalog.members);
    await insertInBatches(trx, 'operators', catalog.operators);
    await insertInBatches(trx, 'packages', catalog.packages);
    return {
      seeded: true,
      locations: catalog.locations.length,
      members: catalog.members.length,
      operators: catalog.operators.length,
      packages: catalog.packages.length,
    };
  });
}
