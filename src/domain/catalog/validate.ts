import { FIELDS } from './fields.ts';

/** A problem with one input row; line 0 means the file as a whole (e.g. it is not JSON at all). */
export interface ImportIssue {
  line: number;
  field?: string;
  reason: string;
}

/** One input row: CSV line (or JSON array index + 1) and its values under canonical eSIM Access keys. */
export interface CatalogInputRow {
  line: number;
  values: Record<string, unknown>;
}

/** A row that passed every check, with typed values. Optional fields are undefined when not given. */
export interface PackageInput {
  line: number;
  packageCode: string;
  slug: string;
  name: string;
  type: 'BASE' | 'TOPUP';
  price: number;
  currencyCode: string;
  volume: number;
  smsStatus: number;
  dataType: number;
  unusedValidTime: number;
  duration: number;
  durationUnit: string;
  /** Covered country codes. */
  location: string[];
  locationCode: string;
  description: string;
  activeType: number;
  retailPrice: number;
  speed?: string;
  ipExport: string;
  supportTopUpType?: number;
  fupPolicy: string;
  topupGroup: string;
  isDaypass: number;
  favorite?: number;
  status?: 'active' | 'retired';
  sortOrder?: number;
  supply?: string;
}

/** What the database already holds, for checks that look beyond the file. */
export interface ValidationContext {
  /** code → type (1 country, 2 region). */
  locationTypes: ReadonlyMap<string, number>;
  regionMembers: ReadonlyMap<string, readonly string[]>;
  existing: ReadonlyMap<string, { slug: string; type: string; topup_group: string; status: string }>;
  /** slug → package_code of the package holding it. */
  slugOwners: ReadonlyMap<string, string>;
}

/** eSIM Access writes the UK as "UK" in ipExport, not the ISO "GB". */
function defaultIpExport(locationCode: string, isRegion: boolean): string {
  if (isRegion) return 'UK';
  return locationCode === 'GB' ? 'UK' : locationCode;
}

/** Field-level conversion and per-row rules; returns null (with issues recorded) when the row is bad. */
function convertRow(row: CatalogInputRow, ctx: ValidationContext, issues: ImportIssue[]): PackageInput | null {
  const v: Record<string, any> = {};
  const before = issues.length;
  const problem = (field: string | undefined, reason: string) => issues.push({ line: row.line, ...(field ? { field } : {}), reason });

  for (const spec of FIELDS) {
    const raw = row.values[spec.key];
    if (raw === undefined || raw === null || raw === '') {
      if (spec.required) problem(spec.key, `missing required field ${spec.key}`);
      continue;
    }
    const result = spec.convert(raw);
    if ('error' in result) problem(spec.key, `${spec.key} ${result.error}`);
    else v[spec.key] = result.value;
  }

  const locationCode: string | undefined = v.locationCode?.toUpperCase();
  const locationType = locationCode ? ctx.locationTypes.get(locationCode) : undefined;
  if (locationCode && locationType === undefined) problem('locationCode', `unknown location code ${locationCode}`);

  let location: string[] = [];
  if (v.location !== undefined) {
    location = [...new Set((v.location as string).split(',').map((c) => c.trim().toUpperCase()))];
    const unknown = location.filter((c) => ctx.locationTypes.get(c) !== 1);
    if (unknown.length) problem('location', `unknown country code${unknown.length > 1 ? 's' : ''} in location: ${unknown.join(', ')}`);
    if (locationType === 1 && !location.includes(locationCode!)) {
      problem('location', `location ${v.location} does not include the package's country ${locationCode}`);
    }
  } else if (locationCode && locationType !== undefined) {
    location = locationType === 1 ? [locationCode] : [...(ctx.regionMembers.get(locationCode) ?? [])];
  }

  const isDaypass = v.isDaypass ?? 0;
  if (isDaypass === 1 && v.duration !== undefined && v.duration !== 1) {
    problem('duration', `a day pass (isDaypass 1) is priced per day, so duration must be 1, got ${v.duration}`);
  }
  if (v.retailPrice !== undefined && v.price !== undefined && v.retailPrice < v.price) {
    problem('retailPrice', `retailPrice ${v.retailPrice} is below the wholesale price ${v.price}`);
  }
  if (issues.length > before) return null;

  return {
    line: row.line,
    packageCode: v.packageCode,
    slug: v.slug,
    name: v.name,
    type: v.type ?? 'BASE',
    price: v.price,
    currencyCode: v.currencyCode ?? 'USD',
    volume: v.volume,
    smsStatus: v.smsStatus ?? 0,
    dataType: v.dataType ?? 1,
    unusedValidTime: v.unusedValidTime ?? 180,
    duration: v.duration,
    durationUnit: v.durationUnit ?? 'DAY',
    location,
    locationCode: locationCode!,
    description: v.description ?? v.name,
    activeType: v.activeType ?? 2,
    // Without a suggestion, retail is 1.5× wholesale (mid-range of the sandbox catalogue's spread).
    retailPrice: v.retailPrice ?? Math.ceil((v.price * 1.5) / 100) * 100,
    speed: v.speed,
    ipExport: (v.ipExport as string | undefined)?.toUpperCase() ?? defaultIpExport(locationCode!, locationType === 2),
    supportTopUpType: v.supportTopUpType,
    fupPolicy: v.fupPolicy ?? '',
    // Top-ups fit packages of the same location unless the file says otherwise (as in the sandbox).
    topupGroup: v.topupGroup ?? locationCode!,
    isDaypass,
    favorite: v.favorite,
    status: v.status,
    sortOrder: v.sortOrder,
    supply: v.supply,
  };
}

export interface ValidationResult {
  packages: PackageInput[];
  issues: ImportIssue[];
}

/**
 * Validates every row (never stopping at the first problem) against the field rules, the other rows
 * of the file and the database, so an operator can fix the whole file in one pass.
 */
export function validateRows(rows: readonly CatalogInputRow[], ctx: ValidationContext): ValidationResult {
  const issues: ImportIssue[] = [];
  const converted: PackageInput[] = [];
  const codeLines = new Map<string, number>();
  const slugLines = new Map<string, number>();

  for (const row of rows) {
    const pkg = convertRow(row, ctx, issues);
    // Duplicates are checked on the raw values too, so a bad row still claims its code and slug.
    const code = typeof row.values.packageCode === 'string' || typeof row.values.packageCode === 'number' ? String(row.values.packageCode).trim() : '';
    const slug = typeof row.values.slug === 'string' || typeof row.values.slug === 'number' ? String(row.values.slug).trim() : '';
    let duplicate = false;
    if (code) {
      const first = codeLines.get(code);
      if (first !== undefined) {
        issues.push({ line: row.line, field: 'packageCode', reason: `duplicate packageCode ${code} (first on line ${first})` });
        duplicate = true;
      } else codeLines.set(code, row.line);
    }
    if (slug) {
      const first = slugLines.get(slug);
      if (first !== undefined) {
        issues.push({ line: row.line, field: 'slug', reason: `duplicate slug ${slug} (first on line ${first})` });
        duplicate = true;
      } else slugLines.set(slug, row.line);
    }
    if (!pkg || duplicate) continue;
    const owner = ctx.slugOwners.get(pkg.slug);
    if (owner !== undefined && owner !== pkg.packageCode) {
      issues.push({ line: row.line, field: 'slug', reason: `slug ${pkg.slug} already belongs to package ${owner}` });
      continue;
    }
    converted.push(pkg);
  }

  // A top-up is only usable if some active base package shares its group, after this import.
  const baseGroups = new Set<string>();
  const fileCodes = new Set(converted.map((p) => p.packageCode));
  for (const [code, p] of ctx.existing) {
    if (!fileCodes.has(code) && p.type === 'BASE' && p.status === 'active') baseGroups.add(p.topup_group);
  }
  for (const p of converted) {
    const status = p.status ?? ctx.existing.get(p.packageCode)?.status ?? 'active';
    if (p.type === 'BASE' && status === 'active') baseGroups.add(p.topupGroup);
  }
  for (const p of converted) {
    if (p.type === 'TOPUP' && !baseGroups.has(p.topupGroup)) {
      issues.push({ line: p.line, field: 'topupGroup', reason: `TOPUP package's topupGroup ${p.topupGroup} has no active BASE package` });
    }
  }

  issues.sort((a, b) => a.line - b.line);
  return { packages: issues.length ? [] : converted, issues };
}
