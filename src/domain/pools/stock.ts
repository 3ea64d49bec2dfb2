import type { Kysely, Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { DB } from '../../store/schema.ts';
import { newId } from '../../lib/ids.ts';

/** Stock of one pool (a package code or `loc:<code>`). */
export interface PoolStock {
  pool: string;
  available: number;
  assigned: number;
  total: number;
  /** The highest threshold of the pool's batches. */
  low_stock_threshold: number;
  /** available <= low_stock_threshold (so an empty pool is always low). */
  low: boolean;
}

export interface LowStockCheck {
  pool: string;
  available: number;
  /** null when the pool has no batches (nothing to watch). */
  threshold: number | null;
  low: boolean;
  /** True when this call recorded a new pool.low_stock alert. */
  alerted: boolean;
}

/** Partner id of events meant for the platform operator: never delivered to a partner webhook. */
export const OPERATOR_PARTNER_ID = 'operator';
export const LOW_STOCK_EVENT = 'pool.low_stock';

type Conn = Kysely<DB> | Transaction<DB>;

/** `meta` key holding the alert state of a pool while it is low (absent when it is not). */
export function lowStockMetaKey(pool: string): string {
  return `pool_low:${pool}`;
}

/** Every pool that has a batch or a profile, sorted by key. */
export async function poolStock(db: Conn): Promise<PoolStock[]> {
  const counts = await db
    .selectFrom('pool_profiles')
    .select(['pool', 'status', (eb) => eb.fn.countAll<number | string>().as('n')])
    .groupBy(['pool', 'status'])
    .execute();
  const thresholds = await db
    .selectFrom('profile_batches')
    .select(['pool', (eb) => eb.fn.max('low_stock_threshold').as('threshold')])
    .groupBy('pool')
    .execute();
  const byPool = new Map<string, PoolStock>();
  const entry = (pool: string): PoolStock => {
    let stock = byPool.get(pool);
    if (!stock) {
      stock = { pool, available: 0, assigned: 0, total: 0, low_stock_threshold: 0, low: false };
      byPool.set(pool, stock);
    }
    return stock;
  };
  for (const row of counts) {
    const stock = entry(row.pool);
    const n = Number(row.n);
    if (row.status === 'available') stock.available += n;
    else stock.assigned += n;
    stock.total += n;
  }
  for (const row of thresholds) entry(row.pool).low_stock_threshold = Number(row.threshold ?? 0);
  const out = [...byPool.values()].sort((a, b) => (a.pool < b.pool ? -1 : a.pool > b.pool ? 1 : 0));
  for (const stock of out) stock.low = stock.available <= stock.low_stock_threshold;
  return out;
}

async function poolLevel(db: Conn, pool: string): Promise<{ available: number; threshold: number | null }> {
  const count = await db
    .selectFrom('pool_profiles')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('pool', '=', pool)
    .where('status', '=', 'available')
    .executeTakeFirstOrThrow();
  const batches = await db
    .selectFrom('profile_batches')
    .select((eb) => [eb.fn.max('low_stock_threshold').as('threshold'), eb.fn.countAll<number | string>().as('n')])
    .where('pool', '=', pool)
    .executeTakeFirstOrThrow();
  return { available: Number(count.n), threshold: Number(batches.n) > 0 ? Number(batches.threshold ?? 0) : null };
}

/**
 * Call after profiles were taken from (or returned to) a pool, once the allocation transaction has
 * committed: on PostgreSQL a count inside that transaction cannot see concurrent claims that are not yet
 * committed, so concurrent allocations could all miss the crossing. (On SQLite, inside works too.) When the
 * pool is at or below its threshold and was not already flagged, records one operator alert: an event
 * (partner_id `operator`, type `pool.low_stock`, subject the pool key) and the state in `meta`. When the
 * pool is above its threshold the state is cleared, so the next crossing alerts again. Under concurrent
 * callers the `meta` primary key lets exactly one of them record the alert.
 */
export async function checkLowStock(db: Conn, pool: string, nowMs: number, log?: Pick<Logger, 'warn'>): Promise<LowStockCheck> {
  const { available, threshold } = await poolLevel(db, pool);
  if (threshold === null) return { pool, available, threshold, low: false, alerted: false };
  const low = available <= threshold;
  if (!low) {
    await clearWhenAbove(db, pool, threshold);
    return { pool, available, threshold, low, alerted: false };
  }
  const claimed = await db
    .insertInto('meta')
    .values({ key: lowStockMetaKey(pool), value: JSON.stringify({ since: nowMs, available, threshold }) })
    .onConflict((oc) => oc.column('key').doNothing())
    .returning('key')
    .executeTakeFirst();
  if (!claimed) return { pool, available, threshold, low, alerted: false };
  // Not emitEvent: this is an operator alert, outside the partner-facing event types.
  await db
    .insertInto('events')
    .values({
      id: newId('evt', nowMs),
      partner_id: OPERATOR_PARTNER_ID,
      type: LOW_STOCK_EVENT,
      subject: pool,
      payload: JSON.stringify({ pool, available, threshold }),
      occurred_at: nowMs,
      created_at: nowMs,
    })
    .execute();
  log?.warn({ pool, available, threshold }, 'profile pool is low on stock');
  return { pool, available, threshold, low, alerted: true };
}

/**
 * Clears the alert state, recounting in the same statement: a count read a moment earlier may predate a
 * concurrent claim whose checker has just recorded the alert, and deleting that would alert twice.
 */
async function clearWhenAbove(db: Conn, pool: string, threshold: number): Promise<void> {
  await db
    .deleteFrom('meta')
    .where('key', '=', lowStockMetaKey(pool))
    .where((eb) =>
      eb(
        eb.selectFrom('pool_profiles').select((sub) => sub.fn.countAll().as('n')).where('pool', '=', pool).where('status', '=', 'available'),
        '>',
        threshold,
      ),
    )
    .execute();
}

/** After new stock arrives: clears the alert state when the pool is above its threshold again. */
export async function resetLowStockIfRecovered(db: Conn, pool: string): Promise<void> {
  const { threshold } = await poolLevel(db, pool);
  if (threshold === null) await db.deleteFrom('meta').where('key', '=', lowStockMetaKey(pool)).execute();
  else await clearWhenAbove(db, pool, threshold);
}
