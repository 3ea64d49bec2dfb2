import type { Insertable, Kysely, Transaction } from 'kysely';
import type { DB, PoolProfileTable } from '../../store/schema.ts';
import { newId } from '../../lib/ids.ts';
import { DomainError } from '../errors.ts';
import { parseCsv } from '../catalog/csv.ts';
import { iccidLuhnOk, isIccidShape, isMatchingId, parseActivationCode } from '../esims/identifiers.ts';
import { resetLowStockIfRecovered } from './stock.ts';
import { operatorPoolKey } from '../../supply/pool.ts';

/**
 * Import of real profile batches (live supply) from an operator's CSV file.
 *
 * Every row is checked and every problem is reported with the physical line of the file; one bad row
 * means nothing is written. Identifiers are stored exactly as given (an ICCID is never "fixed"); a failed
 * Luhn check is only a warning, because real ranges and vendor samples carry non-Luhn ICCIDs.
 */

export interface ImportIssue {
  /** 1-based line of the CSV file (0 when the problem is not tied to a line). */
  line: number;
  reason: string;
}

/** One row that passed every check that needs no database. */
export interface ProfileInput {
  line: number;
  iccid: string;
  smdpAddress: string;
  matchingId: string;
  confirmationCode: string | null;
  imsi: string | null;
  msisdn: string | null;
  pin: string | null;
  puk: string | null;
  apn: string | null;
  luhnOk: boolean;
}

export interface ParsedProfiles {
  profiles: ProfileInput[];
  errors: ImportIssue[];
  /** Luhn failures and ignored columns: accepted, but the operator should see them. */
  warnings: ImportIssue[];
}

export interface ImportProfilesOptions {
  rowsText: string;
  /**
   * Exactly one: a package code (pool = the code), an operator's MCC+MNC (pool = `op:<mccmnc>`, drawn on by
   * every package whose operatorList names it) or a country/region code (pool = `loc:<code>`).
   */
  pool: { packageCode?: string; operator?: string; locationCode?: string };
  batchName: string;
  /** Available profiles at or below this count make the pool "low" (an operator alert). */
  lowStockThreshold: number;
  nowMs: number;
  catalogHas(code: string): boolean;
}

export type ImportProfilesResult =
  | { ok: true; batchId: string; pool: string; inserted: number; warnings: ImportIssue[]; errors: [] }
  | { ok: false; batchId: null; pool: string; inserted: 0; warnings: ImportIssue[]; errors: ImportIssue[] };

/** Rows per INSERT: 17 columns × 500 = 8,500 bind parameters, well inside SQLite's and Postgres' limits. */
const INSERT_BATCH = 500;
/** ICCIDs per duplicate look-up (each is queried with and without its F pad). */
const LOOKUP_BATCH = 400;

type Column = 'iccid' | 'ac' | 'smdp_address' | 'matching_id' | 'confirmation_code' | 'imsi' | 'msisdn' | 'pin' | 'puk' | 'apn';

/** Header names (lower case, spaces/hyphens as underscores, `+` dropped) → canonical column. */
const COLUMN_ALIASES: Record<string, Column> = {
  iccid: 'iccid',
  ac: 'ac',
  activation_code: 'ac',
  activationcode: 'ac',
  lpa: 'ac',
  smdp_address: 'smdp_address',
  sm_dp_address: 'smdp_address',
  smdpaddress: 'smdp_address',
  smdp: 'smdp_address',
  matching_id: 'matching_id',
  matchingid: 'matching_id',
  confirmation_code: 'confirmation_code',
  confirmationcode: 'confirmation_code',
  imsi: 'imsi',
  msisdn: 'msisdn',
  pin: 'pin',
  pin1: 'pin',
  puk: 'puk',
  puk1: 'puk',
  apn: 'apn',
};

function canonicalHeader(name: string): string {
  return name.trim().toLowerCase().replace(/\+/g, '').replace(/[\s-]+/g, '_');
}

const SMDP_ADDRESS = /^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;
const APN_LABEL = '[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?';
const APN = new RegExp(`^${APN_LABEL}(\\.${APN_LABEL})*$`);

/** The same profile with and without the F pad (SGP.22: both identify one profile). */
export function iccidKey(iccid: string): string {
  return iccid.length === 20 && iccid.endsWith('F') ? iccid.slice(0, 19) : iccid;
}

function iccidProblem(iccid: string): string | null {
  if (!iccid) return 'iccid is empty';
  if (!isIccidShape(iccid)) return `ICCID ${JSON.stringify(iccid)} is not 19 or 20 digits (the 20th may be the padding F)`;
  if (!iccid.startsWith('89')) return `ICCID ${iccid} does not start with 89 (the telecom industry identifier)`;
  return null;
}

/**
 * Reads and checks a profile CSV without touching the database: header, field counts, identifier formats
 * and duplicate ICCIDs within the file. Problems are listed per line, sorted by line.
 */
export function parseProfileCsv(text: string): ParsedProfiles {
  const { records, errors: csvErrors } = parseCsv(text);
  const errors: ImportIssue[] = csvErrors.map((e) => ({ line: e.line, reason: e.reason }));
  const warnings: ImportIssue[] = [];
  const header = records.shift();
  if (!header) return { profiles: [], errors: [...errors, { line: 1, reason: 'the file has no header row' }], warnings };

  const columns: (Column | null)[] = [];
  const seen = new Set<Column>();
  header.fields.forEach((name, index) => {
    const column = COLUMN_ALIASES[canonicalHeader(name)] ?? null;
    if (!column) {
      if (name.trim()) warnings.push({ line: header.line, reason: `column ${JSON.stringify(name.trim())} (column ${index + 1}) is not a profile field and is ignored` });
      columns.push(null);
    } else if (seen.has(column)) {
      errors.push({ line: header.line, reason: `column ${column} appears twice (column ${index + 1})` });
      columns.push(null);
    } else {
      seen.add(column);
      columns.push(column);
    }
  });
  if (!seen.has('iccid')) errors.push({ line: header.line, reason: 'the header has no iccid column' });
  if (!seen.has('ac') && !(seen.has('smdp_address') && seen.has('matching_id'))) {
    errors.push({ line: header.line, reason: 'the header needs an ac (activation_code) column, or smdp_address and matching_id columns' });
  }
  // Without a usable header, row checks would only repeat the same problem on every line.
  if (errors.some((e) => e.line === header.line)) return { profiles: [], errors: sortIssues(errors), warnings };
  if (!records.length) {
    if (!errors.length) errors.push({ line: header.line, reason: 'the file has a header but no profile rows' });
    return { profiles: [], errors: sortIssues(errors), warnings };
  }

  const profiles: ProfileInput[] = [];
  const firstLineOf = new Map<string, number>();
  for (const record of records) {
    if (record.fields.length !== columns.length) {
      errors.push({ line: record.line, reason: `expected ${columns.length} fields as in the header, found ${record.fields.length}` });
      continue;
    }
    const value = (column: Column): string | null => {
      const index = columns.indexOf(column);
      if (index < 0) return null;
      const v = record.fields[index].trim();
      return v === '' ? null : v;
    };
    const problems: string[] = [];

    const iccid = value('iccid') ?? '';
    const iccidBad = iccidProblem(iccid);
    if (iccidBad) problems.push(iccidBad);
    else {
      const earlier = firstLineOf.get(iccidKey(iccid));
      if (earlier !== undefined) problems.push(`duplicate ICCID ${iccid}: already on line ${earlier} of this file`);
      else firstLineOf.set(iccidKey(iccid), record.line);
    }

    // Activation code, or SM-DP+ address + MatchingID; when both are given they must agree.
    let smdpAddress = value('smdp_address');
    let matchingId = value('matching_id');
    const confirmationCode = value('confirmation_code');
    const ac = value('ac');
    if (ac !== null) {
      const parsed = parseActivationCode(ac);
      if (!parsed || ac.length > 255) {
        problems.push(`activation code ${JSON.stringify(ac)} cannot be parsed (expected LPA:1$<SM-DP+ address>$<MatchingID>)`);
      } else {
        if (smdpAddress !== null && smdpAddress.toLowerCase() !== parsed.smdpAddress.toLowerCase()) {
          problems.push(`smdp_address ${smdpAddress} differs from the activation code's ${parsed.smdpAddress}`);
        }
        if (matchingId !== null && matchingId !== parsed.matchingId) {
          problems.push(`matching_id ${matchingId} differs from the activation code's ${parsed.matchingId}`);
        }
        smdpAddress = parsed.smdpAddress;
        matchingId = parsed.matchingId;
        if (parsed.confirmationRequired && confirmationCode === null) {
          problems.push('the activation code requires a confirmation code but confirmation_code is empty');
        }
      }
    } else if (smdpAddress === null || matchingId === null) {
      problems.push(
        smdpAddress === null && matchingId === null
          ? 'no activation code and no smdp_address + matching_id'
          : `no activation code and ${smdpAddress === null ? 'smdp_address' : 'matching_id'} is empty`,
      );
    }
    if (smdpAddress !== null && (!SMDP_ADDRESS.test(smdpAddress) || smdpAddress.length > 200)) {
      problems.push(`SM-DP+ address ${JSON.stringify(smdpAddress)} is not a host name`);
    }
    if (matchingId !== null && !isMatchingId(matchingId)) {
      // An AC may carry an empty token (SGP.22), but a pooled profile without one cannot be downloaded.
      problems.push(
        matchingId === ''
          ? 'matching id is empty'
          : `matching id ${JSON.stringify(matchingId)} is not 1–64 characters of 0-9, A-Z (upper case) and -`,
      );
    }
    if (confirmationCode !== null && (confirmationCode.length > 20 || /[\s$]/.test(confirmationCode))) {
      problems.push('confirmation code must be at most 20 characters without spaces or $');
    }

    const imsi = value('imsi');
    if (imsi !== null && !/^\d{6,15}$/.test(imsi)) problems.push(`IMSI ${JSON.stringify(imsi)} is not 6–15 digits`);
    let msisdn = value('msisdn');
    if (msisdn !== null) {
      // E.164, stored without the international prefix.
      const digits = msisdn.replace(/^\+/, '');
      if (!/^\d{1,15}$/.test(digits)) problems.push(`MSISDN ${JSON.stringify(msisdn)} is not an E.164 number (at most 15 digits)`);
      else msisdn = digits;
    }
    const pin = value('pin');
    if (pin !== null && !/^\d{4,8}$/.test(pin)) problems.push(`PIN ${JSON.stringify(pin)} is not 4–8 digits`);
    const puk = value('puk');
    if (puk !== null && !/^\d{8}$/.test(puk)) problems.push(`PUK ${JSON.stringify(puk)} is not 8 digits`);
    const apn = value('apn');
    if (apn !== null && (apn.length > 100 || !APN.test(apn))) problems.push(`APN ${JSON.stringify(apn)} is not a valid access point name`);

    if (problems.length) {
      for (const reason of problems) errors.push({ line: record.line, reason });
      continue;
    }
    const luhnOk = iccidLuhnOk(iccid);
    if (!luhnOk) warnings.push({ line: record.line, reason: `ICCID ${iccid} fails the Luhn check (imported, flagged luhn_ok=0)` });
    profiles.push({
      line: record.line,
      iccid,
      smdpAddress: smdpAddress!,
      matchingId: matchingId!,
      confirmationCode,
      imsi,
      msisdn,
      pin,
      puk,
      apn,
      luhnOk,
    });
  }
  return { profiles, errors: sortIssues(errors), warnings: sortIssues(warnings) };
}

function sortIssues(issues: ImportIssue[]): ImportIssue[] {
  return issues.map((issue, i) => ({ issue, i })).sort((a, b) => a.issue.line - b.issue.line || a.i - b.i).map((x) => x.issue);
}

/** Resolves the pool key; throws when not exactly one is given, or the package/operator/location is unknown. */
async function resolvePool(db: Kysely<DB>, pool: ImportProfilesOptions['pool'], catalogHas: (code: string) => boolean): Promise<string> {
  const packageCode = pool.packageCode?.trim() || undefined;
  const locationCode = pool.locationCode?.trim() || undefined;
  const operator = pool.operator?.trim() || undefined;
  if ([packageCode, locationCode, operator].filter((v) => v !== undefined).length !== 1) {
    throw new DomainError('invalid_argument', 'give exactly one of a package code, an operator (MCC+MNC) or a location code for the pool');
  }
  if (packageCode !== undefined) {
    if (!catalogHas(packageCode)) throw new DomainError('package_not_found', `package ${packageCode} does not exist`);
    return packageCode;
  }
  if (operator !== undefined) {
    if (!/^\d{5,6}$/.test(operator)) throw new DomainError('invalid_argument', `operator ${JSON.stringify(operator)} is not an MCC+MNC (5 or 6 digits, e.g. 20801)`);
    const found = await db.selectFrom('operators').select(['mcc', 'mnc']).where('mcc', '=', operator.slice(0, 3)).where('mnc', '=', operator.slice(3)).executeTakeFirst();
    if (!found) throw new DomainError('not_found', `operator ${operator} is not in the operators table (expected the MCC+MNC of a catalogue operator)`);
    return operatorPoolKey(operator);
  }
  const location = await db.selectFrom('locations').select('code').where('code', '=', locationCode!.toUpperCase()).executeTakeFirst();
  if (!location) throw new DomainError('not_found', `location ${locationCode} does not exist (expected a country or region code)`);
  return `loc:${location.code}`;
}

/** ICCIDs (by F-pad-insensitive key) that already are in pool_profiles. */
async function existingIccids(db: Kysely<DB> | Transaction<DB>, iccids: string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (let i = 0; i < iccids.length; i += LOOKUP_BATCH) {
    const keys = iccids.slice(i, i + LOOKUP_BATCH).map(iccidKey);
    const forms = [...new Set(keys.flatMap((k) => (k.length === 19 ? [k, `${k}F`] : [k])))];
    const rows = await db.selectFrom('pool_profiles').select('iccid').where('iccid', 'in', forms).execute();
    for (const row of rows) found.add(iccidKey(row.iccid));
  }
  return found;
}

function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || /UNIQUE constraint failed/i.test(e?.message ?? '');
}

/**
 * Validates a whole file and, when every row is good, writes it in one transaction: one profile_batches row
 * and its pool_profiles. When any row is bad nothing is written and every problem is returned.
 * Throws a DomainError for a bad pool (neither or both given, unknown package or location).
 */
export async function importProfiles(db: Kysely<DB>, options: ImportProfilesOptions): Promise<ImportProfilesResult> {
  const { rowsText, batchName, lowStockThreshold, nowMs } = options;
  if (!Number.isInteger(lowStockThreshold) || lowStockThreshold < 0) {
    throw new DomainError('invalid_argument', 'the low-stock threshold must be a whole number >= 0');
  }
  const name = batchName.trim();
  if (!name || name.length > 200) throw new DomainError('invalid_argument', 'the batch name must be 1–200 characters');
  const pool = await resolvePool(db, options.pool, options.catalogHas);

  const parsed = parseProfileCsv(rowsText);
  const fail = (errors: ImportIssue[]): ImportProfilesResult => ({ ok: false, batchId: null, pool, inserted: 0, warnings: parsed.warnings, errors });

  const duplicatesOf = async (conn: Kysely<DB> | Transaction<DB>): Promise<ImportIssue[]> => {
    const existing = await existingIccids(conn, parsed.profiles.map((p) => p.iccid));
    return parsed.profiles
      .filter((p) => existing.has(iccidKey(p.iccid)))
      .map((p) => ({ line: p.line, reason: `ICCID ${p.iccid} is already in the database (imported earlier)` }));
  };

  // Look up database duplicates even when the file has other errors, so one run lists every problem.
  const inDatabase = await duplicatesOf(db);
  if (parsed.errors.length || inDatabase.length) return fail(sortIssues([...parsed.errors, ...inDatabase]));

  const batchId = newId('pbt', nowMs);
  try {
    const raced = await db.transaction().execute(async (trx) => {
      // Re-checked inside the transaction: another import may have committed since the first look.
      const again = await duplicatesOf(trx);
      if (again.length) return again;
      await trx
        .insertInto('profile_batches')
        .values({ id: batchId, name, pool, profile_count: parsed.profiles.length, low_stock_threshold: lowStockThreshold, created_at: nowMs })
        .execute();
      const rows: Insertable<PoolProfileTable>[] = parsed.profiles.map((p) => ({
        id: newId('ppf', nowMs),
        batch_id: batchId,
        pool,
        iccid: p.iccid,
        smdp_address: p.smdpAddress,
        matching_id: p.matchingId,
        confirmation_code: p.confirmationCode,
        imsi: p.imsi,
        msisdn: p.msisdn,
        pin: p.pin,
        puk: p.puk,
        apn: p.apn,
        luhn_ok: p.luhnOk ? 1 : 0,
        status: 'available',
        assigned_esim_id: null,
        created_at: nowMs,
        assigned_at: null,
      }));
      for (let i = 0; i < rows.length; i += INSERT_BATCH) {
        await trx.insertInto('pool_profiles').values(rows.slice(i, i + INSERT_BATCH)).execute();
      }
      // New stock may lift the pool back above its threshold: the next crossing alerts again.
      await resetLowStockIfRecovered(trx, pool);
      return null;
    });
    if (raced) return fail(raced);
  } catch (error) {
    if (isUniqueViolation(error)) {
      throw new DomainError('conflict', 'an ICCID of this file was imported at the same time by another import; run the import again to see which');
    }
    throw error;
  }
  return { ok: true, batchId, pool, inserted: parsed.profiles.length, warnings: parsed.warnings, errors: [] };
}
