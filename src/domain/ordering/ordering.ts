import { transactionRunner, type TransactionRunner } from '../../store/group-commit.ts';
import type { Kysely } from 'kysely';
import type { DB, OrderTable, PackageTable, Partner } from '../../store/schema.ts';
import type { StoreDialect } from '../../store/connect.ts';
import type { CatalogService } from '../catalog/service.ts';
import { DomainError } from '../errors.ts';
import { LIST_CURRENCY, tierPrice } from '../pricing/pricing.ts';
import { postTransfer, walletBalance } from '../ledger/ledger.ts';
import { checkLowBalance } from '../notifications/low-balance.ts';
import { newId } from '../../lib/ids.ts';
import { enqueue } from '../../workers/queue.ts';
import type { SupplyRouter } from '../../supply/router.ts';
import { formatOrderNo, nextSequence } from './numbers.ts';

export const MAX_PROFILES_PER_ORDER = 30;
export const ALLOCATE_JOB = 'allocate_order';

export interface OrderLineInput {
  packageCode: string;
  count: number;
  /** The price the partner expects per package (per day for day passes); checked when given. */
  priceMinor?: number;
  periodNum?: number;
}

export interface PlaceOrderInput {
  partner: Partner;
  transactionId: string;
  lines: OrderLineInput[];
  /** The total the partner expects; checked when given. */
  amountMinor?: number;
  nowMs: number;
  /** Overrides the sandbox allocation delay (synchronous APIs allocate at once). */
  allocationDelayMs?: number;
}

export interface PricedLine {
  pkg: PackageTable;
  count: number;
  periodNum: number | null;
  unitPriceMinor: number;
  lineAmountMinor: number;
}

export function unitPrice(pkg: PackageTable, tierFactorBps: number): number {
  return tierPrice(Number(pkg.price), tierFactorBps, pkg.currency_code || LIST_CURRENCY);
}

/**
 * Places orders: validates, prices, checks stock and balance, and in ONE transaction creates the order,
 * charges it through the ledger and queues its allocation. A repeated transactionId answers the first order.
 */
export class Ordering {
  /** Called after a commit that queued work, so an in-process worker can start at once. */
  onWorkQueued: () => void = () => {};

  constructor(
    private readonly db: Kysely<DB>,
    private readonly dialect: StoreDialect,
    private readonly catalog: CatalogService,
    private readonly supply: SupplyRouter,
    private readonly sandboxAllocationDelayMs: number,
  ) {
    this.placements = transactionRunner(db, dialect);
  }

  /** Order placements commit in groups on the embedded store (see GroupCommit). */
  private readonly placements: TransactionRunner;

  async findByTransactionId(partnerId: string, kind: OrderTable['kind'], transactionId: string): Promise<OrderTable | undefined> {
    return this.db.selectFrom('orders').selectAll().where('partner_id', '=', partnerId).where('kind', '=', kind).where('transaction_id', '=', transactionId).executeTakeFirst();
  }

  async priceLines(partner: Partner, lines: OrderLineInput[], nowMs = Date.now()): Promise<PricedLine[]> {
    if (!lines.length) throw new DomainError('invalid_argument', 'packageInfoList must hold at least one package', { esimAccessCode: '000106' });
    const total = lines.reduce((sum, l) => sum + l.count, 0);
    if (total > MAX_PROFILES_PER_ORDER) {
      throw new DomainError('invalid_argument', `At most ${MAX_PROFILES_PER_ORDER} profiles per order (this order asks for ${total}); split it into several orders`, { esimAccessCode: '200008' });
    }
    const factor = this.catalog.priceFor ? 0 : await this.catalog.tierFactorBps(partner.price_tier_id);
    const priceOf = this.catalog.priceFor ? await this.catalog.priceFor(partner, nowMs) : (pkg: PackageTable) => unitPrice(pkg, factor);
    return lines.map((line) => {
      const pkg = this.catalog.get(line.packageCode);
      if (!pkg) throw new DomainError('package_not_found', `The packageCode ${line.packageCode} does not exist`);
      if (pkg.type !== 'BASE') throw new DomainError('invalid_argument', `${line.packageCode} is a top-up package: use esim/topup`, { esimAccessCode: '200008' });
      if (!Number.isSafeInteger(line.count) || line.count < 1) throw new DomainError('invalid_argument', 'count must be at least 1', { esimAccessCode: '000107' });
      let periodNum: number | null = null;
      if (pkg.is_daypass === 1) {
        if (line.periodNum === undefined) throw new DomainError('invalid_argument', `periodNum (1-365) is required for the day pass ${pkg.package_code}`, { esimAccessCode: '000105' });
        periodNum = line.periodNum;
      }
      const perUnit = priceOf(pkg);
      if (line.priceMinor !== undefined && line.priceMinor !== perUnit) {
        throw new DomainError('price_mismatch', `Package price error for ${pkg.package_code}: the price is ${perUnit}, not ${line.priceMinor}`);
      }
      const unitPriceMinor = perUnit * (periodNum ?? 1);
      return { pkg, count: line.count, periodNum, unitPriceMinor, lineAmountMinor: unitPriceMinor * line.count };
    });
  }

  async place(input: PlaceOrderInput): Promise<{ order: OrderTable; created: boolean }> {
    const { partner, transactionId, nowMs } = input;
    const existing = await this.findByTransactionId(partner.id, 'order', transactionId);
    if (existing) return { order: existing, created: false };

    const priced = await this.priceLines(partner, input.lines, nowMs);
    const amount = priced.reduce((sum, l) => sum + l.lineAmountMinor, 0);
    if (input.amountMinor !== undefined && input.amountMinor !== amount) {
      throw new DomainError('amount_mismatch', `Total order price amount is wrong: the order costs ${amount}, not ${input.amountMinor}`);
    }
    await this.checkStock(partner, priced);

    const result = await this.placements.run(async (trx) => {
      const orderId = newId('ord', nowMs);
      const orderNo = formatOrderNo(await nextSequence(trx, 'order'), nowMs);
      const order: OrderTable = {
        id: orderId,
        order_no: orderNo,
        partner_id: partner.id,
        kind: 'order',
        transaction_id: transactionId,
        status: 'allocating',
        environment: partner.environment,
        total_count: priced.reduce((sum, l) => sum + l.count, 0),
        allocated_count: 0,
        amount,
        currency: partner.currency,
        target_esim_id: null,
        failure_reason: null,
        created_at: nowMs,
        updated_at: nowMs,
        completed_at: null,
      };
      // The unique (partner, kind, transactionId) key settles a race between copies of one request:
      // the loser inserts nothing and answers the winner's order.
      const inserted = await trx.insertInto('orders').values(order).onConflict((oc) => oc.columns(['partner_id', 'kind', 'transaction_id']).doNothing()).executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) !== 1) return null;
      await trx
        .insertInto('order_items')
        .values(priced.map((l, i) => ({ id: newId('itm', nowMs), order_id: orderId, line_no: i + 1, package_code: l.pkg.package_code, count: l.count, period_num: l.periodNum, unit_price: l.unitPriceMinor, line_amount: l.lineAmountMinor })))
        .execute();
      const delayMs = partner.environment === 'sandbox' ? (input.allocationDelayMs ?? this.sandboxAllocationDelayMs) : 0;
      await enqueue(trx, ALLOCATE_JOB, { orderId }, nowMs, { runAtMs: Date.now() + delayMs, jobKey: `allocate:${orderId}` });
      // The charge comes last: on PostgreSQL the wallet row stays locked from here to the commit, and every
      // other order of this partner waits for it.
      await postTransfer(trx, { idempotencyId: `charge:${orderId}`, partnerId: partner.id, kind: 'charge', amountMinor: amount, currency: partner.currency, reference: orderNo, memo: `order ${orderNo}` }, nowMs);
      const balanceAfter = (await walletBalance(trx, partner.id)).balanceMinor;
      await checkLowBalance(trx, partner.id, balanceAfter + amount, balanceAfter, nowMs);
      return order;
    });
    if (!result) {
      const winner = await this.findByTransactionId(partner.id, 'order', transactionId);
      if (!winner) throw new DomainError('conflict', 'the order could not be placed, retry');
      return { order: winner, created: false };
    }
    this.onWorkQueued();
    return { order: result, created: true };
  }

  private async checkStock(partner: Partner, priced: PricedLine[]): Promise<void> {
    const wanted = new Map<string, { pkg: PackageTable; count: number }>();
    for (const l of priced) {
      const w = wanted.get(l.pkg.package_code) ?? { pkg: l.pkg, count: 0 };
      w.count += l.count;
      wanted.set(l.pkg.package_code, w);
    }
    for (const { pkg, count } of wanted.values()) {
      const source = this.supply.sourceFor(partner.environment, pkg);
      const available = await source.available(this.db, pkg);
      if (available !== null && available < count) {
        throw new DomainError('insufficient_profiles', `Insufficient available profiles for ${pkg.package_code}: ${available} left, ${count} ordered`);
      }
    }
  }

  get storeDialect(): StoreDialect {
    return this.dialect;
  }
}
