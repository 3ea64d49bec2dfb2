import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../../context.ts';
import { walletBalance } from '../../../domain/ledger/ledger.ts';
import type { OrderLineInput } from '../../../domain/ordering/ordering.ts';
import { DomainError } from '../../../domain/errors.ts';
import { newId } from '../../../lib/ids.ts';
import type { OrderTable } from '../../../store/schema.ts';
import { caller } from '../guard.ts';
import { page } from '../pagination.ts';
import { findOrder, listOrders, orderItems } from '../queries.ts';
import { renderOrder, renderPricedLines } from '../render.ts';
import { CreateOrderBody, IdParams, ListOf, OrderListQuery, OrderSchema, OrderValidationSchema, QrArchiveResponse, type CreateOrderInput } from '../schemas.ts';
import { errorResponses, op } from '../kit.ts';
import { Problem } from '../problem.ts';
import { QrCache, renderBrandedQrSvg } from '../../install/qr.ts';
import { shortUrl } from '../../dialects/esimaccess/render-esim.ts';
import { buildQrArchive } from '../../../domain/console/qr-archive.ts';
import { getBranding, qrBrandOf } from '../../../domain/console/branding.ts';

const TRANSACTION_ID_MAX = 50;
/** Rendered QR PNGs kept for ZIP downloads (an order has at most 30 lines of 30 profiles). */
const QR_ARCHIVE_CACHE_ENTRIES = 1000;

/**
 * The transaction id of a mutating call: the caller's own, else derived from the Idempotency-Key (so a
 * retried request is the same order even if the key row was swept), else fresh.
 */
export function transactionIdFor(given: string | undefined, idempotencyKey: string | undefined, prefix: string): string {
  if (given) return given;
  if (idempotencyKey) return idempotencyKey.length <= TRANSACTION_ID_MAX ? idempotencyKey : `idem_${createHash('sha256').update(idempotencyKey).digest('base64url').slice(0, 40)}`;
  return newId(prefix);
}

function lines(body: CreateOrderInput): OrderLineInput[] {
  return body.lines.map((l) => ({ packageCode: l.package_id, count: l.count, periodNum: l.period_num, priceMinor: l.price }));
}

export async function orderRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  app.post<{ Body: CreateOrderInput }>(
    '/orders',
    {
      schema: {
        ...op('Orders', 'createOrder', 'Order eSIMs', {
          mutating: true,
          description: 'Charges your balance at once and allocates the profiles in the background: the order is `allocating` until it is `ready` (poll GET /v1/orders/{id}, or listen for ORDER_STATUS webhooks). A repeated transaction_id answers the first order (200).',
        }),
        body: CreateOrderBody,
        response: { 201: OrderSchema, 200: OrderSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const who = caller(request);
      const transactionId = transactionIdFor(request.body.transaction_id, who.idempotencyKey, 'txn');
      const { order, created } = await ctx.ordering.place({ partner: who.partner, transactionId, lines: lines(request.body), amountMinor: request.body.amount, nowMs: who.nowMs });
      // A new one-line order's line follows from its total (amount = unit price x count): no read needed.
      const only = request.body.lines.length === 1 ? request.body.lines[0] : undefined;
      const pkg = only && ctx.catalog.get(only.package_id);
      const items =
        created && only && pkg
          ? [{ id: '', order_id: order.id, line_no: 1, package_code: pkg.package_code, count: only.count, period_num: pkg.is_daypass === 1 ? (only.period_num ?? null) : null, unit_price: Number(order.amount) / only.count, line_amount: Number(order.amount) }]
          : ((await orderItems(ctx.store.db, [order.id])).get(order.id) ?? []);
      reply.code(created ? 201 : 200);
      return renderOrder(order, items);
    },
  );

  app.post<{ Body: CreateOrderInput }>(
    '/orders/validate',
    {
      schema: {
        ...op('Orders', 'validateOrder', 'Check an order without placing it', { mutating: true, description: 'Prices the lines for you and checks the balance; nothing is charged or created.' }),
        body: CreateOrderBody,
        response: { 200: OrderValidationSchema, ...errorResponses },
      },
    },
    async (request) => {
      const who = caller(request);
      const priced = await ctx.ordering.priceLines(who.partner, lines(request.body));
      const amount = priced.reduce((sum, l) => sum + l.lineAmountMinor, 0);
      if (request.body.amount !== undefined && request.body.amount !== amount) {
        throw new DomainError('amount_mismatch', `Total order price amount is wrong: the order costs ${amount}, not ${request.body.amount}`);
      }
      const balance = await walletBalance(ctx.store.db, who.partner.id);
      return {
        object: 'order_validation' as const,
        valid: balance.balanceMinor >= amount,
        amount,
        currency: who.partner.currency,
        balance: balance.balanceMinor,
        balance_sufficient: balance.balanceMinor >= amount,
        lines: renderPricedLines(priced),
      };
    },
  );

  app.get<{ Querystring: { limit?: number; cursor?: string; status?: OrderTable['status']; transaction_id?: string } }>(
    '/orders',
    {
      schema: {
        ...op('Orders', 'listOrders', 'List orders, newest first'),
        querystring: OrderListQuery,
        response: { 200: ListOf(OrderSchema, 'Order'), ...errorResponses },
      },
    },
    async (request) => {
      const q = request.query;
      const limit = q.limit ?? 20;
      const rows = await listOrders(ctx.store.db, caller(request).partner.id, { limit, cursor: q.cursor, status: q.status, transactionId: q.transaction_id });
      const items = await orderItems(ctx.store.db, rows.slice(0, limit).map((o) => o.id));
      return page(rows, limit, (o) => [Number(o.created_at), o.id], (o) => renderOrder(o, items.get(o.id) ?? []));
    },
  );

  const qrCache = new QrCache(QR_ARCHIVE_CACHE_ENTRIES);
  app.get<{ Params: { id: string } }>(
    '/orders/:id/qr-codes.zip',
    {
      schema: {
        ...op('Orders', 'downloadOrderQrCodes', "Download an order's QR codes as a ZIP", {
          description: 'One PNG per eSIM named by its ICCID (cancelled and revoked eSIMs have none), with the partner\'s branding also one branded SVG per eSIM (`<ICCID>.svg`, logo and name as on /qr/<token>.svg), and esims.csv with every eSIM. While the order is still allocating: 409 order_in_progress with Retry-After.',
        }),
        params: IdParams,
        response: { 200: QrArchiveResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const partnerId = caller(request).partner.id;
      const order = await findOrder(ctx.store.db, partnerId, request.params.id);
      if (order.kind !== 'order') throw new DomainError('order_not_found', `The order ${request.params.id} does not exist`);
      if (order.status === 'allocating') {
        throw new Problem('order_in_progress', `the order is still being allocated (${order.allocated_count} of ${order.total_count} eSIMs); try again in a moment`, { headers: { 'retry-after': '1' } });
      }
      if (order.status === 'failed') throw new Problem('invalid_state', `the order failed (${order.failure_reason ?? 'no profiles'}) and was refunded: it has no eSIMs`);
      const esims = await ctx.store.db
        .selectFrom('esims')
        .select(['id', 'iccid', 'esim_status', 'ac', 'short_code'])
        .where('partner_id', '=', partnerId)
        .where('order_id', '=', order.id)
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      const brand = qrBrandOf(await getBranding(ctx.store.db, partnerId));
      const zip = await buildQrArchive(
        esims.map((e) => ({ id: e.id, iccid: e.iccid, status: e.esim_status, activationCode: e.ac, installUrl: shortUrl(ctx.config.publicBaseUrl, e) })),
        async (code) => (await qrCache.get(code)).png,
        brand ? (code) => renderBrandedQrSvg(code, brand) : null,
      );
      return reply
        .type('application/zip')
        .header('content-disposition', `attachment; filename="qr-codes-${order.order_no}.zip"`)
        .header('cache-control', 'private, no-store')
        .send(Buffer.from(zip.buffer, zip.byteOffset, zip.byteLength));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/orders/:id',
    {
      schema: {
        ...op('Orders', 'getOrder', 'Get an order by id (ord_…) or order number'),
        params: IdParams,
        response: { 200: OrderSchema, ...errorResponses },
      },
    },
    async (request) => {
      const order = await findOrder(ctx.store.db, caller(request).partner.id, request.params.id);
      if (order.kind !== 'order') throw new DomainError('order_not_found', `The order ${request.params.id} does not exist`);
      return renderOrder(order, (await orderItems(ctx.store.db, [order.id])).get(order.id) ?? []);
    },
  );
}
