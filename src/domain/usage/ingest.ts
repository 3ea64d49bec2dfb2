import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../../store/schema.ts';
import type { Store } from '../../store/connect.ts';
import { consumeData, loadMany } from '../esims/lifecycle.ts';
import { parseCsv } from '../catalog/csv.ts';

/** One usage record from a supplier: bytes used by an eSIM in a period. */
export interface UsageRecordInput {
  iccid?: string;
  esimTranNo?: string;
  bytes: number;
  startMs?: number;
  endMs?: number;
  /** The supplier's own record id: the best deduplication key when there is one. */
  recordId?: string;
  /** Where the record came from in its file (CSV line), for reports. */
  line?: number;
}

export interface IngestReport {
  received: number;
  applied: number;
  duplicates: number;
  unknown: Array<{ line?: number; ref: string }>;
  esimsUpdated: number;
}

/**
 * Records per transaction. Bytes are summed per eSIM within a batch before they are applied, so a bigger
 * batch means fewer eSIM updates per record (measured on 1,000 eSIMs: 1,000 per batch gave 11.8k records/s,
 * 20,000 gave 57k; see BENCHMARKS.md).
 */
const BATCH = 20_000;
/** Ids per IN list: well inside SQLite's and PostgreSQL's parameter limits. */
const CHUNK = 1000;

type IngestStore = Pick<Store, 'db' | 'dialect' | 'fast'>;

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function recordKey(source: string, esimId: string, r: UsageRecordInput): string {
  if (r.recordId) return `id:${source}:${r.recordId}`.slice(0, 200);
  return `h:${createHash('sha1').update(`${esimId}|${r.startMs ?? ''}|${r.endMs ?? ''}|${r.bytes}`).digest('hex')}`;
}

/**
 * Ingests usage records in batches: each batch is one transaction that stores the records (a duplicate is
 * stored once: the key is the primary key) and applies the new bytes to each eSIM, with its thresholds,
 * depletion and events. A record for an unknown eSIM is reported, never guessed.
 */
export async function ingestUsage(store: IngestStore, records: UsageRecordInput[], source: string, nowMs: number): Promise<IngestReport> {
  const report: IngestReport = { received: records.length, applied: 0, duplicates: 0, unknown: [], esimsUpdated: 0 };
  for (let i = 0; i < records.length; i += BATCH) {
    await ingestBatch(store, records.slice(i, i + BATCH), source, nowMs, report);
  }
  return report;
}

async function ingestBatch({ db, dialect, fast }: IngestStore, batch: UsageRecordInput[], source: string, nowMs: number, report: IngestReport): Promise<void> {
  const iccids = [...new Set(batch.filter((r) => r.iccid && !r.esimTranNo).map((r) => r.iccid!))];
  const tranNos = [...new Set(batch.filter((r) => r.esimTranNo).map((r) => r.esimTranNo!))];
  await db.transaction().execute(async (trx) => {
    const byIccid = new Map<string, string>();
    const byTranNo = new Map<string, string>();
    for (const part of chunks(iccids, CHUNK)) {
      // ICCIDs are reused: a record belongs to the newest eSIM with that ICCID.
      const rows = await trx.selectFrom('esims').select(['id', 'iccid', 'created_at']).where('iccid', 'in', part).orderBy('created_at').execute();
      for (const r of rows) byIccid.set(r.iccid, r.id);
    }
    for (const part of chunks(tranNos, CHUNK)) {
      const rows = await trx.selectFrom('esims').select(['id', 'esim_tran_no']).where('esim_tran_no', 'in', part).execute();
      for (const r of rows) byTranNo.set(r.esim_tran_no, r.id);
    }
    const rows: Array<{ record_key: string; esim_id: string; bytes: number; period_start: number | null; period_end: number | null; source: string; received_at: number }> = [];
    const seen = new Set<string>();
    for (const r of batch) {
      const esimId = r.esimTranNo ? byTranNo.get(r.esimTranNo) : r.iccid ? byIccid.get(r.iccid) : undefined;
      if (!esimId) {
        report.unknown.push({ line: r.line, ref: r.esimTranNo ?? r.iccid ?? '' });
        continue;
      }
      const key = recordKey(source, esimId, r);
      if (seen.has(key)) {
        report.duplicates++;
        continue;
      }
      seen.add(key);
      rows.push({ record_key: key, esim_id: esimId, bytes: r.bytes, period_start: r.startMs ?? null, period_end: r.endMs ?? null, source, received_at: nowMs });
    }
    if (!rows.length) return;
    // Inserted grouped by eSIM: the (esim_id, received_at) index then grows in runs rather than at a random place
    // per record (SQLite inserted a 20,000-record batch into a large table about 1.8 times faster), and the
    // eSIMs below are updated in one order in every batch (concurrent ingests on PostgreSQL cannot deadlock).
    rows.sort((a, b) => (a.esim_id < b.esim_id ? -1 : a.esim_id > b.esim_id ? 1 : 0));
    const fresh = await fast.insertUsageRecords(trx, rows);
    report.duplicates += rows.length - fresh.size;
    const perEsim = new Map<string, { bytes: number; atMs: number }>();
    for (const row of rows) {
      if (!fresh.has(row.record_key)) continue;
      const entry = perEsim.get(row.esim_id) ?? { bytes: 0, atMs: 0 };
      entry.bytes += row.bytes;
      entry.atMs = Math.max(entry.atMs, row.period_end ?? nowMs);
      perEsim.set(row.esim_id, entry);
      report.applied++;
    }
    const used = [...perEsim].filter(([, entry]) => entry.bytes > 0);
    const loaded = await loadMany(trx, used.map(([esimId]) => esimId), dialect === 'postgres');
    for (const [esimId, { bytes, atMs }] of used) await consumeData(trx, loaded.get(esimId)!, bytes, atMs, false);
    report.esimsUpdated += perEsim.size;
  });
}

/** Parses a usage CSV: header with iccid or esimTranNo, bytes, and optional start, end, recordId. */
export function parseUsageCsv(text: string): { records: UsageRecordInput[]; errors: Array<{ line: number; reason: string }> } {
  const parsed = parseCsv(text);
  const errors: Array<{ line: number; reason: string }> = [...parsed.errors];
  const records: UsageRecordInput[] = [];
  const rows = parsed.records;
  if (!rows.length) return { records, errors: [{ line: 1, reason: 'the file is empty' }] };
  const header = rows[0].fields.map((h) => h.trim().toLowerCase().replace(/[_\s-]/g, ''));
  const col = (name: string) => header.indexOf(name);
  const iccidCol = col('iccid');
  const tranCol = col('esimtranno');
  const bytesCol = col('bytes');
  const startCol = col('start');
  const endCol = col('end');
  const idCol = col('recordid');
  if (bytesCol < 0 || (iccidCol < 0 && tranCol < 0)) return { records, errors: [{ line: 1, reason: 'the header needs bytes and iccid or esimTranNo' }] };
  for (let i = 1; i < rows.length; i++) {
    const row = rows[i].fields;
    const line = rows[i].line;
    if (row.every((c) => c.trim() === '')) continue;
    const iccid = iccidCol >= 0 ? row[iccidCol]?.trim() : '';
    const esimTranNo = tranCol >= 0 ? row[tranCol]?.trim() : '';
    const bytesText = row[bytesCol]?.trim() ?? '';
    if (!iccid && !esimTranNo) {
      errors.push({ line, reason: 'neither iccid nor esimTranNo' });
      continue;
    }
    if (!/^\d{1,15}$/.test(bytesText)) {
      errors.push({ line, reason: `bytes must be a whole number (got ${JSON.stringify(bytesText)})` });
      continue;
    }
    const time = (index: number, name: string): number | undefined | null => {
      if (index < 0 || !row[index]?.trim()) return undefined;
      const ms = Date.parse(row[index].trim());
      if (Number.isNaN(ms)) {
        errors.push({ line, reason: `${name} is not a time` });
        return null;
      }
      return ms;
    };
    const startMs = time(startCol, 'start');
    const endMs = time(endCol, 'end');
    if (startMs === null || endMs === null) continue;
    records.push({ iccid: iccid || undefined, esimTranNo: esimTranNo || undefined, bytes: Number(bytesText), startMs, endMs, recordId: idCol >= 0 ? row[idCol]?.trim() || undefined : undefined, line });
  }
  return { records, errors };
}
