import { bumpCatalogGeneration } from './generation.ts';
import type { Kysely } from 'kysely';
import type { DB, PackageTable } from '../../store/schema.ts';
import type { Store } from '../../store/connect.ts';
import { parseCsv } from './csv.ts';
import { fieldByName, IGNORED_KEYS } from './fields.ts';
import { NetworkListBuilder } from './networks.ts';
import { operatorsByCountry } from './operators.ts';
import { INSERT_BATCH } from './seed.ts';
import { validateRows, type CatalogInputRow, type ImportIssue, type PackageInput, type ValidationContext } from './validate.ts';

export type { CatalogInputRow, ImportIssue } from './validate.ts';

export interface ParsedCatalog {
  rows: CatalogInputRow[];
  /** Problems found while reading the file (bad CSV quoting, unknown columns, invalid JSON). */
  errors: ImportIssue[];
}

export type ImportResult =
  | { ok: true; inserted: number; updated: number; errors: [] }
  | { ok: false; inserted: 0; updated: 0; errors: ImportIssue[] };

/** Empty cells and nulls mean "not given", so optional fields take their defaults. */
function isAbsent(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

function parseCsvCatalog(text: string): ParsedCatalog {
  const { records, errors: csvErrors } = parseCsv(text);
  const errors: ImportIssue[] = csvErrors.map((e) => ({ line: e.line, reason: e.reason }));
  const header = records.shift();
  if (!header) return { rows: [], errors: [...errors, { line: 0, reason: 'the file has no header row' }] };

  // Column index → canonical key, or null for accepted-but-ignored columns.
  const columns: (string | null)[] = [];
  const seen = new Set<string>();
  header.fields.forEach((name, index) => {
    const spec = fieldByName(name);
    if (!spec) {
      if (IGNORED_KEYS.has(name.trim().toLowerCase())) columns.push(null);
      else {
        errors.push({ line: header.line, reason: `unknown column ${JSON.stringify(name.trim())} (column ${index + 1})` });
        columns.push(null);
      }
      return;
    }
    if (seen.has(spec.key)) errors.push({ line: header.line, reason: `column ${spec.key} appears twice` });
    seen.add(spec.key);
    columns.push(spec.key);
  });

  const rows: CatalogInputRow[] = [];
  for (const record of records) {
    if (record.fields.length !== columns.length) {
      errors.push({ line: record.line, reason: `expected ${columns.length} fields as in the header, found ${record.fields.length}` });
      continue;
    }
    const values: Record<string, unknown> = {};
    record.fields.forEach((value, i) => {
      const key = columns[i];
      if (key && !isAbsent(value)) values[key] = value.trim();
    });
    rows.push({ line: record.line, values });
  }
  return { rows, errors };
}

function parseJsonCatalog(text: string): ParsedCatalog {
  let data: unknown;
  try {
    data = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    return { rows: [], errors: [{ line: 0, reason: `not valid JSON: ${(err as Error).message}` }] };
  }
  // Also accept a saved package/list answer: {packageList:[…]} or the whole envelope {obj:{packageList:[…]}}.
  const list = Array.isArray(data) ? data : (data as any)?.packageList ?? (data as any)?.obj?.packageList;
  if (!Array.isArray(list)) {
    return { rows: [], errors: [{ line: 0, reason: 'expected a JSON array of package objects (or {"packageList": [...]})' }] };
  }
  const rows: CatalogInputRow[] = [];
  const errors: ImportIssue[] = [];
  list.forEach((item, index) => {
    const line = index + 1;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      errors.push({ line, reason: 'entry is not an object' });
      return;
    }
    const values: Record<string, unknown> = {};
    let bad = false;
    for (const [key, value] of Object.entries(item)) {
      const spec = fieldByName(key);
      if (!spec) {
        if (!IGNORED_KEYS.has(key.toLowerCase())) {
          errors.push({ line, field: key, reason: `unknown field ${JSON.stringify(key)}` });
          bad = true;
        }
        continue;
      }
      if (!isAbsent(value)) values[spec.key] = value;
    }
    if (!bad) rows.push({ line, values });
  });
  return { rows, errors };
}

/**
 * Reads a catalogue file: CSV with a header row of eSIM Access field names, or a JSON array of objects
 * with the same keys. Rows are not validated here (that needs the database); see importCatalog.
 */
export function parseCatalogFile(text: string, format: 'csv' | 'json'): ParsedCatalog {
  return format === 'csv' ? parseCsvCatalog(text) : parseJsonCatalog(text);
}

async function loadValidationContext(db: Kysely<DB>) {
  // Sequential on purpose: inside a transaction every query shares one connection anyway.
  const locations = await db.selectFrom('locations').select(['code', 'name', 'type']).execute();
  const members = await db.selectFrom('location_members').select(['region_code', 'country_code']).orderBy('region_code').orderBy('country_code').execute();
  const operators = await db.selectFrom('operators').selectAll().orderBy('id').execute();
  const packages = await db
    .selectFrom('packages')
    .select(['package_code', 'slug', 'type', 'topup_group', 'status', 'sort_order', 'favorite', 'supply', 'created_at'])
    .execute();
  const regionMembers = new Map<string, string[]>();
  for (const m of members) {
    let list = regionMembers.get(m.region_code);
    if (!list) regionMembers.set(m.region_code, (list = []));
    list.push(m.country_code);
  }
  const names = new Map(locations.map((l) => [l.code, l.name]));
  const ctx: ValidationContext = {
    locationTypes: new Map(locations.map((l) => [l.code, l.type])),
    regionMembers,
    existing: new Map(packages.map((p) => [p.package_code, p])),
    slugOwners: new Map(packages.map((p) => [p.slug, p.package_code])),
  };
  return { ctx, names, operators, packages };
}

/** Every column but the key and created_at is replaced when a package is re-imported. */
const UPDATED_COLUMNS = [
  'slug', 'name', 'type', 'price', 'currency_code', 'volume', 'sms_status', 'data_type', 'unused_valid_time', 'duration',
  'duration_unit', 'location_code', 'location', 'description', 'active_type', 'favorite', 'retail_price', 'speed',
  'ip_export', 'support_topup_type', 'fup_policy', 'is_daypass', 'topup_group', 'networks_json', 'supply', 'status',
  'sort_order', 'updated_at',
] as const satisfies readonly (keyof PackageTable)[];

/**
 * Validates every row and, only if all are good, upserts them (by packageCode) in one transaction.
 * Accepts parseCatalogFile's result directly (its read errors are reported with the row errors) or rows.
 * Callers holding a CatalogCache must invalidate it after a successful import.
 */
export async function importCatalog(store: Store, input: ParsedCatalog | CatalogInputRow[], nowMs: number): Promise<ImportResult> {
  const rows = Array.isArray(input) ? input : input.rows;
  const readErrors = Array.isArray(input) ? [] : input.errors;

  const result = await store.db.transaction().execute(async (trx): Promise<ImportResult> => {
    const { ctx, names, operators, packages: existingRows } = await loadValidationContext(trx);
    const { packages, issues } = validateRows(rows, ctx);
    const errors = [...readErrors, ...issues].sort((a, b) => a.line - b.line);
    if (errors.length) return { ok: false, inserted: 0, updated: 0, errors };

    const existing = new Map(existingRows.map((p) => [p.package_code, p]));
    const networks = new NetworkListBuilder(names, operatorsByCountry(operators));
    const groupsWithTopups = topupGroupsAfterImport(existingRows, packages);
    let nextSortOrder = existingRows.reduce((max, p) => Math.max(max, p.sort_order), 0);
    let inserted = 0;

    const out: PackageTable[] = packages.map((p) => {
      const before = existing.get(p.packageCode);
      if (!before) inserted += 1;
      return toPackageRow(p, {
        networks,
        nowMs,
        createdAt: before?.created_at ?? nowMs,
        // Unset presentation fields keep their current value on update.
        sortOrder: p.sortOrder ?? before?.sort_order ?? ++nextSortOrder,
        status: p.status ?? (before?.status as PackageTable['status'] | undefined) ?? 'active',
        favorite: p.favorite ?? before?.favorite ?? 0,
        // Operator-imported packages are fulfilled from uploaded profiles unless the file names a supply.
        supply: p.supply ?? before?.supply ?? 'pool',
        supportTopUpType: p.supportTopUpType ?? (groupsWithTopups.has(p.topupGroup) ? 2 : 1),
      });
    });

    for (let i = 0; i < out.length; i += INSERT_BATCH) {
      await trx
        .insertInto('packages')
        .values(out.slice(i, i + INSERT_BATCH))
        .onConflict((oc) =>
          oc.column('package_code').doUpdateSet((eb) => Object.fromEntries(UPDATED_COLUMNS.map((c) => [c, eb.ref(`excluded.${c}`)])) as any),
        )
        .execute();
    }
    return { ok: true, inserted, updated: out.length - inserted, errors: [] };
  });
  // Running servers (other processes too) reload the catalogue.
  if (result.ok) await bumpCatalogGeneration(store.db);
  return result;
}

/** Groups that will have at least one active TOPUP package once the import is applied. */
function topupGroupsAfterImport(existing: readonly { package_code: string; type: string; topup_group: string; status: string }[], incoming: readonly PackageInput[]): Set<string> {
  const incomingCodes = new Set(incoming.map((p) => p.packageCode));
  const statusBefore = new Map(existing.map((p) => [p.package_code, p.status]));
  const groups = new Set<string>();
  for (const p of existing) if (!incomingCodes.has(p.package_code) && p.type === 'TOPUP' && p.status === 'active') groups.add(p.topup_group);
  for (const p of incoming) {
    if (p.type === 'TOPUP' && (p.status ?? statusBefore.get(p.packageCode) ?? 'active') === 'active') groups.add(p.topupGroup);
  }
  return groups;
}

interface RowExtras {
  networks: NetworkListBuilder;
  nowMs: number;
  createdAt: number;
  sortOrder: number;
  status: PackageTable['status'];
  favorite: number;
  supply: string;
  supportTopUpType: number;
}

function toPackageRow(p: PackageInput, x: RowExtras): PackageTable {
  return {
    package_code: p.packageCode,
    slug: p.slug,
    name: p.name,
    type: p.type,
    price: p.price,
    currency_code: p.currencyCode,
    volume: p.volume,
    sms_status: p.smsStatus,
    data_type: p.dataType,
    unused_valid_time: p.unusedValidTime,
    duration: p.duration,
    duration_unit: p.durationUnit,
    location_code: p.locationCode,
    location: p.location.join(','),
    description: p.description,
    active_type: p.activeType,
    favorite: x.favorite,
    retail_price: p.retailPrice,
    speed: p.speed ?? x.networks.speed(p.location),
    ip_export: p.ipExport,
    support_topup_type: x.supportTopUpType,
    fup_policy: p.fupPolicy,
    is_daypass: p.isDaypass,
    topup_group: p.topupGroup,
    networks_json: x.networks.toJson(p.location),
    supply: x.supply,
    status: x.status,
    sort_order: x.sortOrder,
    created_at: x.createdAt,
    updated_at: x.nowMs,
  };
}
