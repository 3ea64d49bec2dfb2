import type { Bundle, PackageTable } from '../../../store/schema.ts';
import type { CatalogLocation } from '../../../domain/catalog/query.ts';
import { GLOBAL_GROUP } from '../../../domain/catalog/locations.ts';
import { formatAmount } from '../../../domain/pricing/pricing.ts';
import type { PurchaseView } from '../../../domain/purchases/purchases.ts';

const MB = 1024 * 1024;
const GB = 1024 * MB;

export interface WireRef {
  slug: string;
  name: string;
}

export function slugify(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '') || 'unknown';
}

export const LOCAL_REGION: WireRef = { slug: 'local', name: 'Local' };
export const GLOBAL_REGION: WireRef = { slug: 'global', name: 'Global' };

/** Capacity in the plan's unit: whole GB when the volume is, else MB (at most 2 decimals). */
export function capacityOf(bytes: number): { capacity: number; capacityUnit: 'GB' | 'MB' } {
  if (bytes >= GB && bytes % GB === 0) return { capacity: bytes / GB, capacityUnit: 'GB' };
  return { capacity: Math.round((bytes / MB) * 100) / 100, capacityUnit: 'MB' };
}

export function inUnit(bytes: number, unit: 'GB' | 'MB'): number {
  return Math.round((bytes / (unit === 'GB' ? GB : MB)) * 100) / 100;
}

export function iso(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(Number(ms)).toISOString();
}

/** The catalogue seen the dataplans way: operators, regions and countries of each plan. */
export class CatalogView {
  readonly locations = new Map<string, CatalogLocation>();

  constructor(locations: CatalogLocation[]) {
    for (const l of locations) this.locations.set(l.code, l);
  }

  operatorOf(pkg: PackageTable): WireRef {
    try {
      const networks = JSON.parse(pkg.networks_json) as Array<{ operatorList?: Array<{ operatorName?: string }> }>;
      const name = networks.find((n) => n.operatorList?.length)?.operatorList?.[0]?.operatorName;
      if (name) return { slug: slugify(name), name };
    } catch {
      /* a package without networks */
    }
    return { slug: 'esimhub', name: 'esimhub' };
  }

  regionOf(pkg: PackageTable): WireRef {
    const location = this.locations.get(pkg.location_code);
    if (!location || location.type !== 2) return LOCAL_REGION;
    if (location.regionGroup === GLOBAL_GROUP) return GLOBAL_REGION;
    const group = location.regionGroup ?? location.name;
    return { slug: slugify(group), name: group };
  }

  countriesOf(pkg: PackageTable): Array<{ countryCode: string; countryName: string }> {
    return pkg.location
      .split(',')
      .map((c) => c.trim())
      .filter(Boolean)
      .map((code) => ({ countryCode: code, countryName: this.locations.get(code)?.name ?? code }));
  }

  /** Every region a plan can be in: local, global and one per continental group. */
  regions(): WireRef[] {
    const out: WireRef[] = [LOCAL_REGION, GLOBAL_REGION];
    const seen = new Set(out.map((r) => r.slug));
    for (const l of this.locations.values()) {
      if (l.type !== 2 || l.regionGroup === GLOBAL_GROUP) continue;
      const group = l.regionGroup ?? l.name;
      const slug = slugify(group);
      if (!seen.has(slug)) {
        seen.add(slug);
        out.push({ slug, name: group });
      }
    }
    return out;
  }
}

export interface PlanPrices {
  retailMinor: number;
  currency: string;
}

export function renderPlan(view: CatalogView, pkg: PackageTable, prices: PlanPrices, reloadable: boolean) {
  const { capacity, capacityUnit } = capacityOf(Number(pkg.volume));
  return {
    slug: pkg.slug,
    name: pkg.name,
    period: pkg.is_daypass === 1 ? 1 : pkg.duration,
    capacity,
    capacityUnit,
    retailPrice: formatAmount(prices.retailMinor, prices.currency),
    priceCurrency: prices.currency,
    prepaidCredit: formatAmount(0, prices.currency),
    prepaidCurrency: prices.currency,
    reloadable,
    phoneNumber: true,
    active: pkg.status === 'active',
    operator: view.operatorOf(pkg),
    region: view.regionOf(pkg),
    countries: view.countriesOf(pkg),
  };
}

export interface EsimPayloadOptions {
  qrCodeDataUrl?: string;
}

export function esimExpiry(p: PurchaseView): number {
  return Number(p.esim.expired_time ?? p.esim.download_deadline);
}

/** The purchase object of GET /purchases/{id} (POST /purchases wraps it in `purchase`). */
export function renderPurchase(p: PurchaseView, options: EsimPayloadOptions = {}) {
  const esim: Record<string, unknown> = {
    manual1: p.esim.smdp_address,
    manual2: p.esim.matching_id,
    optionalCode: p.esim.confirmation_code ?? '',
    phone: p.esim.msisdn ?? '',
    serial: p.esim.iccid,
    expiryDate: iso(esimExpiry(p)),
    qrCodeString: p.esim.ac,
  };
  if (options.qrCodeDataUrl) esim.qrCodeDataUrl = options.qrCodeDataUrl;
  return {
    purchaseId: p.purchaseId,
    planSlug: p.planSlug,
    planName: p.planName,
    retail: formatAmount(p.retailMinor, p.currency),
    paid: formatAmount(p.paidMinor, p.currency),
    currency: p.currency,
    purchasedAt: iso(p.purchasedAtMs),
    esim,
  };
}

/** GET /status/…: remaining capacity per plan (bundle) on the eSIM. */
export function renderStatus(p: PurchaseView, packages: (code: string) => PackageTable | undefined, nowMs: number) {
  const activated = p.esim.activate_time !== null ? Number(p.esim.activate_time) : null;
  return {
    purchaseId: p.purchaseId,
    plans: p.bundles.map((b: Bundle) => {
      const pkg = packages(b.package_code);
      const { capacityUnit } = capacityOf(Number(b.volume));
      const remaining = Math.max(0, Number(b.volume) - Number(b.used_bytes));
      return {
        slug: pkg?.slug ?? b.package_code,
        description: pkg?.name ?? b.package_code,
        isActive: b.state === 'active' || b.state === 'queued',
        state: b.state,
        remainingCapacity: b.state === 'expired' || b.state === 'revoked' || b.state === 'lapsed' ? 0 : inUnit(remaining, capacityUnit),
        capacity: inUnit(Number(b.volume), capacityUnit),
        capacityUnit,
        activatedAt: iso(b.activated_at),
        expiryDate: iso(b.expires_at ?? esimExpiry(p)),
        accountAge: activated === null ? 0 : Math.max(0, Math.floor((nowMs - activated) / 86_400_000)),
      };
    }),
    esim: {
      manual1: p.esim.smdp_address,
      manual2: p.esim.matching_id,
      optionalCode: p.esim.confirmation_code ?? '',
      qrCodeString: p.esim.ac,
      phone: p.esim.msisdn ?? '',
      serial: p.esim.iccid,
      expiryDate: iso(esimExpiry(p)),
      status: p.esim.esim_status,
      balanceCurrency: p.currency,
      currentBalance: 0,
      lastBalance: 0,
    },
  };
}
