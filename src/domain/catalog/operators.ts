import { createRequire } from 'node:module';
import type { Operator as MccMncRecord } from 'mcc-mnc-list';
import type { OperatorTable } from '../../store/schema.ts';

const require = createRequire(import.meta.url);

/**
 * Territories with no operational network of their own in the MCC/MNC list are served by roaming on a
 * neighbour's (or the administering country's) networks: a Vatican City eSIM attaches to Italian networks.
 */
const HOST_COUNTRY: Record<string, string> = {
  AQ: 'NZ', // Antarctic stations: Scott Base / McMurdo traffic goes via NZ carriers.
  AX: 'FI',
  BV: 'NO',
  EH: 'MA',
  GS: 'FK',
  HM: 'AU',
  IO: 'GB',
  PN: 'NZ',
  SJ: 'NO',
  TF: 'FR',
  UM: 'US',
  VA: 'IT',
};

/** Bands that are not public mobile data networks (railway, trunked radio, satellite, paging). */
const NON_PUBLIC_BANDS = /GSM-R|TETRA|Satellite|iDEN|paging/i;
/** Placeholder brands in the list that are not networks a traveller could attach to. */
const NON_PUBLIC_NAMES = /^private networks?$|\btest\b/i;

/** Operators listed per country in a package's network list: enough to be useful, short enough to read. */
export const OPERATORS_PER_COUNTRY = 4;

/**
 * The generations a `bands` text such as "GSM 900 / UMTS 2100 / LTE 800 / 5G 3500" supports:
 * 2 (GSM/CDMA), 3 (UMTS/HSPA/CDMA2000), 4 (LTE), 5 (5G/NR). Empty for "Unknown", "MVNO", null.
 */
export function generationsFromBands(bands: string | null | undefined): Set<number> {
  const gens = new Set<number>();
  if (!bands) return gens;
  if (/\b(5G|NR)\b/i.test(bands)) gens.add(5);
  if (/LTE|WiMAX/i.test(bands)) gens.add(4);
  if (/UMTS|HSPA|WCDMA|CDMA ?2000|EV-?DO|TD-SCDMA/i.test(bands)) gens.add(3);
  if (/GSM|\bCDMA\b(?! ?2000)/i.test(bands)) gens.add(2);
  return gens;
}

/**
 * eSIM Access style network type: the two newest generations, e.g. "4G/5G", "3G/4G", "2G/3G" or a single
 * one. Operators whose bands are unknown (MVNOs, gaps in the list) are shown as "3G/4G", the common case.
 */
export function networkTypeFromGenerations(gens: Set<number>): string {
  const sorted = [...gens].sort((a, b) => b - a).slice(0, 2).reverse();
  if (sorted.length === 0) return '3G/4G';
  return sorted.map((g) => `${g}G`).join('/');
}

interface Candidate {
  country: string;
  name: string;
  mcc: string;
  mnc: string;
  gens: Set<number>;
  bandCount: number;
  entries: number;
  mvno: boolean;
}

/** Drops technology suffixes some brands carry per MNC ("PCCW Mobile (4G)") so they dedupe. */
function cleanBrand(name: string): string {
  return name.replace(/\s*\((?:2G|3G|4G|5G|LTE|UMTS|GSM|CDMA)\)$/i, '').replace(/\s+/g, ' ').trim();
}

/**
 * Ranking for "which operators to show first": newest generation, then footprint, approximated by how many
 * MNCs and bands a brand holds (national carriers hold many; small regional ones few).
 */
function score(c: Candidate): number {
  const best = c.gens.size ? Math.max(...c.gens) : 0;
  return (c.mvno ? 0 : 1000) + best * 20 + Math.min(c.bandCount, 12) * 5 + Math.min(c.entries, 10) * 30;
}

/**
 * `op_us_01_310410`: the same MCC/MNC can serve several territories (AU/CC/CX), so the country is part of
 * the id; the table has no rank column, so the rank is too: ORDER BY id lists a country's best networks
 * first on every database, which is how package network lists are built after an import.
 */
function operatorId(country: string, rank: number, mcc: string, mnc: string): string {
  return `op_${country.toLowerCase()}_${String(rank).padStart(2, '0')}_${mcc}${mnc}`;
}

/**
 * Operators per country from mcc-mnc-list: operational public networks only, one row per brand per
 * country, ordered best first. Entries such as "AU/CC/CX" (one network serving several territories) are
 * split; sub-national codes such as "GE-AB" are dropped. Countries with no network get their host's.
 */
export function buildOperators(countryCodes: readonly string[]): OperatorTable[] {
  const wanted = new Set(countryCodes);
  const records = require('mcc-mnc-list/mcc-mnc-list.json') as MccMncRecord[];
  const byCountry = new Map<string, Map<string, Candidate>>();

  for (const r of records) {
    if (r.status !== 'Operational' || !r.countryCode) continue;
    if (NON_PUBLIC_BANDS.test(r.bands ?? '')) continue;
    const rawName = r.brand ?? r.operator;
    if (!rawName) continue;
    const name = cleanBrand(rawName);
    if (NON_PUBLIC_NAMES.test(name)) continue;
    const gens = generationsFromBands(r.bands);
    const bandCount = (r.bands ?? '').split('/').filter((b) => /\d/.test(b)).length;
    const mvno = /MVNO/i.test(r.bands ?? '');
    for (const cc of r.countryCode.split('/')) {
      if (!/^[A-Z]{2}$/.test(cc) || !wanted.has(cc)) continue;
      let brands = byCountry.get(cc);
      if (!brands) byCountry.set(cc, (brands = new Map()));
      const key = name.toLowerCase();
      const existing = brands.get(key);
      if (!existing) {
        brands.set(key, { country: cc, name, mcc: r.mcc, mnc: r.mnc, gens, bandCount, entries: 1, mvno });
      } else {
        // Merge: a brand's capabilities are those of its best MNC; keep the first MNC as its id.
        for (const g of gens) existing.gens.add(g);
        existing.bandCount = Math.max(existing.bandCount, bandCount);
        existing.entries += 1;
        existing.mvno = existing.mvno && mvno;
      }
    }
  }

  const ranked = new Map<string, Candidate[]>();
  for (const [cc, brands] of byCountry) {
    const list = [...brands.values()].sort((a, b) => score(b) - score(a) || a.mcc.localeCompare(b.mcc) || a.mnc.localeCompare(b.mnc));
    // MVNOs ride on the networks already listed; keep them only where no network operator is known.
    const mnos = list.filter((c) => !c.mvno);
    ranked.set(cc, mnos.length ? mnos : list);
  }

  const rows: OperatorTable[] = [];
  const toRow = (c: Candidate, country: string, rank: number): OperatorTable => ({
    id: operatorId(country, rank, c.mcc, c.mnc),
    country_code: country,
    name: c.name,
    mcc: c.mcc,
    mnc: c.mnc,
    network_types: networkTypeFromGenerations(c.gens),
  });

  for (const cc of countryCodes) {
    const own = ranked.get(cc);
    if (own?.length) {
      own.forEach((c, i) => rows.push(toRow(c, cc, i + 1)));
      continue;
    }
    const host = ranked.get(HOST_COUNTRY[cc] ?? '');
    if (host?.length) {
      host.slice(0, 2).forEach((c, i) => rows.push(toRow(c, cc, i + 1)));
      continue;
    }
    // Last resort (a country added to the ISO list without any known network): a plausible local
    // operator on the international shared MCC 901, so every country still has a network to show.
    rows.push({ id: operatorId(cc, 1, '901', '99'), country_code: cc, name: 'Local Partner Network', mcc: '901', mnc: '99', network_types: '3G/4G' });
  }
  return rows;
}

/** Groups operator rows by country, best first (by id, which embeds the rank). */
export function operatorsByCountry(rows: readonly OperatorTable[]): Map<string, OperatorTable[]> {
  const map = new Map<string, OperatorTable[]>();
  for (const row of [...rows].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    let list = map.get(row.country_code);
    if (!list) map.set(row.country_code, (list = []));
    list.push(row);
  }
  return map;
}
