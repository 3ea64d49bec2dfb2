import type { Kysely } from 'kysely';
import type { DB, LocationTable, PackageTable } from '../../store/schema.ts';
import { GLOBAL_GROUP } from './locations.ts';

/**
 * The eSIM Access package/list filter. Empty strings and null mean "no filter" (clients send both).
 * - locationCode: a country (single-country packages), a region code (`EU-42`), `!RG` (every multi-country
 *   package except global ones) or `!GL` (global packages).
 * - type: BASE (default) or TOPUP.
 * - packageCode / slug / iccidPackageCode name a package (packageCode may carry a slug, as clients do).
 *   With TOPUP they ask for the top-ups that fit that package (same topup_group); with BASE for that package.
 *   iccidPackageCode is the base package of an eSIM, resolved by the caller from the ICCID.
 */
export interface PackageFilter {
  locationCode?: string | null;
  type?: string | null;
  packageCode?: string | null;
  slug?: string | null;
  iccidPackageCode?: string | null;
}

export const REGIONAL = '!RG';
export const GLOBAL = '!GL';

interface NormalFilter {
  location?: string;
  type: 'BASE' | 'TOPUP';
  /** The package named by the request, and how to look it up. */
  ref?: { value: string; bySlugOnly: boolean };
}

function clean(value: string | null | undefined): string | undefined {
  const v = value?.trim();
  return v ? v : undefined;
}

function normalize(filter: PackageFilter): NormalFilter {
  const type = clean(filter.type)?.toUpperCase() === 'TOPUP' ? 'TOPUP' : 'BASE';
  const location = clean(filter.locationCode)?.toUpperCase();
  // The eSIM's own package is the most specific answer to "which top-ups fit", so it wins.
  const iccid = clean(filter.iccidPackageCode);
  const code = clean(filter.packageCode);
  const slug = clean(filter.slug);
  const ref = iccid ? { value: iccid, bySlugOnly: false } : code ? { value: code, bySlugOnly: false } : slug ? { value: slug, bySlugOnly: true } : undefined;
  return { location, type, ref };
}

function byOrder(a: PackageTable, b: PackageTable): number {
  return a.sort_order - b.sort_order || (a.package_code < b.package_code ? -1 : a.package_code > b.package_code ? 1 : 0);
}

/** Straight from the database; CatalogCache answers the same filters from memory. */
export async function listPackages(db: Kysely<DB>, filter: PackageFilter): Promise<PackageTable[]> {
  const f = normalize(filter);
  let ref: PackageTable | undefined;
  if (f.ref) {
    const candidates = await db
      .selectFrom('packages')
      .selectAll()
      .where('status', '=', 'active')
      .where((eb) => (f.ref!.bySlugOnly ? eb('slug', '=', f.ref!.value) : eb.or([eb('package_code', '=', f.ref!.value), eb('slug', '=', f.ref!.value)])))
      .execute();
    // A package code beats another package's slug with the same text.
    ref = candidates.find((p) => !f.ref!.bySlugOnly && p.package_code === f.ref!.value) ?? candidates.find((p) => p.slug === f.ref!.value);
    if (!ref) return [];
  }

  let query = db.selectFrom('packages').selectAll().where('status', '=', 'active').where('type', '=', f.type);
  if (ref && f.type === 'TOPUP') query = query.where('topup_group', '=', ref.topup_group);
  if (ref && f.type === 'BASE') query = query.where('package_code', '=', ref.package_code);
  if (f.location === REGIONAL || f.location === GLOBAL) {
    const global = f.location === GLOBAL;
    query = query.where('location_code', 'in', (eb) =>
      eb
        .selectFrom('locations')
        .select('code')
        .where('type', '=', 2)
        .where((w) => (global ? w('region_group', '=', GLOBAL_GROUP) : w.or([w('region_group', 'is', null), w('region_group', '<>', GLOBAL_GROUP)]))),
    );
  } else if (f.location) {
    query = query.where('location_code', '=', f.location);
  }
  return query.orderBy('sort_order').orderBy('package_code').execute();
}

export interface CatalogLocation {
  code: string;
  name: string;
  type: number;
  regionGroup: string | null;
  /** Member countries of a region (empty for a country). */
  members: { code: string; name: string }[];
}

/** An immutable in-memory copy of the active catalogue, indexed for every package/list filter. */
class Snapshot {
  readonly byCode = new Map<string, PackageTable>();
  readonly bySlug = new Map<string, PackageTable>();
  /** `${type}|${bucket}` → packages in order; bucket is '' (all), a location code, '!RG' or '!GL'. */
  private readonly lists = new Map<string, PackageTable[]>();
  /** `${type}|${topup_group}` → packages in order. */
  private readonly groups = new Map<string, PackageTable[]>();

  /** Every package, retired ones included (an eSIM keeps its package after it leaves the catalogue). */
  readonly all: PackageTable[];

  constructor(
    packages: PackageTable[],
    readonly locations: CatalogLocation[],
  ) {
    this.all = [...packages].sort(byOrder);
    const regional = new Set(locations.filter((l) => l.type === 2 && l.regionGroup !== GLOBAL_GROUP).map((l) => l.code));
    const global = new Set(locations.filter((l) => l.type === 2 && l.regionGroup === GLOBAL_GROUP).map((l) => l.code));
    const add = (map: Map<string, PackageTable[]>, key: string, p: PackageTable) => {
      const list = map.get(key);
      if (list) list.push(p);
      else map.set(key, [p]);
    };
    for (const p of this.all) {
      if (p.status !== 'active') continue;
      this.byCode.set(p.package_code, p);
      this.bySlug.set(p.slug, p);
      add(this.lists, `${p.type}|`, p);
      add(this.lists, `${p.type}|${p.location_code}`, p);
      if (regional.has(p.location_code)) add(this.lists, `${p.type}|${REGIONAL}`, p);
      if (global.has(p.location_code)) add(this.lists, `${p.type}|${GLOBAL}`, p);
      add(this.groups, `${p.type}|${p.topup_group}`, p);
    }
  }

  /** The same semantics as listPackages. The result is a fresh array (callers may sort or filter it). */
  list(filter: PackageFilter): PackageTable[] {
    const f = normalize(filter);
    if (!f.ref) return [...(this.lists.get(`${f.type}|${f.location ?? ''}`) ?? [])];
    const ref = (f.ref.bySlugOnly ? undefined : this.byCode.get(f.ref.value)) ?? this.bySlug.get(f.ref.value);
    if (!ref) return [];
    const candidates = f.type === 'TOPUP' ? (this.groups.get(`TOPUP|${ref.topup_group}`) ?? []) : ref.type === 'BASE' ? [ref] : [];
    if (!f.location) return [...candidates];
    const inBucket = new Set(this.lists.get(`${f.type}|${f.location}`) ?? []);
    return candidates.filter((p) => inBucket.has(p));
  }
}

async function loadSnapshot(db: Kysely<DB>): Promise<Snapshot> {
  const packages = await db.selectFrom('packages').selectAll().execute();
  const locations: LocationTable[] = await db.selectFrom('locations').selectAll().orderBy('sort_order').orderBy('code').execute();
  const members = await db.selectFrom('location_members').selectAll().orderBy('region_code').orderBy('country_code').execute();
  const names = new Map(locations.map((l) => [l.code, l.name]));
  const memberMap = new Map<string, { code: string; name: string }[]>();
  for (const m of members) {
    const entry = { code: m.country_code, name: names.get(m.country_code) ?? m.country_code };
    const list = memberMap.get(m.region_code);
    if (list) list.push(entry);
    else memberMap.set(m.region_code, [entry]);
  }
  return new Snapshot(
    packages,
    locations.map((l) => ({ code: l.code, name: l.name, type: l.type, regionGroup: l.region_group, members: memberMap.get(l.code) ?? [] })),
  );
}

/**
 * The active catalogue in memory: package/list must answer thousands of packages in well under 50 ms, and
 * the catalogue changes only on import. Loads once (concurrent callers share the load); invalidate()
 * after an import makes the next list() read the database again.
 */
export class CatalogCache {
  private snapshot: Snapshot | null = null;
  private loading: Promise<Snapshot> | null = null;
  private loadingGeneration = -1;
  /** Bumped by every invalidate and load, so dependants (rendered JSON caches) know to drop their copies. */
  private generation = 0;
  private stale = true;

  constructor(private readonly db: Kysely<DB>) {}

  get version(): number {
    return this.generation;
  }

  /** Whether list() can answer without a database read. */
  get isFresh(): boolean {
    return this.snapshot !== null && !this.stale;
  }

  /** Reads the catalogue now (again). */
  async load(): Promise<void> {
    await this.fetch(true);
  }

  invalidate(): void {
    this.stale = true;
    this.generation += 1;
  }

  async list(filter: PackageFilter = {}): Promise<PackageTable[]> {
    return (await this.fetch(false)).list(filter);
  }

  /**
   * Synchronous answer from the last loaded snapshot, for hot paths that loaded at start-up. After an
   * invalidate it keeps answering from the previous snapshot until a load() or list() completes.
   */
  listLoaded(filter: PackageFilter = {}): PackageTable[] {
    return this.loaded().list(filter);
  }

  /** An active package by package code or slug, from the last loaded snapshot. */
  getLoaded(codeOrSlug: string): PackageTable | undefined {
    const snapshot = this.loaded();
    return snapshot.byCode.get(codeOrSlug) ?? snapshot.bySlug.get(codeOrSlug);
  }

  /** Every package including retired ones, in catalogue order, from the last loaded snapshot. */
  allLoaded(): PackageTable[] {
    return [...this.loaded().all];
  }

  async locations(): Promise<CatalogLocation[]> {
    return (await this.fetch(false)).locations;
  }

  locationsLoaded(): CatalogLocation[] {
    return this.loaded().locations;
  }

  private loaded(): Snapshot {
    if (!this.snapshot) throw new Error('catalog cache used before load()');
    return this.snapshot;
  }

  private async fetch(force: boolean): Promise<Snapshot> {
    if (!force && this.snapshot && !this.stale) return this.snapshot;
    if (this.loading) {
      // A load that started before the latest invalidate may miss the change: wait for it, then reload.
      if (this.loadingGeneration === this.generation) return this.loading;
      await this.loading.catch(() => undefined);
      return this.fetch(force);
    }
    const startedAt = (this.loadingGeneration = this.generation);
    this.stale = false;
    this.loading = loadSnapshot(this.db).then(
      (snapshot) => {
        this.loading = null;
        this.snapshot = snapshot;
        // Invalidated while loading: rows written meanwhile may be missing, so stay stale.
        if (this.generation !== startedAt) this.stale = true;
        else this.generation += 1;
        return snapshot;
      },
      (err) => {
        this.loading = null;
        this.stale = true;
        throw err;
      },
    );
    return this.loading;
  }
}
