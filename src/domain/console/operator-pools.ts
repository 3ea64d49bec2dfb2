import type { Kysely } from 'kysely';
import type { DB } from '../../store/schema.ts';
import { poolStock, type PoolStock } from '../pools/stock.ts';

/**
 * Pool stock as the operator console shows it. An assigned profile is `reserved` while its eSIM has not
 * been downloaded (it could still be cancelled and refunded) and `used` once it has.
 */
export interface PoolView extends PoolStock {
  reserved: number;
  used: number;
  /** What the pool key names: a package (its name) or a location (`loc:<code>`, the location's name). */
  label: string;
  batches: Array<{ id: string; name: string; profile_count: number; low_stock_threshold: number; created_at: number }>;
}

export async function poolsView(db: Kysely<DB>): Promise<PoolView[]> {
  const stock = await poolStock(db);
  const reserved = await db
    .selectFrom('pool_profiles')
    .innerJoin('esims', 'esims.id', 'pool_profiles.assigned_esim_id')
    .select(['pool_profiles.pool', (eb) => eb.fn.countAll<number | string>().as('n')])
    .where('pool_profiles.status', '=', 'assigned')
    .where('esims.smdp_status', '=', 'RELEASED')
    .groupBy('pool_profiles.pool')
    .execute();
  const reservedBy = new Map(reserved.map((r) => [r.pool, Number(r.n)]));
  const batches = await db.selectFrom('profile_batches').selectAll().orderBy('created_at', 'desc').execute();
  const packageCodes = stock.filter((s) => !s.pool.startsWith('loc:')).map((s) => s.pool);
  const locationCodes = stock.filter((s) => s.pool.startsWith('loc:')).map((s) => s.pool.slice(4));
  const packages = packageCodes.length ? await db.selectFrom('packages').select(['package_code', 'name']).where('package_code', 'in', packageCodes).execute() : [];
  const locations = locationCodes.length ? await db.selectFrom('locations').select(['code', 'name']).where('code', 'in', locationCodes).execute() : [];
  const names = new Map<string, string>([...packages.map((p) => [p.package_code, p.name] as const), ...locations.map((l) => [`loc:${l.code}`, l.name] as const)]);
  return stock.map((s) => {
    const r = Math.min(reservedBy.get(s.pool) ?? 0, s.assigned);
    return {
      ...s,
      reserved: r,
      used: s.assigned - r,
      label: names.get(s.pool) ?? s.pool,
      batches: batches
        .filter((b) => b.pool === s.pool)
        .map((b) => ({ id: b.id, name: b.name, profile_count: Number(b.profile_count), low_stock_threshold: Number(b.low_stock_threshold), created_at: Number(b.created_at) })),
    };
  });
}
