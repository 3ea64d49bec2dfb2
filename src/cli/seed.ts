import type { Command } from 'commander';
import { sql, type Insertable } from 'kysely';
import type { AppContext } from '../context.ts';
import type { BundleTable, EsimTable, OrderItemTable, OrderTable, PackageTable, UsageRecordTable } from '../store/schema.ts';
import { randomBase58 } from '../lib/ids.ts';
import { activationCode, makeEid, makeIccid, makeMatchingId, QR_TOKEN_CHARS, SHORT_CODE_CHARS } from '../domain/esims/identifiers.ts';
import { alertLevelFor } from '../domain/esims/lifecycle.ts';
import { formatEsimTranNo, formatOrderNo, reserveSequence } from '../domain/ordering/numbers.ts';
import { print, withContext } from './context.ts';

export interface SeedOptions {
  partners: number;
  esims: number;
  usage: number;
  /** eSIMs per order. */
  perOrder: number;
  /** eSIMs per transaction (with their orders, bundles and usage records). */
  batch: number;
  onProgress?: (phase: string, done: number, total: number) => void;
}

export interface SeedResult {
  partners: Array<{ partnerId: string; accessCode: string; secretKey: string }>;
  orders: number;
  esims: number;
  usage: number;
  /** A few of the seeded identifiers of partner 0 (for benchmarks). */
  sample: { orderNos: string[]; iccids: string[] };
  ms: number;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** Bytes of seeded usage record i: between 1 kB and 5 MB, spread without a pattern a benchmark could exploit. */
export const seededBytes = (i: number): number => 1_000 + ((i * 7919) % 5_000_000);

/**
 * Synthetic data for benchmarks: sandbox partners, ready orders of eSIMs (each with its base bundle) spread
 * over the partners, and usage records spread over the eSIMs (record i belongs to eSIM i mod esims).
 * Written through the store's bulkInsert, many rows per transaction, bypassing the domain services (no
 * allocation jobs, no events). An eSIM and its usage records are written in the same transaction, with the eSIM and
 * its bundle already as ingesting those records leaves them (consumeData with live-supplier semantics):
 * installed and enabled, IN_USE (USED_UP once the bundle is spent), order_usage the sum of its records,
 * the bundle's used_bytes capped at its volume, the usage alert level crossed. Orders are created 3 to 2
 * hours ago and each eSIM's usage falls within the hour after its creation, so nothing has expired and no
 * scheduler scan has work to catch up on. Seeded orders carry no ledger charges: partners' balances stay
 * consistent with their transfers (their deposits only). Numbers (orderNo, esimTranNo) come from the same
 * sequences real orders use, so they never collide.
 */
export async function seedData(ctx: AppContext, options: SeedOptions): Promise<SeedResult> {
  const started = Date.now();
  const db = ctx.store.db;
  const progress = options.onProgress ?? (() => undefined);
  const nowMs = Date.now();
  if (options.usage > 0 && options.esims === 0) throw new Error('--usage needs --esims: usage is seeded with the eSIMs it belongs to');

  const partners: SeedResult['partners'] = [];
  progress('partners', 0, options.partners);
  for (let i = 0; i < options.partners; i += 25) {
    const chunk = Array.from({ length: Math.min(25, options.partners - i) }, (_, j) =>
      ctx.partners.create({ name: `Seed partner ${i + j + 1}`, environment: 'sandbox', depositMinor: 1_000_000 * 10_000 }, nowMs),
    );
    for (const { partner, key } of await Promise.all(chunk)) partners.push({ partnerId: partner.id, accessCode: key.accessCode, secretKey: key.secretKey });
    progress('partners', partners.length, options.partners);
  }
  if (!partners.length && options.esims > 0) throw new Error('--esims needs at least one partner');

  // A plan with a data volume: its bundle accounting (used_bytes against volume) is what seeded usage fills in.
  const pkg = ctx.catalog.all().find((p) => p.type === 'BASE' && p.data_type === 1 && Number(p.volume) > 0);
  if (!pkg && options.esims > 0) throw new Error('the catalogue has no BASE package with a data volume');
  const perOrder = Math.max(1, options.perOrder);
  const orderCount = Math.ceil(options.esims / perOrder);

  const firstOrderSeq = orderCount ? await reserveSequence(db, 'order', orderCount) : 0;
  const firstEsimSeq = options.esims ? await reserveSequence(db, 'esim', options.esims) : 0;
  const plan: SeedPlan = { ctx, options, partners, orderCount, perOrder, firstOrderSeq, firstEsimSeq, runTag: randomBase58(6), nowMs };
  const sample: SeedResult['sample'] = { orderNos: [], iccids: [] };

  const phase = options.usage > 0 ? 'esims+usage' : 'esims';
  progress(phase, 0, options.esims);
  let esimsMade = 0;
  let usageMade = 0;
  // PostgreSQL inserts in processes of its own: the next batch is built while two transactions insert (a
  // second one in flight took a 100k-eSIM seed from 37 to 29 s in a pair of runs). SQLite's one connection
  // runs one at a time.
  const writesInFlight = ctx.store.dialect === 'postgres' ? 2 : 1;
  const writing = new Set<Promise<void>>();
  const ordersPerTx = Math.max(1, Math.floor(options.batch / perOrder));
  for (let o = 0; pkg && o < orderCount; o += ordersPerTx) {
    const batch = buildBatch(plan, pkg, o, Math.min(orderCount, o + ordersPerTx), sample);
    while (writing.size >= writesInFlight) await Promise.race(writing);
    const written: Promise<void> = writeBatch(ctx, batch).then(() => {
      writing.delete(written);
      esimsMade += batch.esims.length;
      usageMade += batch.usage.length;
      progress(phase, esimsMade, options.esims);
    });
    writing.add(written);
    // Its failure surfaces through race or all; a second one failing meanwhile must not crash the process.
    written.catch(() => undefined);
  }
  await Promise.all(writing);
  if (usageMade !== options.usage) throw new Error(`seeded ${usageMade} usage records, expected ${options.usage}`);
  await analyze(ctx);
  return { partners, orders: orderCount, esims: options.esims, usage: options.usage, sample, ms: Date.now() - started };
}

/**
 * Fresh planner statistics for the seeded tables. On PostgreSQL a bare `analyze` covers every schema of the
 * database (other tenants' and tests' too, seconds on a shared one), so it names this schema's tables.
 */
async function analyze(ctx: AppContext): Promise<void> {
  if (ctx.store.dialect !== 'postgres') {
    await sql`analyze`.execute(ctx.store.db);
    return;
  }
  const { rows } = await sql<{ name: string }>`select tablename as name from pg_tables where schemaname = current_schema()`.execute(ctx.store.db);
  if (rows.length) await sql`analyze ${sql.join(rows.map((r) => sql.table(r.name)))}`.execute(ctx.store.db);
}

/** What every batch of a run shares. */
interface SeedPlan {
  ctx: AppContext;
  options: SeedOptions;
  partners: SeedResult['partners'];
  orderCount: number;
  perOrder: number;
  firstOrderSeq: number;
  firstEsimSeq: number;
  /** Makes this run's ids unique beside earlier runs'. */
  runTag: string;
  nowMs: number;
}

/** The rows of one transaction. */
interface SeedBatch {
  orders: Insertable<OrderTable>[];
  items: Insertable<OrderItemTable>[];
  esims: Insertable<EsimTable>[];
  bundles: Insertable<BundleTable>[];
  usage: Insertable<UsageRecordTable>[];
}

/** Orders [from, to) with their items, eSIMs, bundles and usage records; partner 0's first ids go to `sample`. */
function buildBatch(plan: SeedPlan, pkg: PackageTable, from: number, to: number, sample: SeedResult['sample']): SeedBatch {
  const { ctx, options, partners, orderCount, perOrder, runTag } = plan;
  const batch: SeedBatch = { orders: [], items: [], esims: [], bundles: [], usage: [] };
  const price = Number(pkg.price);
  const volume = Number(pkg.volume);
  // Usage records per eSIM differ by at most one; each eSIM's fit in the hour after its first record.
  const usageSpacingMs = Math.max(1, Math.floor(HOUR_MS / Math.ceil(options.usage / options.esims)));
  // Every eSIM's qr_token (24) and short_code (10) cut from one random string: two randomBase58 calls per
  // eSIM (a randomBytes each) took half as long as inserting it.
  const tokens = randomBase58((QR_TOKEN_CHARS + SHORT_CODE_CHARS) * Math.max(0, Math.min(to * perOrder, options.esims) - from * perOrder));
  let tokenAt = 0;
  for (let k = from; k < to; k++) {
    const partner = partners[k % partners.length];
    const count = Math.min(perOrder, options.esims - k * perOrder);
    const createdAt = plan.nowMs - 3 * HOUR_MS + Math.floor((k * HOUR_MS) / orderCount);
    const orderId = `ord_seed_${runTag}_${k}`;
    const orderNo = formatOrderNo(plan.firstOrderSeq + k, createdAt);
    const itemId = `itm_seed_${runTag}_${k}`;
    batch.orders.push({
      id: orderId,
      order_no: orderNo,
      partner_id: partner.partnerId,
      kind: 'order',
      transaction_id: `seed-${runTag}-${k}`,
      status: 'ready',
      environment: 'sandbox',
      total_count: count,
      allocated_count: count,
      amount: price * count,
      currency: 'USD',
      target_esim_id: null,
      failure_reason: null,
      created_at: createdAt,
      updated_at: createdAt,
      completed_at: createdAt,
    });
    batch.items.push({ id: itemId, order_id: orderId, line_no: 1, package_code: pkg.package_code, count, period_num: null, unit_price: price, line_amount: price * count });
    for (let slot = 0; slot < count; slot++) {
      const n = k * perOrder + slot;
      const esimId = `esim_seed_${runTag}_${n}`;
      const iccid = makeIccid('99900', String(plan.firstEsimSeq + n).padStart(11, '0'));
      const matchingId = makeMatchingId();

      // This eSIM's records: n, n + esims, n + 2·esims, … below the usage count, one after the other from a
      // minute after its creation. Fed to ingestion one by one, the first record's end activates the eSIM.
      const firstUsageAt = createdAt + MINUTE_MS;
      const activatedAt = firstUsageAt + usageSpacingMs;
      let usedBytes = 0;
      let lastUsageAt = 0;
      for (let i = n, j = 0; i < options.usage; i += options.esims, j++) {
        const start = firstUsageAt + j * usageSpacingMs;
        const bytes = seededBytes(i);
        batch.usage.push({ record_key: `seed:${runTag}:${i}`, esim_id: esimId, bytes, period_start: start, period_end: start + usageSpacingMs, source: 'seed', received_at: start + usageSpacingMs });
        usedBytes += bytes;
        lastUsageAt = start + usageSpacingMs;
      }
      const used = usedBytes > 0;
      const expiresAt = used ? activatedAt + pkg.duration * DAY_MS : null;
      const spent = used && usedBytes >= volume;

      batch.esims.push({
        id: esimId,
        esim_tran_no: formatEsimTranNo(plan.firstEsimSeq + n, createdAt),
        order_id: orderId,
        order_item_id: itemId,
        slot,
        partner_id: partner.partnerId,
        environment: 'sandbox',
        transaction_id: `seed-${runTag}-${k}`,
        package_code: pkg.package_code,
        iccid,
        imsi: null,
        msisdn: null,
        ac: activationCode(ctx.config.sandboxSmdpHost, matchingId),
        smdp_address: ctx.config.sandboxSmdpHost,
        matching_id: matchingId,
        confirmation_code: null,
        pin: null,
        puk: null,
        apn: null,
        eid: used ? makeEid() : null,
        supply: 'simulated',
        pool_profile_id: null,
        smdp_status: used ? 'ENABLED' : 'RELEASED',
        esim_status: !used ? 'GOT_RESOURCE' : spent ? 'USED_UP' : 'IN_USE',
        status_before_suspend: null,
        sms_status: pkg.sms_status,
        data_type: pkg.data_type,
        active_type: pkg.active_type,
        price,
        qr_token: tokens.slice(tokenAt, (tokenAt += QR_TOKEN_CHARS)),
        short_code: tokens.slice(tokenAt, (tokenAt += SHORT_CODE_CHARS)),
        download_deadline: createdAt + pkg.unused_valid_time * DAY_MS,
        activate_time: used ? activatedAt : null,
        expired_time: expiresAt,
        total_volume: volume,
        total_duration: pkg.duration,
        duration_unit: pkg.duration_unit,
        order_usage: usedBytes,
        last_usage_at: used ? lastUsageAt : null,
        usage_alert_level: alertLevelFor(usedBytes, volume, Number.POSITIVE_INFINITY),
        created_at: createdAt,
        updated_at: used ? lastUsageAt : createdAt,
      });
      batch.bundles.push({
        id: `bnd_seed_${runTag}_${n}`,
        esim_id: esimId,
        seq: 1,
        order_id: orderId,
        package_code: pkg.package_code,
        kind: 'BASE',
        state: !used ? 'queued' : spent ? 'depleted' : 'active',
        volume,
        // Bytes beyond the volume count in order_usage only, as for a live supplier's records.
        used_bytes: Math.min(usedBytes, volume),
        duration: pkg.duration,
        duration_unit: pkg.duration_unit,
        data_type: pkg.data_type,
        period_num: null,
        price,
        activated_at: used ? activatedAt : null,
        expires_at: expiresAt,
        created_at: createdAt,
        updated_at: used ? lastUsageAt : createdAt,
      });
      if (partner === partners[0] && sample.iccids.length < 1000 && slot === 0) sample.iccids.push(iccid);
    }
    if (partner === partners[0] && sample.orderNos.length < 1000) sample.orderNos.push(orderNo);
  }
  return batch;
}

/** Each batch in one transaction: a failed run leaves whole orders, each eSIM with all its usage records. */
async function writeBatch(ctx: AppContext, batch: SeedBatch): Promise<void> {
  await ctx.store.db.transaction().execute(async (trx) => {
    await ctx.store.fast.bulkInsert(trx, 'orders', batch.orders);
    await ctx.store.fast.bulkInsert(trx, 'order_items', batch.items);
    await ctx.store.fast.bulkInsert(trx, 'esims', batch.esims);
    await ctx.store.fast.bulkInsert(trx, 'bundles', batch.bundles);
    await ctx.store.fast.bulkInsert(trx, 'usage_records', batch.usage);
  });
}

function count(name: string, raw: string): number {
  if (!/^\d+$/.test(raw.replace(/_/g, ''))) throw new Error(`${name} must be a whole number`);
  return Number(raw.replace(/_/g, ''));
}

export function registerSeedCommands(program: Command): void {
  program
    .command('seed')
    .description('create large synthetic data for benchmarks (sandbox partners, ready eSIMs, usage records applied to them)')
    .option('--partners <n>', 'sandbox partners to create', '10')
    .option('--esims <n>', 'eSIMs (in ready orders) spread over the partners', '0')
    .option('--usage <n>', 'usage records spread over the eSIMs (needs --esims)', '0')
    .option('--per-order <n>', 'eSIMs per order', '10')
    .option('--batch <n>', 'eSIMs per transaction (with their orders, bundles, usage records)', '5000')
    .option('--json', 'print the result (first partners\' credentials, sample ids) as JSON')
    .action(async (options) => {
      const { default: cliProgress } = await import('cli-progress');
      const bar = new cliProgress.SingleBar({ format: '{phase} [{bar}] {value}/{total} {percentage}% | {eta_formatted} left', hideCursor: true, stream: process.stderr }, cliProgress.Presets.shades_classic);
      let phase = '';
      const result = await withContext((ctx) =>
        seedData(ctx, {
          partners: count('--partners', options.partners),
          esims: count('--esims', options.esims),
          usage: count('--usage', options.usage),
          perOrder: Math.max(1, count('--per-order', options.perOrder)),
          batch: Math.max(100, count('--batch', options.batch)),
          onProgress: (name, done, total) => {
            if (name !== phase) {
              if (phase) bar.stop();
              phase = name;
              bar.start(Math.max(total, 1), done, { phase: name.padEnd(8) });
            } else bar.update(done, { phase: name.padEnd(8) });
          },
        }),
      );
      if (phase) bar.stop();
      if (options.json) {
        // The first partners' credentials and up to 1,000 of partner 0's ids: what a benchmark needs to spread
        // its load over many wallets and over ids the database does not all hold in cache.
        print(JSON.stringify({ ...result, partners: result.partners.slice(0, 20) }, null, 2));
      } else {
        print(`seeded ${result.partners.length} partners, ${result.orders} orders, ${result.esims} eSIMs, ${result.usage} usage records in ${(result.ms / 1000).toFixed(1)} s`);
        if (result.partners[0]) print(`first partner ${result.partners[0].partnerId}  AccessCode ${result.partners[0].accessCode}`);
      }
    });
}
