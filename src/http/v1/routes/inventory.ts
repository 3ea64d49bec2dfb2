import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../../context.ts';
import type { PackageTable } from '../../../store/schema.ts';
import type { EsimGoInventoryTable, EsimGoOrderTable } from '../../../store/tables/esimgo.ts';
import { DomainError } from '../../../domain/errors.ts';
import { caller } from '../guard.ts';
import { errorResponses, op } from '../kit.ts';
import { iso } from '../render.ts';
import { findEsimByRef } from '../queries.ts';
import { ListOf, Nullable, PageQuery } from '../schemas.ts';
import { pageSorted } from '../pagination.ts';
import { transactionIdFor } from './orders.ts';

/**
 * Inventory: bundles bought now and applied later (eSIM Go's model, which the domain has). Buying moves the
 * money; applying is free, to an existing eSIM (a top-up) or to new eSIMs (a zero-amount order).
 */
export const InventoryItemSchema = Type.Object(
  {
    object: Type.Literal('inventory_item'),
    id: Type.String({ pattern: '^inv_[0-9]+$', description: 'inv_ and the usage id (eSIM Go\'s `available[].id`)' }),
    package_id: Type.String(),
    purchased: Type.Integer({ description: 'Bundles bought in this purchase' }),
    remaining: Type.Integer({ description: 'Bundles not yet applied or refunded' }),
    unit_price: Type.Integer({ description: 'Paid per bundle, in 1/10,000 of currency' }),
    currency: Type.String(),
    transaction_id: Type.String({ description: 'The purchase this came from' }),
    expires_at: Type.String({ format: 'date-time', description: 'Unapplied bundles can be applied or refunded until then (365 days)' }),
    created_at: Type.String({ format: 'date-time' }),
  },
  { title: 'InventoryItem' },
);

export const PurchaseBody = Type.Object(
  {
    transaction_id: Type.Optional(Type.String({ minLength: 1, maxLength: 50, description: 'Your reference; a repeat answers the first purchase. Defaults to the Idempotency-Key.' })),
    lines: Type.Array(Type.Object({ package_id: Type.String({ minLength: 1, maxLength: 100 }), quantity: Type.Integer({ minimum: 1, maximum: 10_000 }) }, { additionalProperties: false }), { minItems: 1, maxItems: 50 }),
  },
  { additionalProperties: false, title: 'InventoryPurchaseInput' },
);

export const PurchaseSchema = Type.Object(
  {
    object: Type.Literal('inventory_purchase'),
    transaction_id: Type.String(),
    amount: Type.Integer(),
    currency: Type.String(),
    lines: Type.Array(Type.Object({ package_id: Type.String(), quantity: Type.Integer(), unit_price: Type.Integer(), amount: Type.Integer() })),
    created_at: Type.String({ format: 'date-time' }),
  },
  { title: 'InventoryPurchase' },
);

export const ApplyBody = Type.Object(
  {
    package_id: Type.String({ minLength: 1, maxLength: 100 }),
    esim_id: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Apply to this eSIM (id, ICCID or esim_tran_no); omit for new eSIMs' })),
    count: Type.Optional(Type.Integer({ minimum: 1, maximum: 30, description: 'New eSIMs to make (without esim_id); default 1' })),
  },
  { additionalProperties: false, title: 'InventoryApplyInput' },
);

export const ApplySchema = Type.Object(
  {
    object: Type.Literal('inventory_application'),
    package_id: Type.String(),
    esim_id: Nullable(Type.String({ description: 'The eSIM the bundle went onto (when esim_id was given)' })),
    order_id: Nullable(Type.String({ description: 'The order making the new eSIMs: poll GET /v1/orders/{id}' })),
    count: Type.Integer(),
  },
  { title: 'InventoryApplication' },
);

const RefundBody = Type.Object({ quantity: Type.Integer({ minimum: 1, maximum: 10_000 }) }, { additionalProperties: false, title: 'InventoryRefundInput' });

/** Inventory items are eSIM Go usage ids on the wire of that dialect; /v1 prefixes them like its other ids. */
const inventoryId = (usageId: number | string) => `inv_${Number(usageId)}`;

function renderItem(row: EsimGoInventoryTable) {
  return {
    object: 'inventory_item' as const,
    id: inventoryId(row.usage_id),
    package_id: row.package_code,
    purchased: Number(row.total),
    remaining: Number(row.remaining),
    unit_price: Number(row.unit_price),
    currency: row.currency,
    transaction_id: row.reference,
    expires_at: iso(Number(row.expires_at))!,
    created_at: iso(Number(row.created_at))!,
  };
}

export async function inventoryRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const db = ctx.store.db;

  /** An application already made under this reference, as the first answer showed it. */
  async function storedApplication(partnerId: string, order: EsimGoOrderTable) {
    if (order.kind !== 'apply') throw new DomainError('conflict', `transaction_id ${order.reference} was used for another kind of request`);
    const [line] = JSON.parse(order.lines_json) as Array<{ packageCode: string; quantity: number; iccids?: string[] }>;
    const iccid = line?.iccids?.[0];
    const esim = iccid ? await findEsimByRef(db, partnerId, iccid) : null;
    return { object: 'inventory_application' as const, package_id: line?.packageCode ?? '', esim_id: esim?.id ?? null, order_id: order.order_id, count: line?.quantity ?? 0 };
  }
  const inventory = ctx.inventory;
  const nameOf = (pkg: PackageTable) => pkg.package_code;
  const packageOf = (id: string): PackageTable => {
    const pkg = ctx.catalog.get(id);
    if (!pkg || pkg.status !== 'active') throw new DomainError('package_not_found', `package ${id} does not exist`);
    return pkg;
  };

  app.get<{ Querystring: { limit?: number; cursor?: string } }>(
    '/inventory',
    { schema: { ...op('Inventory', 'listInventory', 'Bundles bought and not yet applied, by package'), querystring: Type.Object(PageQuery), response: { 200: ListOf(InventoryItemSchema, 'InventoryItem'), ...errorResponses } } },
    async (request) => {
      const who = caller(request);
      const rows = await inventory.list(who.partner.id, who.nowMs);
      return pageSorted(rows, request.query, ['string', 'number'], (r) => [r.package_code, Number(r.usage_id)], renderItem);
    },
  );

  app.post<{ Body: { transaction_id?: string; lines: Array<{ package_id: string; quantity: number }> } }>(
    '/inventory/purchases',
    { schema: { ...op('Inventory', 'purchaseInventory', 'Buy bundles into inventory', { mutating: true, description: 'Charges the balance now; apply the bundles later with POST /v1/inventory/apply.' }), body: PurchaseBody, response: { 201: PurchaseSchema, 200: PurchaseSchema, ...errorResponses } } },
    async (request, reply) => {
      const who = caller(request);
      const reference = transactionIdFor(request.body.transaction_id, who.idempotencyKey, 'inv');
      const priced = await inventory.price(who.partner, request.body.lines.map((l) => ({ pkg: packageOf(l.package_id), quantity: l.quantity })), nameOf, false, who.nowMs);
      const before = await inventory.findOrder(who.partner.id, reference);
      const { order } = before ? { order: before } : await inventory.transact(who.partner, { reference, priced, assign: false, sourceIp: request.ip, nowMs: who.nowMs });
      if (order.kind === 'apply' || order.assigned === 1) throw new DomainError('conflict', `transaction_id ${reference} was used for another kind of request`);
      const stored = JSON.parse(order.lines_json) as Array<{ packageCode: string; quantity: number; pricePerUnitMinor: number; subTotalMinor: number }>;
      reply.code(before ? 200 : 201);
      return {
        object: 'inventory_purchase' as const,
        transaction_id: reference,
        amount: Number(order.total),
        currency: order.currency,
        lines: stored.map((l) => ({ package_id: l.packageCode, quantity: l.quantity, unit_price: l.pricePerUnitMinor, amount: l.subTotalMinor })),
        created_at: iso(Number(order.created_at))!,
      };
    },
  );

  app.post<{ Body: { package_id: string; esim_id?: string; count?: number } }>(
    '/inventory/apply',
    { schema: { ...op('Inventory', 'applyInventory', 'Apply bundles from inventory', { mutating: true, description: 'To an existing eSIM (esim_id) or to new eSIMs (count). Nothing is charged: the bundles were paid for when bought. The Idempotency-Key is also the reference: another API key of the account sending the same key gets the first application (200).' }), body: ApplyBody, response: { 201: ApplySchema, 200: ApplySchema, ...errorResponses } } },
    async (request, reply) => {
      const who = caller(request);
      const pkg = packageOf(request.body.package_id);
      if (request.body.esim_id && request.body.count !== undefined && request.body.count !== 1) throw new DomainError('invalid_argument', 'count cannot be combined with esim_id');
      const esim = request.body.esim_id ? await findEsimByRef(db, who.partner.id, request.body.esim_id) : null;
      const count = esim ? 1 : (request.body.count ?? 1);
      const reference = transactionIdFor(undefined, who.idempotencyKey, 'app');
      // The reference comes from the Idempotency-Key, which is scoped per API key: another key of the same
      // account may send the same one. Like a repeated transaction_id, it answers the first application.
      const before = await inventory.findOrder(who.partner.id, reference);
      if (before) return reply.code(200).send(await storedApplication(who.partner.id, before));
      try {
        const result = await inventory.apply(who.partner, { reference, items: [{ pkg, iccid: esim?.iccid, repeat: count }], nameOf, nowMs: who.nowMs });
        ctx.notifyEvents();
        reply.code(201);
        return { object: 'inventory_application' as const, package_id: pkg.package_code, esim_id: esim?.id ?? null, order_id: result.coreOrder?.id ?? null, count };
      } catch (error) {
        const raced = await inventory.findOrder(who.partner.id, reference);
        if (!raced) throw error;
        return reply.code(200).send(await storedApplication(who.partner.id, raced));
      }
    },
  );

  app.post<{ Params: { id: string }; Body: { quantity: number } }>(
    '/inventory/:id/refund',
    {
      schema: {
        ...op('Inventory', 'refundInventory', 'Refund unapplied bundles to the balance', { mutating: true }),
        params: Type.Object({ id: Type.String({ pattern: '^(inv_)?[0-9]{1,15}$', description: 'The item id (inv_…), or its bare usage id as the eSIM Go dialect shows it' }) }),
        body: RefundBody,
        response: { 200: InventoryItemSchema, ...errorResponses },
      },
    },
    async (request) => {
      const who = caller(request);
      const usageId = Number(request.params.id.replace(/^inv_/, ''));
      await inventory.refund(who.partner, usageId, request.body.quantity, who.nowMs);
      const row = await db.selectFrom('esimgo_inventory').selectAll().where('partner_id', '=', who.partner.id).where('usage_id', '=', usageId).executeTakeFirstOrThrow();
      return renderItem(row);
    },
  );
}
