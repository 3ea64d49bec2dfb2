import type { CatalogService } from '../../../domain/catalog/service.ts';
import type { PackageTable } from '../../../store/schema.ts';

/**
 * eSIM Go-style bundle names for the catalogue's packages, e.g. `esim_1GB_7D_US_V2`, and the way back.
 *
 * `esim_<volume>_<days>D_<location>_V2`: volume in GB (`1GB`, `20GB`) or MB below 1 GB (`500MB`);
 * daily-limit plans are prefixed `UL` (slowed after the daily volume) or `DL` (cut off), e.g.
 * `esim_UL_1GB_1D_TR_V2`; top-up packages end `_TOPUP_V2`. Names are built over every package sorted by
 * package code, so they are stable; if two packages would get the same name, the later one gets its
 * package code appended (`…_V2_ABC123`). Names are case-sensitive, like eSIM Go's.
 */
export class BundleNames {
  private version = -1;
  private byName = new Map<string, PackageTable>();
  private byCode = new Map<string, string>();
  private countryRegion = new Map<string, string>();
  private locationNames = new Map<string, string>();

  constructor(private readonly catalog: CatalogService) {}

  private refresh(): void {
    if (this.version === this.catalog.version && this.byName.size) return;
    const byName = new Map<string, PackageTable>();
    const byCode = new Map<string, string>();
    const packages = [...this.catalog.all()].sort((a, b) => (a.package_code < b.package_code ? -1 : a.package_code > b.package_code ? 1 : 0));
    for (const pkg of packages) {
      let name = baseName(pkg);
      if (byName.has(name)) name = `${name}_${pkg.package_code}`;
      byName.set(name, pkg);
      byCode.set(pkg.package_code, name);
    }
    const countryRegion = new Map<string, string>();
    const locationNames = new Map<string, string>();
    for (const loc of this.catalog.locations()) {
      locationNames.set(loc.code, loc.name);
      for (const m of loc.members) {
        locationNames.set(m.code, m.name);
        if (loc.regionGroup && loc.regionGroup !== 'Global' && !countryRegion.has(m.code)) countryRegion.set(m.code, loc.regionGroup);
      }
    }
    this.byName = byName;
    this.byCode = byCode;
    this.countryRegion = countryRegion;
    this.locationNames = locationNames;
    this.version = this.catalog.version;
  }

  nameOf(pkg: PackageTable | string): string {
    this.refresh();
    const code = typeof pkg === 'string' ? pkg : pkg.package_code;
    return this.byCode.get(code) ?? (typeof pkg === 'string' ? code : baseName(pkg));
  }

  /** The package for a bundle name (exact, case-sensitive). */
  packageOf(name: string): PackageTable | undefined {
    this.refresh();
    return this.byName.get(name);
  }

  regionOf(iso: string): string {
    this.refresh();
    return this.countryRegion.get(iso) ?? '';
  }

  countryName(iso: string): string {
    this.refresh();
    return this.locationNames.get(iso) ?? iso;
  }

  locationName(code: string): string {
    return this.countryName(code);
  }
}

export function volumeLabel(bytes: number): string {
  const gb = bytes / 1073741824;
  if (gb >= 1) return Number.isInteger(gb) ? `${gb}GB` : `${Math.round(gb * 10) / 10}GB`.replace('.', 'P');
  return `${Math.round(bytes / 1048576)}MB`;
}

function baseName(pkg: PackageTable): string {
  const loc = pkg.location_code.replace(/[^A-Za-z0-9]/g, '');
  const days = pkg.is_daypass === 1 ? Math.max(1, pkg.duration) : pkg.duration;
  const unit = pkg.duration_unit.toUpperCase().startsWith('MONTH') ? 'M' : 'D';
  const prefix = pkg.data_type === 1 ? '' : pkg.data_type === 3 ? 'DL_' : 'UL_';
  const suffix = pkg.type === 'TOPUP' ? '_TOPUP_V2' : '_V2';
  return `esim_${prefix}${volumeLabel(Number(pkg.volume))}_${days}${unit}_${loc}${suffix}`;
}

/** Catalogue groups: eSIM Go's standard group names for our data types. */
export function groupOf(pkg: PackageTable): string {
  if (pkg.data_type === 1) return pkg.duration >= 60 ? 'Standard Long Duration' : 'Standard Fixed';
  if (pkg.data_type === 3) return 'Standard Daily Limit';
  if (pkg.data_type === 4) return 'Standard Unlimited Lite';
  return 'Standard Unlimited Essential';
}

export const ALL_GROUPS = ['Standard Fixed', 'Standard Long Duration', 'Standard Unlimited Essential', 'Standard Unlimited Lite', 'Standard Daily Limit'];

/** Bytes as eSIM Go's MB (catalogue dataAmount, inventory data): 1 GB = 1000 MB. */
export function megabytes(bytes: number): number {
  return Math.round((bytes / 1073741824) * 1000);
}

/** Money in 1/10,000 units as a decimal number of the currency. */
export function money(minor: number): number {
  return Number((Number(minor) / 10_000).toFixed(4));
}

export function speeds(pkg: PackageTable): string[] {
  const list = pkg.speed.split(/[/,\s]+/).filter((s) => /^\dG$/.test(s));
  return list.length ? list : ['4G'];
}
