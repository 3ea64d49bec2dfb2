import { bumpCatalogGeneration } from '../catalog/generation.ts';
import { monthlySpendOf } from '../ledger/ledger.ts';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB, PackageTable, Partner, PriceTierTable } from '../../store/schema.ts';
import { DomainError } from '../errors.ts';

type Db = Kysely<DB> | Transaction<DB>;

/** The currency list prices (packages.price) are given in unless a package says otherwise. */
export const LIST_CURRENCY = 'USD';
const RATE_SCALE = 1_000_000n;
const LEDGER_DECIMALS = 4;

/**
 * Pricing: what a partner pays for a package, in the partner's currency.
 *
 * THE rounding rule (the only one; every dialect, the CLI and the console price through it):
 *  1. The package's list price in the partner's currency is the operator's per-currency price-list entry when
 *     there is one; otherwise the list price converted with the operator's exchange rate
 *     (amount × rate(to) / rate(from), exactly, in integers), rounded half-up to the currency's minor unit
 *     (ISO 4217: 0.01 THB, 0.01 EUR, 1 JPY). No conversion when the currencies are the same.
 *  2. The partner price is that list price × the tier factor / 10,000, rounded half-up to the currency's minor
 *     unit again (tierPrice): partners and their end users see prices they can show, never 41.4865 THB.
 * The ledger keeps 1/10,000 units (a price is then a whole number of minor units). Tier thresholds
 * (price_tiers.min_monthly_volume, in the list currency) and suggested retail prices are converted with step 1.
 *
 * Monthly tier: the tier a partner pays is the better (lower factor) of the tier the operator assigned
 * (partners.price_tier_id) and the best tier whose threshold the partner's spend in the current calendar month
 * (UTC, the partner's clock) reaches. Spend = charges − refunds posted to the wallet this month, before the
 * purchase being priced. With no spend, a partner pays its assigned tier, as before.
 */
export class Pricing {
  private rates: { at: number; map: Map<string, bigint> } | null = null;
  private priceLists = new Map<string, { at: number; map: Map<string, number> }>();

  /** Standings by partner, valid while the partner's wallet totals are unchanged (see standing()). */
  private standings = new Map<string, { version: string; at: number; value: TierStanding }>();
  /**
   * A cheap fingerprint of the partner's ledger (its wallet's totals): when it is unchanged, so is this
   * month's spend, and the aggregate over the month's transfers need not run again. Set by bootstrap.
   */
  walletVersion?: (partnerId: string) => Promise<string | undefined>;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly cacheTtlMs = 2000,
  ) {}

  /** Drops cached rates and price lists (call after changing them in this process). */
  invalidate(): void {
    this.rates = null;
    this.tiers = null;
    this.priceLists.clear();
    this.standings.clear();
  }

  // ---- exchange rates ------------------------------------------------------------------------------------

  async listRates(): Promise<Array<{ currency: string; unitsPerUsd: string; updatedAt: number }>> {
    const rows = await this.db.selectFrom('exchange_rates').selectAll().orderBy('currency').execute();
    return [{ currency: LIST_CURRENCY, unitsPerUsd: '1', updatedAt: 0 }, ...rows.map((r) => ({ currency: r.currency, unitsPerUsd: formatRate(BigInt(r.units_per_usd_e6)), updatedAt: Number(r.updated_at) }))];
  }

  /** Sets how many units of `currency` one USD buys, e.g. setRate('THB', '35.5'). */
  async setRate(currency: string, unitsPerUsd: string, nowMs: number): Promise<void> {
    const code = normalizeCurrency(currency);
    if (code === LIST_CURRENCY) throw new DomainError('invalid_argument', `${LIST_CURRENCY} is the list currency: its rate is always 1`);
    const e6 = parseRate(unitsPerUsd);
    await this.db
      .insertInto('exchange_rates')
      .values({ currency: code, units_per_usd_e6: Number(e6), updated_at: nowMs })
      .onConflict((oc) => oc.column('currency').doUpdateSet({ units_per_usd_e6: Number(e6), updated_at: nowMs }))
      .execute();
    this.invalidate();
    await bumpCatalogGeneration(this.db);
  }

  async deleteRate(currency: string): Promise<boolean> {
    const result = await this.db.deleteFrom('exchange_rates').where('currency', '=', normalizeCurrency(currency)).executeTakeFirst();
    this.invalidate();
    await bumpCatalogGeneration(this.db);
    return Number(result.numDeletedRows) > 0;
  }

  /** Per-currency price list entry (list price before the tier factor), in 1/10,000 of the currency. */
  async setListPrice(currency: string, packageCode: string, priceMinor: number, nowMs: number): Promise<void> {
    const code = normalizeCurrency(currency);
    if (!Number.isSafeInteger(priceMinor) || priceMinor <= 0) throw new DomainError('invalid_argument', 'price must be a positive amount');
    if (roundToMinorUnit(priceMinor, code) !== priceMinor) throw new DomainError('invalid_argument', `price must be a whole number of ${code} minor units (${currencyDecimals(code)} decimals)`);
    const pkg = await this.db.selectFrom('packages').select('package_code').where((eb) => eb.or([eb('package_code', '=', packageCode), eb('slug', '=', packageCode)])).executeTakeFirst();
    if (!pkg) throw new DomainError('package_not_found', `The packageCode ${packageCode} does not exist`);
    await this.db
      .insertInto('currency_prices')
      .values({ currency: code, package_code: pkg.package_code, price: priceMinor, updated_at: nowMs })
      .onConflict((oc) => oc.columns(['currency', 'package_code']).doUpdateSet({ price: priceMinor, updated_at: nowMs }))
      .execute();
    this.invalidate();
    await bumpCatalogGeneration(this.db);
  }

  async deleteListPrice(currency: string, packageCode: string): Promise<boolean> {
    const result = await this.db.deleteFrom('currency_prices').where('currency', '=', normalizeCurrency(currency)).where('package_code', '=', packageCode).executeTakeFirst();
    this.invalidate();
    await bumpCatalogGeneration(this.db);
    return Number(result.numDeletedRows) > 0;
  }

  async listPrices(currency: string): Promise<Array<{ packageCode: string; priceMinor: number }>> {
    const rows = await this.db.selectFrom('currency_prices').select(['package_code', 'price']).where('currency', '=', normalizeCurrency(currency)).orderBy('package_code').execute();
    return rows.map((r) => ({ packageCode: r.package_code, priceMinor: Number(r.price) }));
  }

  /** Converts an amount between currencies by the rates (rule step 1). Throws when a rate is missing. */
  async convert(amountMinor: number, from: string, to: string): Promise<number> {
    return convertWith(from === to ? new Map() : await this.rateMap(), amountMinor, from, to);
  }

  /** The package's list price (before the tier factor) in a currency (rule step 1). */
  async listPriceIn(pkg: PackageTable, currency: string): Promise<number> {
    const listed = (await this.priceList(currency)).get(pkg.package_code);
    if (listed !== undefined) return listed;
    return this.convert(Number(pkg.price), pkg.currency_code || LIST_CURRENCY, currency);
  }

  /** The suggested retail price in a currency (converted the same way; price lists do not cover it). */
  async retailPriceIn(pkg: PackageTable, currency: string): Promise<number> {
    return this.convert(Number(pkg.retail_price), pkg.currency_code || LIST_CURRENCY, currency);
  }

  /** retailPriceIn for many packages: the rates are loaded once, then each package is priced synchronously. */
  async retailFunction(currency: string): Promise<(pkg: PackageTable) => number> {
    const rates = await this.rateMap();
    return (pkg) => convertWith(rates, Number(pkg.retail_price), pkg.currency_code || LIST_CURRENCY, currency);
  }

  // ---- monthly tiers ---------------------------------------------------------------------------------------

  /** Charges minus refunds on the partner's wallet in the calendar month (UTC) holding nowMs. */
  async monthlySpend(db: Db, partnerId: string, nowMs: number): Promise<number> {
    return monthlySpendOf(db, partnerId, nowMs);
  }

  /** Where a partner stands this month: its tier, spend and the next threshold (amounts in its currency). */
  async standing(partner: Pick<Partner, 'id' | 'currency' | 'price_tier_id'>, nowMs: number, db: Db = this.db): Promise<TierStanding> {
    // Outside a transaction, reuse the last standing while the wallet has not moved (package/list asks on
    // every request; the month's spend is an aggregate over its transfers).
    const cacheable = db === this.db && this.walletVersion !== undefined;
    let version = '';
    if (cacheable) {
      const wallet = await this.walletVersion!(partner.id);
      version = `${wallet}|${partner.price_tier_id}|${partner.currency}|${monthOf(nowMs).start}`;
      const cached = this.standings.get(partner.id);
      if (cached && cached.version === version && Date.now() - cached.at < this.cacheTtlMs) return cached.value;
    }
    const value = await this.computeStanding(partner, nowMs, db);
    if (cacheable) {
      if (this.standings.size > 10_000) this.standings.clear();
      this.standings.set(partner.id, { version, at: Date.now(), value });
    }
    return value;
  }

  private async computeStanding(partner: Pick<Partner, 'id' | 'currency' | 'price_tier_id'>, nowMs: number, db: Db): Promise<TierStanding> {
    const tiers = await this.tierTable(db);
    const spend = await this.monthlySpend(db, partner.id, nowMs);
    const withThresholds: Array<{ tier: PriceTierTable; threshold: number }> = [];
    for (const tier of tiers) withThresholds.push({ tier, threshold: await this.convert(tier.min_monthly_volume, LIST_CURRENCY, partner.currency) });
    const assigned = tiers.find((t) => t.id === partner.price_tier_id) ?? null;
    let effective = assigned ? { tier: assigned, threshold: 0 } : null;
    let source: TierStanding['source'] = 'assigned';
    for (const candidate of withThresholds) {
      if (candidate.threshold > spend) continue;
      if (!effective || candidate.tier.price_factor_bps < effective.tier.price_factor_bps) {
        effective = candidate;
        source = 'monthly_volume';
      }
    }
    const factor = effective?.tier.price_factor_bps ?? 10_000;
    const next = withThresholds
      .filter((c) => c.threshold > spend && c.tier.price_factor_bps < factor)
      .sort((a, b) => a.threshold - b.threshold || a.tier.price_factor_bps - b.tier.price_factor_bps)[0];
    const { start, end } = monthOf(nowMs);
    return {
      tierId: effective?.tier.id ?? partner.price_tier_id,
      tierName: effective?.tier.name ?? partner.price_tier_id,
      priceFactorBps: factor,
      source: effective && assigned && effective.tier.id === assigned.id ? 'assigned' : source,
      assignedTierId: partner.price_tier_id,
      currency: partner.currency,
      monthlySpendMinor: spend,
      monthStartMs: start,
      monthEndMs: end,
      next: next ? { tierId: next.tier.id, tierName: next.tier.name, priceFactorBps: next.tier.price_factor_bps, thresholdMinor: next.threshold, remainingMinor: next.threshold - spend } : null,
    };
  }

  /**
   * The price function orders and top-ups use: prices every package for this partner at this moment (its
   * monthly tier, its currency). Loads what it needs once, then prices synchronously.
   */
  async priceFunction(partner: Partner, nowMs: number): Promise<(pkg: PackageTable) => number> {
    const standing = await this.standing(partner, nowMs);
    const factor = standing.priceFactorBps;
    if (partner.currency === LIST_CURRENCY && (await this.priceList(partner.currency)).size === 0) {
      return (pkg) => {
        if ((pkg.currency_code || LIST_CURRENCY) !== LIST_CURRENCY) throw new DomainError('invalid_argument', `${pkg.package_code} is priced in ${pkg.currency_code}`);
        return tierPrice(Number(pkg.price), factor, LIST_CURRENCY);
      };
    }
    const list = await this.priceList(partner.currency);
    const rates = await this.rateMap();
    return (pkg) => {
      const from = pkg.currency_code || LIST_CURRENCY;
      let listPrice = list.get(pkg.package_code);
      if (listPrice === undefined) {
        if (from === partner.currency) listPrice = Number(pkg.price);
        else {
          listPrice = convertWith(rates, Number(pkg.price), from, partner.currency);
        }
      }
      return tierPrice(listPrice, factor, partner.currency);
    };
  }

  private tiers: { at: number; rows: PriceTierTable[] } | null = null;

  /** The operator's tier table (cached like the rates; read inside `db` when a transaction is given). */
  private async tierTable(db: Db): Promise<PriceTierTable[]> {
    const now = Date.now();
    if (db === this.db && this.tiers && now - this.tiers.at < this.cacheTtlMs) return this.tiers.rows;
    const rows = (await db.selectFrom('price_tiers').selectAll().execute()).map((t) => ({ ...t, price_factor_bps: Number(t.price_factor_bps), min_monthly_volume: Number(t.min_monthly_volume) }));
    if (db === this.db) this.tiers = { at: now, rows };
    return rows;
  }

  private async rateMap(): Promise<Map<string, bigint>> {
    const now = Date.now();
    if (this.rates && now - this.rates.at < this.cacheTtlMs) return this.rates.map;
    const rows = await this.db.selectFrom('exchange_rates').select(['currency', 'units_per_usd_e6']).execute();
    const map = new Map(rows.map((r) => [r.currency, BigInt(r.units_per_usd_e6)]));
    this.rates = { at: now, map };
    return map;
  }

  private async priceList(currency: string): Promise<Map<string, number>> {
    const now = Date.now();
    const cached = this.priceLists.get(currency);
    if (cached && now - cached.at < this.cacheTtlMs) return cached.map;
    const rows = await this.db.selectFrom('currency_prices').select(['package_code', 'price']).where('currency', '=', currency).execute();
    const map = new Map(rows.map((r) => [r.package_code, Number(r.price)]));
    this.priceLists.set(currency, { at: now, map });
    return map;
  }
}

export interface TierStanding {
  tierId: string;
  tierName: string;
  priceFactorBps: number;
  /** assigned: the operator's tier for this partner; monthly_volume: earned by this month's spend. */
  source: 'assigned' | 'monthly_volume';
  assignedTierId: string;
  currency: string;
  monthlySpendMinor: number;
  monthStartMs: number;
  monthEndMs: number;
  next: { tierId: string; tierName: string; priceFactorBps: number; thresholdMinor: number; remainingMinor: number } | null;
}

/** The calendar month (UTC) holding a moment: [start, end). */
export function monthOf(nowMs: number): { start: number; end: number } {
  const d = new Date(nowMs);
  return { start: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1), end: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) };
}

const decimalsByCurrency = new Map<string, number>();

/** Decimal places of a currency's minor unit (ISO 4217): 2 for THB, 0 for JPY, 3 for KWD. */
export function currencyDecimals(currency: string): number {
  let decimals = decimalsByCurrency.get(currency);
  if (decimals === undefined) {
    try {
      decimals = Math.min(LEDGER_DECIMALS, new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2);
    } catch {
      decimals = 2;
    }
    // Prices are computed per package per request: Intl lookups are too slow for that.
    if (decimalsByCurrency.size < 1000) decimalsByCurrency.set(currency, decimals);
  }
  return decimals;
}

/** An amount in ledger units (1/10,000) rounded half-up to the currency's minor unit (non-negative amounts). */
export function roundToMinorUnit(amountMinor: number, currency: string): number {
  return divideToMinorUnit(BigInt(amountMinor), 1n, currency);
}

/** Rule step 2: a list price × a tier factor (basis points), rounded half-up to the currency's minor unit. */
export function tierPrice(listPriceMinor: number, factorBps: number, currency: string): number {
  return divideToMinorUnit(BigInt(listPriceMinor) * BigInt(factorBps), 10_000n, currency);
}

/** Rule step 1 with loaded rates (units per USD, RATE_SCALE-scaled). Throws when a rate is missing. */
function convertWith(rates: Map<string, bigint>, amountMinor: number, from: string, to: string): number {
  if (from === to) return roundToMinorUnit(amountMinor, to);
  const rFrom = from === LIST_CURRENCY ? RATE_SCALE : rates.get(from);
  const rTo = to === LIST_CURRENCY ? RATE_SCALE : rates.get(to);
  const missing = rFrom === undefined ? from : rTo === undefined ? to : null;
  if (missing) throw new DomainError('invalid_argument', `No exchange rate for ${missing}: the operator sets one with \`esimhub pricing rate set ${missing} <units per USD>\``);
  return convertExact(amountMinor, rFrom!, rTo!, to);
}

/** Rule step 1: amount × rTo / rFrom, rounded half-up to the target currency's minor unit (non-negative amounts). */
export function convertExact(amountMinor: number, rFrom: bigint, rTo: bigint, to: string): number {
  return divideToMinorUnit(BigInt(amountMinor) * rTo, rFrom, to);
}

/** num / den ledger units, rounded half-up to the currency's minor unit, exactly (integers throughout). */
function divideToMinorUnit(num: bigint, den: bigint, currency: string): number {
  const unit = 10n ** BigInt(LEDGER_DECIMALS - currencyDecimals(currency));
  const d = den * unit;
  return Number(((2n * num + d) / (2n * d)) * unit);
}

function normalizeCurrency(currency: string): string {
  const code = currency.trim().toUpperCase();
  if (!/^[A-Z]{3}$/.test(code)) throw new DomainError('invalid_argument', 'currency must be a 3-letter ISO 4217 code');
  return code;
}

/** "35.5" → 35_500_000n (at most 6 decimals, positive). */
export function parseRate(text: string): bigint {
  const m = /^(\d{1,9})(?:\.(\d{1,6}))?$/.exec(String(text).trim());
  if (!m) throw new DomainError('invalid_argument', `rate must be a positive decimal with at most 6 decimals (got ${JSON.stringify(text)})`);
  const value = BigInt(m[1]) * RATE_SCALE + BigInt(((m[2] ?? '') + '000000').slice(0, 6));
  if (value <= 0n) throw new DomainError('invalid_argument', 'rate must be positive');
  return value;
}

export function formatRate(e6: bigint): string {
  const whole = e6 / RATE_SCALE;
  const frac = (e6 % RATE_SCALE).toString().padStart(6, '0').replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : `${whole}`;
}

/** 1/10,000 units → a decimal string with the currency's decimals, more only when the amount has them. */
export function formatAmount(amountMinor: number, currency: string): string {
  const decimals = currencyDecimals(currency);
  const sign = amountMinor < 0 ? '-' : '';
  const abs = Math.abs(amountMinor);
  const whole = Math.floor(abs / 10_000);
  let frac = String(abs % 10_000).padStart(4, '0');
  while (frac.length > decimals && frac.endsWith('0')) frac = frac.slice(0, -1);
  return frac ? `${sign}${whole}.${frac}` : `${sign}${whole}`;
}
