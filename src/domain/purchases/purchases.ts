import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Bundle, DB, Esim, OrderTable, PackageTable, Partner } from '../../store/schema.ts';
import type { DataplansPurchaseTable } from '../../store/tables/dataplans.ts';
import type { CatalogService } from '../catalog/service.ts';
import type { Ordering } from '../ordering/ordering.ts';
import type { Allocator } from '../ordering/allocate.ts';
import { formatAmount, type Pricing } from '../pricing/pricing.ts';
import { DomainError } from '../errors.ts';
import { topUp } from '../ordering/topup.ts';

export interface PurchasesDeps {
  db: Kysely<DB>;
  catalog: CatalogService;
  ordering: Ordering;
  allocator: Allocator;
  pricing: Pricing;
  /** Wakes the allocation worker (in this process) so the order is picked up at once. */
  wake: () => void;
  /** How long a purchase waits for its eSIM before it is failed and refunded. */
  timeoutMs: number;
  pollMs?: number;
}

/** A completed purchase: one eSIM of one plan. */
export interface PurchaseView {
  purchaseId: string;
  planSlug: string;
  planName: string;
  retailMinor: number;
  paidMinor: number;
  currency: string;
  purchasedAtMs: number;
  orderNo: string;
  esim: Esim;
  bundles: Bundle[];
}

/** A purchase that could not be completed: nothing was delivered and the charge was refunded in full. */
export class PurchaseFailed extends DomainError {
  constructor(message: string, readonly purchaseId: string) {
    super('conflict', message, { refunded: true, purchaseId });
  }
}

/**
 * Synchronous purchases (the dataplans.io style): place a one-eSIM order, let the allocation worker run it at
 * once, and wait for the eSIM for at most `timeoutMs`. When supply cannot deliver in time the order is failed
 * through Allocator.failOrder, which refunds it in full in one transaction: a purchase is either complete or
 * undone, never half-done.
 */
export class Purchases {
  constructor(private readonly deps: PurchasesDeps) {}

  /** An active BASE package by slug (or package code). */
  plan(slug: string): PackageTable {
    const pkg = this.deps.catalog.get(slug);
    if (!pkg || pkg.type !== 'BASE') throw new DomainError('package_not_found', `Plan ${slug} does not exist`);
    return pkg;
  }

  async purchase(input: { partner: Partner; slug: string; nowMs: number; timeoutMs?: number }): Promise<PurchaseView> {
    const { partner, nowMs } = input;
    const pkg = this.plan(input.slug);
    const retail = await this.deps.pricing.retailPriceIn(pkg, partner.currency);
    const purchaseId = randomUUID();
    const { order } = await this.deps.ordering.place({
      partner,
      transactionId: purchaseId,
      lines: [{ packageCode: pkg.package_code, count: 1, periodNum: pkg.is_daypass === 1 ? 1 : undefined }],
      nowMs,
      // A synchronous API allocates at once, also in the sandbox.
      allocationDelayMs: 0,
    });
    const row: DataplansPurchaseTable = {
      purchase_id: purchaseId,
      partner_id: partner.id,
      order_id: order.id,
      plan_slug: pkg.slug,
      plan_name: pkg.name,
      retail,
      paid: Number(order.amount),
      currency: order.currency,
      created_at: nowMs,
    };
    await this.deps.db.insertInto('dataplans_purchases').values(row).execute();
    this.deps.wake();

    const timeoutMs = input.timeoutMs ?? this.deps.timeoutMs;
    const settled = await this.waitFor(order.id, timeoutMs);
    if (settled.status === 'allocating') {
      await this.deps.allocator.failOrder(order.id, `no eSIM within ${timeoutMs} ms`);
    }
    const final = await this.deps.db.selectFrom('orders').selectAll().where('id', '=', order.id).executeTakeFirstOrThrow();
    if (final.status !== 'ready') {
      throw new PurchaseFailed(`The purchase could not be completed (${final.failure_reason ?? 'supply failure'}); ${formatAmount(Number(final.amount), final.currency)} ${final.currency} was refunded in full`, purchaseId);
    }
    const view = await this.get(partner.id, purchaseId);
    if (!view) throw new PurchaseFailed('The purchase completed but its eSIM cannot be read; retry GET /purchases/' + purchaseId, purchaseId);
    return view;
  }

  private async waitFor(orderId: string, timeoutMs: number): Promise<OrderTable> {
    const deadline = Date.now() + timeoutMs;
    const pollMs = this.deps.pollMs ?? 10;
    for (;;) {
      const order = await this.deps.db.selectFrom('orders').selectAll().where('id', '=', orderId).executeTakeFirstOrThrow();
      if (order.status !== 'allocating' || Date.now() >= deadline) return order;
      await new Promise((resolve) => setTimeout(resolve, Math.min(pollMs, Math.max(1, deadline - Date.now()))));
    }
  }

  /** A completed purchase of this partner, or null (unknown, another partner's, or failed and refunded). */
  async get(partnerId: string, purchaseId: string): Promise<PurchaseView | null> {
    const views = await this.load(partnerId, purchaseId);
    return views[0] ?? null;
  }

  /** The partner's completed purchases, newest first. */
  async list(partnerId: string, limit = 1000): Promise<PurchaseView[]> {
    return this.load(partnerId, undefined, limit);
  }

  private async load(partnerId: string, purchaseId?: string, limit = 1000): Promise<PurchaseView[]> {
    let query = this.deps.db
      .selectFrom('dataplans_purchases as p')
      .innerJoin('orders as o', 'o.id', 'p.order_id')
      .selectAll('p')
      .select(['o.order_no', 'o.status'])
      .where('p.partner_id', '=', partnerId)
      .where('o.status', '=', 'ready');
    if (purchaseId) query = query.where('p.purchase_id', '=', purchaseId);
    const rows = await query.orderBy('p.created_at', 'desc').orderBy('p.purchase_id').limit(limit).execute();
    if (!rows.length) return [];
    const esims = await this.deps.db.selectFrom('esims').selectAll().where('order_id', 'in', rows.map((r) => r.order_id)).execute();
    const byOrder = new Map(esims.map((e) => [e.order_id, e]));
    const bundles = esims.length ? await this.deps.db.selectFrom('bundles').selectAll().where('esim_id', 'in', esims.map((e) => e.id)).orderBy('seq').execute() : [];
    const views: PurchaseView[] = [];
    for (const r of rows) {
      const esim = byOrder.get(r.order_id);
      if (!esim) continue;
      views.push({
        purchaseId: r.purchase_id,
        planSlug: r.plan_slug,
        planName: r.plan_name,
        retailMinor: Number(r.retail),
        paidMinor: Number(r.paid),
        currency: r.currency,
        purchasedAtMs: Number(r.created_at),
        orderNo: r.order_no,
        esim,
        bundles: bundles.filter((b) => b.esim_id === esim.id),
      });
    }
    return views;
  }

  /** The partner's eSIM with this phone number (digits compared; a leading 0 or + and country code tolerated). */
  async findByPhone(partnerId: string, phone: string): Promise<PurchaseView | null> {
    const digits = phone.replace(/\D/g, '');
    if (!digits) return null;
    const candidates = await this.deps.db
      .selectFrom('esims')
      .select(['id', 'order_id', 'msisdn'])
      .where('partner_id', '=', partnerId)
      .where('msisdn', 'is not', null)
      .where('msisdn', 'like', `%${digits.replace(/^0+/, '')}`)
      .orderBy('created_at', 'desc')
      .limit(20)
      .execute();
    const hit = candidates.find((c) => c.msisdn === digits) ?? candidates[0];
    if (!hit) return null;
    const purchase = await this.deps.db.selectFrom('dataplans_purchases').select('purchase_id').where('order_id', '=', hit.order_id).executeTakeFirst();
    if (purchase) return this.get(partnerId, purchase.purchase_id);
    return this.viewOfEsim(partnerId, hit.id);
  }

  /** An eSIM bought through another dialect, seen as a purchase (its order's transactionId as purchaseId). */
  private async viewOfEsim(partnerId: string, esimId: string): Promise<PurchaseView | null> {
    const esim = await this.deps.db.selectFrom('esims').selectAll().where('id', '=', esimId).where('partner_id', '=', partnerId).executeTakeFirst();
    if (!esim) return null;
    const order = await this.deps.db.selectFrom('orders').selectAll().where('id', '=', esim.order_id).executeTakeFirstOrThrow();
    const pkg = this.deps.catalog.all().find((p) => p.package_code === esim.package_code);
    const bundles = await this.deps.db.selectFrom('bundles').selectAll().where('esim_id', '=', esim.id).orderBy('seq').execute();
    return {
      purchaseId: order.transaction_id,
      planSlug: pkg?.slug ?? esim.package_code,
      planName: pkg?.name ?? esim.package_code,
      retailMinor: pkg ? await this.deps.pricing.retailPriceIn(pkg, order.currency).catch(() => 0) : 0,
      paidMinor: Number(esim.price),
      currency: order.currency,
      purchasedAtMs: Number(order.created_at),
      orderNo: order.order_no,
      esim,
      bundles,
    };
  }

  /** Top-up plans that fit a purchase's eSIM. */
  async topupPlans(partnerId: string, purchaseId: string): Promise<PackageTable[]> {
    const view = await this.get(partnerId, purchaseId);
    if (!view) throw new DomainError('not_found', `Purchase ${purchaseId} does not exist`);
    return this.deps.catalog.list({ type: 'TOPUP', packageCode: view.esim.package_code });
  }

  /** Adds a top-up plan to a purchase's eSIM, charged at once (the same top-up the other dialects make). */
  async topup(input: { partner: Partner; purchaseId: string; slug: string; nowMs: number; topupId?: string }): Promise<{ topupId: string; pkg: PackageTable; retailMinor: number; paidMinor: number; currency: string; created: boolean; view: PurchaseView; purchasedAtMs: number }> {
    const { partner, nowMs } = input;
    const view = await this.get(partner.id, input.purchaseId);
    if (!view) throw new DomainError('not_found', `Purchase ${input.purchaseId} does not exist`);
    const pkg = this.deps.catalog.get(input.slug);
    if (!pkg || pkg.type !== 'TOPUP') throw new DomainError('package_not_found', `Top-up plan ${input.slug} does not exist`);
    const topupId = input.topupId ?? randomUUID();
    const result = await topUp(this.deps.db, this.deps.catalog, { partner, ref: { esimTranNo: view.esim.esim_tran_no }, packageCode: pkg.package_code, transactionId: topupId, nowMs });
    const order = await this.deps.db.selectFrom('orders').select(['amount', 'currency', 'created_at']).where('partner_id', '=', partner.id).where('kind', '=', 'topup').where('transaction_id', '=', topupId).executeTakeFirstOrThrow();
    const retailMinor = await this.deps.pricing.retailPriceIn(pkg, partner.currency);
    const updated = (await this.get(partner.id, input.purchaseId)) ?? view;
    // A retried topupId answers the original top-up, its time included.
    return { topupId, pkg, retailMinor, paidMinor: Number(order.amount), currency: order.currency, created: result.created, view: updated, purchasedAtMs: Number(order.created_at) };
  }
}
