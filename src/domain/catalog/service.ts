import type { Kysely } from 'kysely';
import type { DB, PackageTable, Partner } from '../../store/schema.ts';
import { CatalogCache, type CatalogLocation, type PackageFilter } from './query.ts';

/** Partner price factor when a tier id is unknown: list price. */
const DEFAULT_FACTOR_BPS = 10_000;

/**
 * What the HTTP dialects need from the catalogue: synchronous package and location lookups from memory
 * (loaded at start-up), a version that changes when the catalogue does, and partner tier factors.
 */
export class CatalogService {
  readonly cache: CatalogCache;
  private readonly tierFactors = new Map<string, number>();

  constructor(private readonly db: Kysely<DB>) {
    this.cache = new CatalogCache(db);
  }

  /** Must complete before list()/locations() are used. */
  async load(): Promise<void> {
    await this.cache.load();
  }

  /** Changes whenever the catalogue is invalidated or reloaded; renderers key their caches on it. */
  get version(): number {
    return this.cache.version;
  }

  list(filter: PackageFilter): PackageTable[] {
    return this.cache.listLoaded(filter);
  }

  /** An active package by package code or slug (clients may send either as packageCode). */
  get(codeOrSlug: string): PackageTable | undefined {
    return this.cache.getLoaded(codeOrSlug);
  }

  /** Every package including retired ones: an existing eSIM still needs its package's details. */
  all(): PackageTable[] {
    return this.cache.allLoaded();
  }

  locations(): CatalogLocation[] {
    return this.cache.locationsLoaded();
  }

  /** After an import: reads the catalogue again; list() serves the new packages once this resolves. */
  async reload(): Promise<void> {
    this.cache.invalidate();
    this.tierFactors.clear();
    await this.cache.load();
  }

  async tierFactorBps(priceTierId: string): Promise<number> {
    let factor = this.tierFactors.get(priceTierId);
    if (factor === undefined) {
      const tier = await this.db.selectFrom('price_tiers').select('price_factor_bps').where('id', '=', priceTierId).executeTakeFirst();
      factor = tier ? Number(tier.price_factor_bps) : DEFAULT_FACTOR_BPS;
      this.tierFactors.set(priceTierId, factor);
    }
    return factor;
  }

  /**
   * The base package of a partner's eSIM, for top-up lookups by ICCID. Profiles are not part of the
   * catalogue; the orders module installs a resolver here when it is wired up.
   */
  basePackageOfIccid?: (partnerId: string, iccid: string) => Promise<string | null>;

  /**
   * What a partner pays per package right now (monthly tier, currency): installed by bootstrap from
   * domain/pricing. Without it, prices are the list price × the assigned tier factor.
   */
  priceFor?: (partner: Partner, nowMs: number) => Promise<(pkg: PackageTable) => number>;
}
