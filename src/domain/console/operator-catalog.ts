import { sql, type Kysely } from 'kysely';
import type { DB, PackageTable, PriceTierTable } from '../../store/schema.ts';
import { DomainError } from '../errors.ts';
import { likePattern } from './operator-partners.ts';

/** Tier factors the console accepts: from 10 % of list price to 3× list price. */
export const MIN_FACTOR_BPS = 1_000;
export const MAX_FACTOR_BPS = 30_000;
/** The highest list price the console accepts (100,000.00 units), against typos with extra zeros. */
export const MAX_LIST_PRICE_MINOR = 100_000 * 10_000;
/** The highest monthly-spend threshold of a tier (1,000,000,000.00 units). */
const MAX_THRESHOLD_MINOR = 1_000_000_000 * 10_000;

export interface PackageSearch {
  q?: string;
  /** A country or region code: packages of that location, and multi-country packages that cover a country. */
  location?: string;
  type?: 'BASE' | 'TOPUP';
  status?: PackageTable['status'];
  limit: number;
  offset: number;
}

/**
 * Searches the whole catalogue in the database (retired packages too, which the in-memory catalogue of
 * ordering does not list), in catalogue order.
 */
export async function searchPackages(db: Kysely<DB>, search: PackageSearch): Promise<{ rows: PackageTable[]; total: number }> {
  let base = db.selectFrom('packages');
  const q = search.q?.trim();
  if (q) {
    const pattern = likePattern(q);
    base = base.where((eb) =>
      eb.or([
        sql<boolean>`lower(package_code) like ${pattern} escape '\\'`,
        sql<boolean>`lower(slug) like ${pattern} escape '\\'`,
        sql<boolean>`lower(name) like ${pattern} escape '\\'`,
      ]),
    );
  }
  const location = search.location?.trim().toUpperCase();
  if (location) {
    // packages.location is the comma-separated list of covered countries.
    base = base.where((eb) => eb.or([eb('location_code', '=', location), sql<boolean>`(',' || location || ',') like ${`%,${location},%`}`]));
  }
  if (search.type) base = base.where('type', '=', search.type);
  if (search.status) base = base.where('status', '=', search.status);
  const rows = await base.selectAll().orderBy('sort_order').orderBy('package_code').limit(search.limit).offset(search.offset).execute();
  const count = await base.select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow();
  return { rows, total: Number(count.n) };
}

export async function listTiers(db: Kysely<DB>): Promise<PriceTierTable[]> {
  const rows = await db.selectFrom('price_tiers').selectAll().orderBy('min_monthly_volume').orderBy('id').execute();
  return rows.map((t) => ({ ...t, price_factor_bps: Number(t.price_factor_bps), min_monthly_volume: Number(t.min_monthly_volume) }));
}

export async function getPackage(db: Kysely<DB>, code: string): Promise<PackageTable> {
  const pkg = await db.selectFrom('packages').selectAll().where('package_code', '=', code).executeTakeFirst();
  if (!pkg) throw new DomainError('package_not_found', `package ${code} does not exist`);
  return pkg;
}

/**
 * Changes a package's status and/or list price. Callers must reload the in-memory catalogue afterwards so
 * ordering and package lists see it.
 */
export async function updatePackage(db: Kysely<DB>, code: string, changes: { status?: PackageTable['status']; priceMinor?: number }, nowMs: number): Promise<PackageTable> {
  if (changes.priceMinor !== undefined && (!Number.isSafeInteger(changes.priceMinor) || changes.priceMinor <= 0 || changes.priceMinor > MAX_LIST_PRICE_MINOR)) {
    throw new DomainError('invalid_argument', `the list price must be a positive amount of at most ${MAX_LIST_PRICE_MINOR / 10_000} units`, { field: 'price' });
  }
  await getPackage(db, code);
  const set: Partial<PackageTable> = { updated_at: nowMs };
  if (changes.status !== undefined) set.status = changes.status;
  if (changes.priceMinor !== undefined) set.price = changes.priceMinor;
  await db.updateTable('packages').set(set).where('package_code', '=', code).execute();
  return getPackage(db, code);
}

/** Changes a tier's factor (the markup or discount on list price), name or monthly-spend threshold. */
export async function updateTier(db: Kysely<DB>, id: string, changes: { priceFactorBps?: number; name?: string; minMonthlyVolumeMinor?: number }): Promise<PriceTierTable> {
  const { priceFactorBps, minMonthlyVolumeMinor } = changes;
  if (priceFactorBps !== undefined && (!Number.isInteger(priceFactorBps) || priceFactorBps < MIN_FACTOR_BPS || priceFactorBps > MAX_FACTOR_BPS)) {
    throw new DomainError('invalid_argument', `the price factor must be a whole number of basis points from ${MIN_FACTOR_BPS} to ${MAX_FACTOR_BPS} (10 % to 300 % of list price)`, { field: 'price_factor_bps' });
  }
  if (minMonthlyVolumeMinor !== undefined && (!Number.isSafeInteger(minMonthlyVolumeMinor) || minMonthlyVolumeMinor < 0 || minMonthlyVolumeMinor > MAX_THRESHOLD_MINOR)) {
    throw new DomainError('invalid_argument', 'the monthly spend threshold must be a non-negative amount', { field: 'min_monthly_volume' });
  }
  const name = changes.name?.trim();
  if (changes.name !== undefined && (!name || name.length > 100)) throw new DomainError('invalid_argument', 'the tier name must be 1..100 characters', { field: 'name' });
  const set: Partial<PriceTierTable> = {};
  if (priceFactorBps !== undefined) set.price_factor_bps = priceFactorBps;
  if (minMonthlyVolumeMinor !== undefined) set.min_monthly_volume = minMonthlyVolumeMinor;
  if (name) set.name = name;
  const exists = await db.selectFrom('price_tiers').select('id').where('id', '=', id).executeTakeFirst();
  if (!exists) throw new DomainError('not_found', `price tier ${id} does not exist`);
  if (Object.keys(set).length) await db.updateTable('price_tiers').set(set).where('id', '=', id).execute();
  const tier = await db.selectFrom('price_tiers').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  return { ...tier, price_factor_bps: Number(tier.price_factor_bps), min_monthly_volume: Number(tier.min_monthly_volume) };
}
