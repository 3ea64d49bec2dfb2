import type { CatalogService } from '../../../domain/catalog/service.ts';
import type { PackageTable } from '../../../store/schema.ts';
import { LIST_CURRENCY, tierPrice } from '../../../domain/pricing/pricing.ts';

/** The catalogue's own currency for a row: prices at a tier are rounded to its minor unit (domain/pricing). */
const listPriceAtTier = (row: PackageTable, tierFactorBps: number) => tierPrice(Number(row.price), tierFactorBps, row.currency_code || LIST_CURRENCY);

/**
 * Renders packages in eSIM Access shape, once per package and price tier: package/list answers are joins
 * of cached JSON strings, which keeps the whole catalogue well under the 50 ms budget.
 */
export class PackageRenderer {
  private cachedVersion = -1;
  private byTier = new Map<number, Map<string, string>>();
  private locationJson = '';

  constructor(private readonly catalog: CatalogService) {}

  render(rows: PackageTable[], tierFactorBps: number): string[] {
    this.checkVersion();
    let cache = this.byTier.get(tierFactorBps);
    if (!cache) {
      cache = new Map();
      this.byTier.set(tierFactorBps, cache);
    }
    const out = new Array<string>(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      let json = cache.get(row.package_code);
      if (json === undefined) {
        json = JSON.stringify(toWire(row, tierFactorBps));
        cache.set(row.package_code, json);
      }
      out[i] = json;
    }
    return out;
  }

  locationListJson(): string {
    this.checkVersion();
    if (!this.locationJson) {
      const locationList = this.catalog.locations().map((l) => ({
        code: l.code,
        name: l.name,
        type: l.type,
        subLocationList: l.type === 2 ? l.members.map((m) => ({ code: m.code, name: m.name })) : null,
      }));
      this.locationJson = JSON.stringify({ locationList });
    }
    return this.locationJson;
  }

  private checkVersion(): void {
    if (this.catalog.version !== this.cachedVersion) {
      this.byTier = new Map();
      this.locationJson = '';
      this.cachedVersion = this.catalog.version;
    }
  }
}

interface NetworkEntry {
  locationName: string;
  locationLogo: string;
  locationCode?: string;
  operatorList: Array<{ operatorName: string; networkType: string }>;
}

/**
 * For partners whose currency is not the catalogue's: every price from the partner's price function (its
 * tier, exchange rate or price list: what esim/order charges), the suggested retail price converted by the
 * pricing rule (as the dataplans dialect shows it). Not cached: rates and price lists change.
 */
export function renderInCurrency(rows: PackageTable[], priceOf: (pkg: PackageTable) => number, retailOf: (pkg: PackageTable) => number, currency: string, tierFactorBps: number): string[] {
  return rows.map((row) => JSON.stringify({ ...toWire(row, tierFactorBps), price: priceOf(row), currencyCode: currency, retailPrice: retailOf(row) }));
}

function toWire(row: PackageTable, tierFactorBps: number) {
  const networks = JSON.parse(row.networks_json) as NetworkEntry[];
  const operators = new Map<string, { operatorName: string; networkType: string }>();
  for (const n of networks) for (const op of n.operatorList) operators.set(`${op.operatorName}|${op.networkType}`, op);
  return {
    packageCode: row.package_code,
    slug: row.slug,
    name: row.name,
    price: listPriceAtTier(row, tierFactorBps),
    currencyCode: row.currency_code,
    volume: Number(row.volume),
    smsStatus: row.sms_status,
    dataType: row.data_type,
    unusedValidTime: row.unused_valid_time,
    duration: row.duration,
    durationUnit: row.duration_unit,
    location: row.location,
    locationCode: row.location_code,
    description: row.description,
    activeType: row.active_type,
    favorite: row.favorite === 1,
    retailPrice: Number(row.retail_price),
    speed: row.speed,
    locationNetworkList: networks,
    operatorList: [...operators.values()],
    ipExport: row.ip_export,
    supportTopUpType: row.support_topup_type,
    fupPolicy: row.fup_policy,
  };
}
