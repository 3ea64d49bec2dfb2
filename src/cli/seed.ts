import { reserveSequence } from '../domain/ordering/numbers.ts';
import type { Command } from 'commander';
import { sql, type Insertable } from 'kysely';
import type { AppContext } from '../context.ts';
import type { BundleTable, EsimTable, OrderItemTable, OrderTable, UsageRecordTable } from '../store/schema.ts';
import { randomBase58 } from '../lib/ids.ts';
import { activationCode, makeIccid, makeMatchingId } from '../domain/esims/identifiers.ts';
import { formatEsimTranNo, formatOrderNo } from '../domain/ordering/numbers.ts';
import { print, withContext } from './context.ts';

export interface SeedOptions {
  partners: number;
  esims: number;
  usage: number;
  /** eSIMs per order. */
  perOrder: number;
  /** Rows per transaction. */
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

const DAY_MS = 86_400_000;

/**
 * Synthetic data for benchmarks: sandbox partners, ready orders of eSIMs (each with its base bundle) spread
 * over the partners, and usage records spread over the eSIMs. Written with multi-row inserts, many rows per
 * transaction, bypassing the domain services (no allocation jobs, no events). Seeded orders carry no
 * ledger charges: partners' balances stay consistent with their transfers (their deposits only).
 * Numbers (orderNo, esimTranNo) come from the same sequences real orders use, so they never collide.
 */
export async function seedData(ctx: AppContext, options: SeedOptions): Promise<SeedResult> {
  const started = Date.now();
  const db = ctx.store.db;
  const progress = options.onProgress ?? (() => undefined);
  const nowMs = Date.now();

  const partners: SeedResult['partners'] = [];
  progress('partners', 0, options.partners);
  for (let i = 0; i < options.partners; i += 25) {
    const chunk = Array.from({ length: Math.min(25, options.partners - i) }, (_, j) =>
      ctx.partners.create({ name: `Seed partner ${i + j + 1}`, environment: 'sandbox', depositMinor: 1_000_000 * 10_000 }, nowMs),
    );
    for (const { partner, key } of await Promise.all(chunk)) partners.push({ partnerId: partner.id, accessCode: key.accessCode, secretKey: key.secretKey });
    progress('partners', partners.length, options.partners);
  }
  if (!partners.length && (options.esims > 0 || options.usage > 0)) throw new Error('--esims and --usage need at least one partner');

  const pkg = ctx.catalog.all().find((p) => p.type === 'BASE' && p.data_type === 1) ?? ctx.catalog.all()[0];
  if (!pkg) throw new Error('the catalogue is empty');
  const perOrder = Math.max(1, options.perOrder);
  const orderCount = Math.ceil(options.esims / perOrder);

  // Reserve the number ranges at once: one update per sequence.
  const reserve = (name: 'order' | 'esim', n: number): Promise<number> => reserveSequence(db, name, n);
  const firstOrderSeq = await reserve('order', orderCount);
  const firstEsimSeq = await reserve('esim', options.esims);
  const runTag = randomBase58(6);
  const esimIds: string[] = [];
  const sample: SeedResult['sample'] = { orderNos: [], iccids: [] };

  // Rows per INSERT stay under both stores' bound-parameter limits (eSIMs have ~45 columns).
  const insertChunked = async <T>(trx: any, table: string, rows: T[], perStatement: number) => {
    for (let i = 0; i < rows.length; i += perStatement) await trx.insertInto(table).values(rows.slice(i, i + perStatement)).execute();
  };

  progress('esims', 0, options.esims);
  let esimsMade = 0;
  const ordersPerTx = Math.max(1, Math.floor(options.batch / perOrder));
  for (let o = 0; o < orderCount; o += ordersPerTx) {
    const orders: Insertable<OrderTable>[] = [];
    const items: Insertable<OrderItemTable>[] = [];
    const esims: Insertable<EsimTable>[] = [];
    const bundles: Insertable<BundleTable>[] = [];
    for (let k = o; k < Math.min(orderCount, o + ordersPerTx); k++) {
      const partner = partners[k % partners.length];
      const count = Math.min(perOrder, options.esims - k * perOrder);
      const createdAt = nowMs - (orderCount - k) * 10;
      const orderId = `ord_seed_${runTag}_${k}`;
      const orderNo = formatOrderNo(firstOrderSeq + k, createdAt);
      const itemId = `itm_seed_${runTag}_${k}`;
      orders.push({
        id: orderId,
        order_no: orderNo,
        partner_id: partner.partnerId,
        kind: 'order',
        transaction_id: `seed-${runTag}-${k}`,
        status: 'ready',
        environment: 'sandbox',
        total_count: count,
        allocated_count: count,
        amount: Number(pkg.price) * count,
        currency: 'USD',
        target_esim_id: null,
        failure_reason: null,
        created_at: createdAt,
        updated_at: createdAt,
        completed_at: createdAt,
      });
      items.push({ id: itemId, order_id: orderId, line_no: 1, package_code: pkg.package_code, count, period_num: null, unit_price: Number(pkg.price), line_amount: Number(pkg.price) * count });
      for (let slot = 0; slot < count; slot++) {
        const n = k * perOrder + slot;
        const esimId = `esim_seed_${runTag}_${n}`;
        const iccid = makeIccid('8999000', String(firstEsimSeq + n).padStart(11, '0'));
        const matchingId = makeMatchingId();
        esims.push({
          id: esimId,
          esim_tran_no: formatEsimTranNo(firstEsimSeq + n, createdAt),
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
          eid: null,
          supply: 'simulated',
          pool_profile_id: null,
          smdp_status: 'RELEASED',
          esim_status: 'GOT_RESOURCE',
          status_before_suspend: null,
          sms_status: pkg.sms_status,
          data_type: pkg.data_type,
          active_type: pkg.active_type,
          price: Number(pkg.price),
          qr_token: randomBase58(24),
          short_code: randomBase58(10),
          download_deadline: createdAt + pkg.unused_valid_time * DAY_MS,
          activate_time: null,
          expired_time: null,
          total_volume: Number(pkg.volume),
          total_duration: pkg.duration,
          duration_unit: pkg.duration_unit,
          order_usage: 0,
          last_usage_at: null,
          created_at: createdAt,
          updated_at: createdAt,
        });
        bundles.push({
          id: `bnd_seed_${runTag}_${n}`,
          esim_id: esimId,
          seq: 1,
          order_id: orderId,
          package_code: pkg.package_code,
          kind: 'BASE',
          state: 'queued',
          volume: Number(pkg.volume),
          used_bytes: 0,
          duration: pkg.duration,
          duration_unit: pkg.duration_unit,
          data_type: pkg.data_type,
          period_num: null,
          price: Number(pkg.price),
          activated_at: null,
          expires_at: null,
          created_at: createdAt,
          updated_at: createdAt,
        });
        if (options.usage > 0) esimIds.push(esimId);
        if (partner === partners[0] && sample.iccids.length < 1000 && slot === 0) sample.iccids.push(iccid);
      }
      if (partner === partners[0] && sample.orderNos.length < 1000) sample.orderNos.push(orderNo);
    }
    await db.transaction().execute(async (trx) => {
      await insertChunked(trx, 'orders', orders, 1000);
      await insertChunked(trx, 'order_items', items, 2000);
      await insertChunked(trx, 'esims', esims, 500);
      await insertChunked(trx, 'bundles', bundles, 1500);
    });
    esimsMade += esims.length;
    progress('esims', esimsMade, options.esims);
  }

  progress('usage', 0, options.usage);
  if (options.usage > 0 && !esimIds.length) {
    const rows = await db.selectFrom('esims').select('id').limit(100_000).execute();
    esimIds.push(...rows.map((r) => r.id));
    if (!esimIds.length) throw new Error('--usage needs eSIMs (pass --esims too)');
  }
  for (let u = 0; u < options.usage; u += options.batch) {
    const rows: Insertable<UsageRecordTable>[] = [];
    for (let i = u; i < Math.min(options.usage, u + options.batch); i++) {
      const start = nowMs - (options.usage - i) * 1000;
      rows.push({ record_key: `seed:${runTag}:${i}`, esim_id: esimIds[i % esimIds.length], bytes: 1_000 + ((i * 7919) % 5_000_000), period_start: start, period_end: start + 3_600_000, source: 'seed', received_at: start });
    }
    await db.transaction().execute((trx) => insertChunked(trx, 'usage_records', rows, 4000));
    progress('usage', Math.min(options.usage, u + options.batch), options.usage);
  }
  if (ctx.store.dialect === 'postgres') await sql`analyze`.execute(db);
  else await sql`analyze`.execute(db);
  return { partners, orders: orderCount, esims: options.esims, usage: options.usage, sample, ms: Date.now() - started };
}

function count(name: string, raw: string): number {
  if (!/^\d+$/.test(raw.replace(/_/g, ''))) throw new Error(`${name} must be a whole number`);
  return Number(raw.replace(/_/g, ''));
}

export function registerSeedCommands(program: Command): void {
  program
    .command('seed')
    .description('create large synthetic data for benchmarks (sandbox partners, ready eSIMs, usage records)')
    .option('--partners <n>', 'sandbox partners to create', '10')
    .option('--esims <n>', 'eSIMs (in ready orders) spread over the partners', '0')
    .option('--usage <n>', 'usage records spread over the eSIMs', '0')
    .option('--per-order <n>', 'eSIMs per order', '10')
    .option('--batch <n>', 'rows per transaction', '5000')
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
        print(JSON.stringify({ ...result, partners: result.partners.slice(0, 10), sample: { orderNos: result.sample.orderNos.slice(0, 10), iccids: result.sample.iccids.slice(0, 10) } }, null, 2));
      } else {
        print(`seeded ${result.partners.length} partners, ${result.orders} orders, ${result.esims} eSIMs, ${result.usage} usage records in ${(result.ms / 1000).toFixed(1)} s`);
        if (result.partners[0]) print(`first partner ${result.partners[0].partnerId}  AccessCode ${result.partners[0].accessCode}`);
      }
    });
}
