import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Bundle, DB, Esim, OrderTable, PackageTable, Partner } from '../../store/schema.ts';
import type { EsimGoInventoryTable, EsimGoOrderTable } from '../../store/tables/esimgo.ts';
import type { CatalogService } from '../catalog/service.ts';
import type { Ordering } from '../ordering/ordering.ts';
import { ALLOCATE_JOB, MAX_PROFILES_PER_ORDER, unitPrice } from '../ordering/ordering.ts';
import { formatOrderNo, nextSequence } from '../ordering/numbers.ts';
import { appendBundle } from '../ordering/topup.ts';
import { DomainError } from '../errors.ts';
import { postTransfer, walletBalance } from '../ledger/ledger.ts';
import { checkLowBalance } from '../notifications/low-balance.ts';
import { newId } from '../../lib/ids.ts';
import { DAY_MS } from '../../lib/time.ts';
import { enqueue } from '../../workers/queue.ts';

/**
 * Inventory: bundles bought but not yet on an eSIM (eSIM Go's `assign: false`), and the two ways a bundle
 * reaches an eSIM outside the core order flow: added to an existing eSIM (charged now, or taken from
 * inventory), or applied from inventory to a new eSIM (a zero-amount core order whose allocation makes the
 * eSIM; the money moved when the inventory was bought). Every change and its ledger transfer share one
 * transaction; references are idempotency keys.
 */
export const INVENTORY_VALIDITY_MS = 365 * DAY_MS;
/** eSIMs in these states take no further bundles. */
const CLOSED = new Set(['CANCEL', 'REVOKE', 'UNUSED_EXPIRED', 'USED_EXPIRED', 'SUSPENDED']);

type Trx = Transaction<DB>;

export interface OrderLine {
  pkg: PackageTable;
  quantity: number;
  /** Existing eSIMs to put the bundle on (assign only); quantity must equal their number. */
  iccids?: string[];
  allowReassign?: boolean;
}

export interface StoredLine {
  type: string;
  item: string;
  packageCode: string;
  quantity: number;
  pricePerUnitMinor: number;
  subTotalMinor: number;
  iccids?: string[];
  allowReassign: boolean;
  /** Apply to new eSIMs: the inventory rows each unit came from, given back if the eSIMs cannot be made. */
  inventoryIds?: string[];
}

export interface PricedOrder {
  lines: StoredLine[];
  totalMinor: number;
  currency: string;
}

export interface ApplyItem {
  pkg: PackageTable;
  iccid?: string;
  repeat: number;
}

export class Inventory {
  /** Called after a commit that queued allocation work. */
  onWorkQueued: () => void = () => {};

  constructor(
    private readonly db: Kysely<DB>,
    private readonly catalog: CatalogService,
    private readonly ordering: Ordering,
  ) {}

  static newReference(): string {
    return randomUUID();
  }

  /** The partner's price of one package (per day for day passes): the same pricing every dialect uses. */
  async pricer(partner: Partner, nowMs: number): Promise<(pkg: PackageTable) => number> {
    if (this.catalog.priceFor) return this.catalog.priceFor(partner, nowMs);
    const factor = await this.catalog.tierFactorBps(partner.price_tier_id);
    return (pkg) => unitPrice(pkg, factor);
  }

  async price(partner: Partner, lines: OrderLine[], nameOf: (pkg: PackageTable) => string, assign: boolean, nowMs: number): Promise<PricedOrder> {
    if (!lines.length) throw new DomainError('invalid_argument', 'order must hold at least one bundle');
    const priceOf = await this.pricer(partner, nowMs);
    const out: StoredLine[] = [];
    for (const line of lines) {
      if (!Number.isSafeInteger(line.quantity) || line.quantity < 1) throw new DomainError('invalid_argument', `quantity must be a positive integer for ${nameOf(line.pkg)}`);
      if (line.iccids?.length) {
        if (!assign) throw new DomainError('invalid_argument', 'iccids can only be given with assign: true');
        if (line.iccids.length !== line.quantity) throw new DomainError('invalid_argument', `quantity (${line.quantity}) must equal the number of iccids (${line.iccids.length}) for ${nameOf(line.pkg)}`);
      }
      const perUnit = priceOf(line.pkg) * (line.pkg.is_daypass === 1 ? Math.max(1, line.pkg.duration) : 1);
      out.push({ type: 'bundle', item: nameOf(line.pkg), packageCode: line.pkg.package_code, quantity: line.quantity, pricePerUnitMinor: perUnit, subTotalMinor: perUnit * line.quantity, iccids: line.iccids?.length ? line.iccids : undefined, allowReassign: line.allowReassign === true });
    }
    const newEsims = out.filter((l) => assign && !l.iccids).reduce((s, l) => s + l.quantity, 0);
    if (newEsims > MAX_PROFILES_PER_ORDER) throw new DomainError('invalid_argument', `At most ${MAX_PROFILES_PER_ORDER} new eSIMs per order (this order asks for ${newEsims}); split it into several orders`);
    return { lines: out, totalMinor: out.reduce((s, l) => s + l.subTotalMinor, 0), currency: partner.currency };
  }

  /** Validate: the order would succeed now (balance, eSIMs given); nothing changes. */
  async validate(partner: Partner, priced: PricedOrder, assign: boolean, nowMs: number): Promise<void> {
    const balance = (await walletBalance(this.db, partner.id)).balanceMinor;
    if (balance < priced.totalMinor) throw new DomainError('insufficient_balance', `Insufficient balance: the order costs ${priced.totalMinor}, the balance is ${balance}`);
    if (assign) for (const line of priced.lines) for (const iccid of line.iccids ?? []) await this.usableEsim(this.db, partner.id, iccid, this.pkg(line.packageCode), nowMs);
  }

  async findOrder(partnerId: string, reference: string): Promise<EsimGoOrderTable | undefined> {
    return this.db.selectFrom('esimgo_orders').selectAll().where('partner_id', '=', partnerId).where('reference', '=', reference).executeTakeFirst();
  }

  /** Type transaction. Idempotent by reference. Returns the stored order and the core order making new eSIMs, if any. */
  async transact(partner: Partner, input: { reference: string; priced: PricedOrder; assign: boolean; sourceIp: string | null; nowMs: number }): Promise<{ order: EsimGoOrderTable; coreOrder: OrderTable | null }> {
    const { reference, priced, assign, nowMs } = input;
    const existing = await this.findOrder(partner.id, reference);
    if (existing) return { order: existing, coreOrder: existing.order_id ? ((await this.db.selectFrom('orders').selectAll().where('id', '=', existing.order_id).executeTakeFirst()) ?? null) : null };
    await this.validate(partner, priced, assign, nowMs);

    let coreOrder: OrderTable | null = null;
    const newLines = assign ? priced.lines.filter((l) => !l.iccids) : [];
    if (newLines.length) {
      const placed = await this.ordering.place({
        partner,
        transactionId: `esimgo:${reference}`,
        lines: newLines.map((l) => {
          const pkg = this.pkg(l.packageCode);
          return { packageCode: l.packageCode, count: l.quantity, periodNum: pkg.is_daypass === 1 ? Math.max(1, pkg.duration) : undefined };
        }),
        nowMs,
      });
      coreOrder = placed.order;
    }
    const order = await this.db.transaction().execute(async (trx) => {
      let index = newLines.reduce((s, l) => s + l.quantity, 0);
      if (!assign) {
        const charge = priced.totalMinor;
        await this.charge(trx, partner, `charge:esimgo:${reference}`, charge, reference, `eSIM Go inventory order ${reference}`, nowMs);
        for (const line of priced.lines) await this.addInventory(trx, partner, line.packageCode, line.quantity, line.pricePerUnitMinor, reference, nowMs);
      } else {
        for (const line of priced.lines) {
          if (!line.iccids) continue;
          const pkg = this.pkg(line.packageCode);
          for (const iccid of line.iccids) {
            const esim = await this.usableEsim(trx, partner.id, iccid, pkg, nowMs);
            await this.addBundle(trx, partner, esim, pkg, { priceMinor: line.pricePerUnitMinor, chargeMinor: line.pricePerUnitMinor, reference, index: index++, inventoryId: null }, nowMs);
          }
        }
      }
      const balanceAfter = (await walletBalance(trx, partner.id)).balanceMinor;
      const row: EsimGoOrderTable = {
        reference,
        partner_id: partner.id,
        kind: 'order',
        order_id: coreOrder?.id ?? null,
        assigned: assign ? 1 : 0,
        lines_json: JSON.stringify(priced.lines),
        total: priced.totalMinor,
        currency: priced.currency,
        source_ip: input.sourceIp,
        running_balance: balanceAfter,
        created_at: nowMs,
      };
      await trx.insertInto('esimgo_orders').values(row).execute();
      return row;
    });
    return { order, coreOrder };
  }

  /**
   * The allocator failed an order for good: if it was an apply-to-new-eSIMs order, the inventory it took goes
   * back, in the same transaction as the failure (its refund is zero: the money stays in the inventory).
   */
  async returnInventoryOfFailedOrder(trx: Trx, orderId: string, nowMs: number): Promise<number> {
    const row = await trx.selectFrom('esimgo_orders').select(['lines_json']).where('order_id', '=', orderId).where('kind', '=', 'apply').executeTakeFirst();
    if (!row) return 0;
    let returned = 0;
    for (const line of JSON.parse(row.lines_json) as StoredLine[]) {
      const counts = new Map<string, number>();
      for (const id of line.inventoryIds ?? []) counts.set(id, (counts.get(id) ?? 0) + 1);
      for (const [id, n] of counts) {
        await trx.updateTable('esimgo_inventory').set({ remaining: sql`remaining + ${n}`, updated_at: nowMs }).where('id', '=', id).execute();
        returned += n;
      }
    }
    return returned;
  }

  /** Applies inventory bundles: to the eSIM given, or to new eSIMs (repeat of them). */
  async apply(partner: Partner, input: { reference: string; items: ApplyItem[]; nameOf: (pkg: PackageTable) => string; nowMs: number }): Promise<{ order: EsimGoOrderTable; coreOrder: OrderTable | null; existing: Array<{ iccid: string; pkg: PackageTable }> }> {
    const { reference, items, nowMs } = input;
    const newCount = items.filter((i) => !i.iccid).reduce((s, i) => s + i.repeat, 0);
    if (newCount > MAX_PROFILES_PER_ORDER) throw new DomainError('invalid_argument', `At most ${MAX_PROFILES_PER_ORDER} new eSIMs per apply`);
    const existing: Array<{ iccid: string; pkg: PackageTable }> = [];
    const result = await this.db.transaction().execute(async (trx) => {
      const newLines: Array<{ pkg: PackageTable; count: number; unitPrice: number }> = [];
      let index = 0;
      const storedLines: StoredLine[] = [];
      for (const item of items) {
        if (item.iccid && item.repeat !== 1) throw new DomainError('invalid_argument', 'repeat cannot be combined with iccid');
        if (!Number.isSafeInteger(item.repeat) || item.repeat < 1) throw new DomainError('invalid_argument', 'repeat must be a positive integer');
        const takes = await this.take(trx, partner.id, item.pkg, item.repeat, nowMs);
        storedLines.push({
          type: 'bundleAssignment',
          item: input.nameOf(item.pkg),
          packageCode: item.pkg.package_code,
          quantity: item.repeat,
          pricePerUnitMinor: 0,
          subTotalMinor: 0,
          iccids: item.iccid ? [item.iccid] : undefined,
          allowReassign: false,
          inventoryIds: item.iccid ? undefined : takes.map((t) => t.inventoryId),
        });
        if (item.iccid) {
          const esim = await this.usableEsim(trx, partner.id, item.iccid, item.pkg, nowMs);
          await this.addBundle(trx, partner, esim, item.pkg, { priceMinor: takes[0].unitPrice, chargeMinor: 0, reference, index: index++, inventoryId: takes[0].inventoryId }, nowMs);
          existing.push({ iccid: esim.iccid, pkg: item.pkg });
        } else {
          for (const t of takes) newLines.push({ pkg: item.pkg, count: 1, unitPrice: t.unitPrice });
        }
      }
      let coreOrder: OrderTable | null = null;
      if (newLines.length) coreOrder = await this.zeroAmountOrder(trx, partner, `esimgo:${reference}`, newLines, nowMs);
      const row: EsimGoOrderTable = {
        reference,
        partner_id: partner.id,
        kind: 'apply',
        order_id: coreOrder?.id ?? null,
        assigned: 1,
        lines_json: JSON.stringify(storedLines),
        total: 0,
        currency: partner.currency,
        source_ip: null,
        running_balance: null,
        created_at: nowMs,
      };
      await trx.insertInto('esimgo_orders').values(row).execute();
      return { order: row, coreOrder };
    });
    if (result.coreOrder) this.onWorkQueued();
    return { ...result, existing };
  }

  async list(partnerId: string, nowMs: number): Promise<EsimGoInventoryTable[]> {
    return this.db.selectFrom('esimgo_inventory').selectAll().where('partner_id', '=', partnerId).where('remaining', '>', 0).where('expires_at', '>', nowMs).orderBy('package_code').orderBy('usage_id').execute();
  }

  /** Returns `quantity` unapplied bundles of one purchase (usageId) to the balance. */
  async refund(partner: Partner, usageId: number, quantity: number, nowMs: number): Promise<void> {
    if (!Number.isSafeInteger(usageId)) throw new DomainError('invalid_argument', 'usageId must be an integer');
    if (!Number.isSafeInteger(quantity) || quantity < 1) throw new DomainError('invalid_argument', 'quantity must be a positive integer');
    await this.db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('esimgo_inventory').selectAll().where('partner_id', '=', partner.id).where('usage_id', '=', usageId).executeTakeFirst();
      if (!row) throw new DomainError('not_found', `No inventory with usageId ${usageId}`);
      if (Number(row.expires_at) <= nowMs) throw new DomainError('invalid_state', `The inventory ${usageId} expired and can no longer be refunded`);
      if (Number(row.remaining) < quantity) throw new DomainError('invalid_argument', `Only ${row.remaining} bundles remain in inventory ${usageId}`);
      const changed = await trx.updateTable('esimgo_inventory').set({ remaining: sql`remaining - ${quantity}`, updated_at: nowMs }).where('id', '=', row.id).where('remaining', '>=', quantity).executeTakeFirst();
      if (Number(changed.numUpdatedRows) !== 1) throw new DomainError('conflict', 'the inventory changed meanwhile, retry');
      const amount = Number(row.unit_price) * quantity;
      if (amount > 0) await postTransfer(trx, { idempotencyId: `refund:esimgo:inv:${row.id}:${Number(row.total) - Number(row.remaining) + quantity}:${nowMs}`, partnerId: partner.id, kind: 'refund', amountMinor: amount, currency: row.currency, reference: row.reference, memo: `inventory refund ${usageId} x${quantity}` }, nowMs);
    });
  }

  /**
   * Revokes one assignment. Unused (queued, nothing used) assignments go back to inventory, or to the
   * balance with `refundToBalance`; a started one is revoked without refund.
   */
  async revoke(partner: Partner, esim: Esim, bundle: Bundle, options: { refundToBalance: boolean }, nowMs: number): Promise<'inventory' | 'balance' | 'none'> {
    return this.db.transaction().execute(async (trx) => {
      const current = await trx.selectFrom('bundles').selectAll().where('id', '=', bundle.id).executeTakeFirstOrThrow();
      if (current.state === 'revoked') throw new DomainError('invalid_state', 'This bundle assignment is already revoked');
      const unused = (current.state === 'queued' || current.state === 'processing') && Number(current.used_bytes) === 0;
      if (!unused && !['active', 'depleted'].includes(current.state)) throw new DomainError('invalid_state', `A ${current.state} bundle cannot be revoked`);
      await trx.updateTable('bundles').set({ state: 'revoked', updated_at: nowMs }).where('id', '=', current.id).execute();
      if (unused) {
        await trx.updateTable('esims').set({ total_volume: sql`total_volume - ${Number(current.volume)}`, updated_at: nowMs }).where('id', '=', esim.id).where('total_volume', '>=', Number(current.volume)).execute();
      }
      if (!unused || Number(current.price) <= 0) return 'none';
      if (options.refundToBalance) {
        await postTransfer(trx, { idempotencyId: `refund:esimgo:bundle:${current.id}`, partnerId: partner.id, kind: 'refund', amountMinor: Number(current.price), currency: partner.currency, reference: esim.iccid, memo: `revoke ${current.package_code} on ${esim.iccid}` }, nowMs);
        return 'balance';
      }
      await this.addInventory(trx, partner, current.package_code, 1, Number(current.price), `revoke:${current.id}`, nowMs);
      return 'inventory';
    });
  }

  // ── internals ─────────────────────────────────────────────────────────────────────────────────────

  private pkg(code: string): PackageTable {
    const pkg = this.catalog.get(code) ?? this.catalog.all().find((p) => p.package_code === code);
    if (!pkg) throw new DomainError('package_not_found', `Bundle ${code} does not exist`);
    return pkg;
  }

  /** The partner's eSIM by ICCID, able to take this bundle now. */
  async usableEsim(db: Kysely<DB> | Trx, partnerId: string, iccid: string, pkg: PackageTable, nowMs: number): Promise<Esim> {
    const esim = await db.selectFrom('esims').selectAll().where('partner_id', '=', partnerId).where('iccid', '=', iccid).orderBy('created_at', 'desc').limit(1).executeTakeFirst();
    if (!esim) throw new DomainError('esim_not_found', `ICCID ${iccid} not found`);
    const reason = incompatibility(esim, pkg, nowMs);
    if (reason) throw new DomainError('invalid_state', `Bundle cannot be applied to ${iccid}: ${reason}`);
    return esim;
  }

  private async charge(trx: Trx, partner: Partner, idempotencyId: string, amount: number, reference: string, memo: string, nowMs: number): Promise<void> {
    if (amount <= 0) return;
    await postTransfer(trx, { idempotencyId, partnerId: partner.id, kind: 'charge', amountMinor: amount, currency: partner.currency, reference, memo }, nowMs);
    const after = (await walletBalance(trx, partner.id)).balanceMinor;
    await checkLowBalance(trx, partner.id, after + amount, after, nowMs);
  }

  private async addInventory(trx: Trx, partner: Partner, packageCode: string, quantity: number, unitPriceMinor: number, reference: string, nowMs: number): Promise<void> {
    const seq = await trx.updateTable('sequences').set({ value: sql`value + 1` }).where('name', '=', 'esimgo_usage').returning('value').executeTakeFirstOrThrow();
    await trx
      .insertInto('esimgo_inventory')
      .values({ id: newId('inv', nowMs), usage_id: Number(seq.value), partner_id: partner.id, package_code: packageCode, reference, total: quantity, remaining: quantity, unit_price: unitPriceMinor, currency: partner.currency, expires_at: nowMs + INVENTORY_VALIDITY_MS, created_at: nowMs, updated_at: nowMs })
      .execute();
  }

  /** Takes `count` bundles of a package from inventory, earliest expiry first. */
  private async take(trx: Trx, partnerId: string, pkg: PackageTable, count: number, nowMs: number): Promise<Array<{ inventoryId: string; unitPrice: number }>> {
    const rows = await trx.selectFrom('esimgo_inventory').selectAll().where('partner_id', '=', partnerId).where('package_code', '=', pkg.package_code).where('remaining', '>', 0).where('expires_at', '>', nowMs).orderBy('expires_at').orderBy('usage_id').execute();
    const available = rows.reduce((s, r) => s + Number(r.remaining), 0);
    if (available < count) throw new DomainError('insufficient_profiles', `Not enough bundles in inventory: ${available} of ${pkg.package_code} available, ${count} needed`);
    const out: Array<{ inventoryId: string; unitPrice: number }> = [];
    let left = count;
    for (const row of rows) {
      if (left === 0) break;
      const n = Math.min(left, Number(row.remaining));
      const changed = await trx.updateTable('esimgo_inventory').set({ remaining: sql`remaining - ${n}`, updated_at: nowMs }).where('id', '=', row.id).where('remaining', '>=', n).executeTakeFirst();
      if (Number(changed.numUpdatedRows) !== 1) throw new DomainError('conflict', 'the inventory changed meanwhile, retry');
      for (let i = 0; i < n; i++) out.push({ inventoryId: row.id, unitPrice: Number(row.unit_price) });
      left -= n;
    }
    return out;
  }

  /** A further bundle on an existing eSIM: a ready top-up order, the bundle (queued after the others), volume and validity grow. */
  private async addBundle(trx: Trx, partner: Partner, esim: Esim, pkg: PackageTable, o: { priceMinor: number; chargeMinor: number; reference: string; index: number; inventoryId: string | null }, nowMs: number): Promise<void> {
    const orderId = newId('ord', nowMs);
    const order: OrderTable = {
      id: orderId,
      order_no: formatOrderNo(await nextSequence(trx, 'order'), nowMs),
      partner_id: partner.id,
      kind: 'topup',
      transaction_id: `esimgo:${o.reference}:${o.index}`,
      status: 'ready',
      environment: partner.environment,
      total_count: 1,
      allocated_count: 1,
      amount: o.chargeMinor,
      currency: partner.currency,
      target_esim_id: esim.id,
      failure_reason: null,
      created_at: nowMs,
      updated_at: nowMs,
      completed_at: nowMs,
    };
    await trx.insertInto('orders').values(order).execute();
    await this.charge(trx, partner, `charge:${orderId}`, o.chargeMinor, order.order_no, `eSIM Go bundle ${pkg.package_code} on ${esim.iccid}`, nowMs);
    const current = await trx.selectFrom('esims').selectAll().where('id', '=', esim.id).executeTakeFirstOrThrow();
    const days = pkg.is_daypass === 1 ? Math.max(1, pkg.duration) : pkg.duration;
    const bundleId = await appendBundle(trx, current, pkg, { orderId, priceMinor: o.priceMinor, days, periodNum: pkg.is_daypass === 1 ? days : null }, nowMs);
    await trx.insertInto('esimgo_bundle_refs').values({ bundle_id: bundleId, partner_id: partner.id, reference: o.reference, assignment_reference: `${o.reference}-${o.index}`, inventory_id: o.inventoryId, created_at: nowMs }).execute();
  }

  /** A core order for new eSIMs that charges nothing (the bundles were paid for when bought into inventory). */
  private async zeroAmountOrder(trx: Trx, partner: Partner, transactionId: string, lines: Array<{ pkg: PackageTable; count: number; unitPrice: number }>, nowMs: number): Promise<OrderTable> {
    const orderId = newId('ord', nowMs);
    const order: OrderTable = {
      id: orderId,
      order_no: formatOrderNo(await nextSequence(trx, 'order'), nowMs),
      partner_id: partner.id,
      kind: 'order',
      transaction_id: transactionId,
      status: 'allocating',
      environment: partner.environment,
      total_count: lines.reduce((s, l) => s + l.count, 0),
      allocated_count: 0,
      amount: 0,
      currency: partner.currency,
      target_esim_id: null,
      failure_reason: null,
      created_at: nowMs,
      updated_at: nowMs,
      completed_at: null,
    };
    await trx.insertInto('orders').values(order).execute();
    await trx
      .insertInto('order_items')
      .values(lines.map((l, i) => ({ id: newId('itm', nowMs), order_id: orderId, line_no: i + 1, package_code: l.pkg.package_code, count: l.count, period_num: l.pkg.is_daypass === 1 ? Math.max(1, l.pkg.duration) : null, unit_price: l.unitPrice, line_amount: 0 })))
      .execute();
    await enqueue(trx, ALLOCATE_JOB, { orderId }, nowMs, { runAtMs: Date.now(), jobKey: `allocate:${orderId}` });
    return order;
  }
}

/** Why a bundle cannot go on this eSIM now, or null when it can. */
export function incompatibility(esim: Esim, pkg: PackageTable, nowMs: number): string | null {
  if (CLOSED.has(esim.esim_status)) return `the eSIM is ${esim.esim_status === 'SUSPENDED' ? 'suspended' : 'deactivated'}`;
  if (esim.expired_time !== null && Number(esim.expired_time) <= nowMs) return 'the eSIM has expired';
  if (esim.activate_time === null && Number(esim.download_deadline) <= nowMs) return 'the eSIM was never installed and can no longer be';
  const isPool = (s: string) => s !== 'simulated';
  if (isPool(esim.supply) !== isPool(pkg.supply)) return 'the bundle comes from a different network provider';
  return null;
}
