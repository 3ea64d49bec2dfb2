import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppContext } from '../../../context.ts';
import { cancelEsim, revokeEsim, suspendEsim, unsuspendEsim } from '../../../domain/esims/esims.ts';
import { sendSms } from '../../../domain/esims/sms.ts';
import { topUp } from '../../../domain/ordering/topup.ts';
import type { Esim } from '../../../store/schema.ts';
import { caller } from '../guard.ts';
import { page } from '../pagination.ts';
import { esimDetails, findEsimByRef, findOrder, listEsims, listSmsPage, listUsageRecords, timeParam } from '../queries.ts';
import { iso, renderEsim, renderSms, renderUsageRecord } from '../render.ts';
import { EsimListQuery, EsimSchema, IdParams, ListOf, PageQuery, SmsBody, SmsSchema, TopupBody, TopupSchema, UsageSchema } from '../schemas.ts';
import { errorResponses, op } from '../kit.ts';
import { transactionIdFor } from './orders.ts';

type Page = { limit?: number; cursor?: string };

export async function esimRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const db = ctx.store.db;
  const render = async (esims: Esim[]) => {
    const details = await esimDetails(db, esims);
    return (e: Esim) => renderEsim(e, details.bundlesOf(e.id), details.orderNoOf(e.order_id), ctx.config.publicBaseUrl);
  };
  const one = async (esim: Esim) => (await render([esim]))(esim);

  app.get<{ Querystring: Page & { order_id?: string; iccid?: string; status?: string; created_after?: string; created_before?: string } }>(
    '/esims',
    {
      schema: {
        ...op('eSIMs', 'listEsims', 'List eSIMs, newest first'),
        querystring: EsimListQuery,
        response: { 200: ListOf(EsimSchema, 'Esim'), ...errorResponses },
      },
    },
    async (request) => {
      const q = request.query;
      const { partner } = caller(request);
      const limit = q.limit ?? 20;
      const orderId = q.order_id ? (await findOrder(db, partner.id, q.order_id)).id : undefined;
      const rows = await listEsims(db, partner.id, {
        limit,
        cursor: q.cursor,
        orderId,
        iccid: q.iccid,
        status: q.status,
        afterMs: timeParam(q.created_after, 'created_after'),
        beforeMs: timeParam(q.created_before, 'created_before'),
      });
      const draw = await render(rows.slice(0, limit));
      return page(rows, limit, (e) => [Number(e.created_at), e.id], draw);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/esims/:id',
    {
      schema: {
        ...op('eSIMs', 'getEsim', 'Get an eSIM by id (esim_…), ICCID or esim_tran_no'),
        params: IdParams,
        response: { 200: EsimSchema, ...errorResponses },
      },
    },
    async (request) => one(await findEsimByRef(db, caller(request).partner.id, request.params.id)),
  );

  const actions = [
    ['cancel', 'cancelEsim', 'Cancel a never-installed eSIM and refund it', cancelEsim],
    ['suspend', 'suspendEsim', 'Suspend an eSIM', suspendEsim],
    ['resume', 'resumeEsim', 'Resume a suspended eSIM', unsuspendEsim],
    ['revoke', 'revokeEsim', 'Revoke an eSIM for good (not refunded)', revokeEsim],
  ] as const;
  for (const [action, operationId, summary, run] of actions) {
    app.post<{ Params: { id: string } }>(
      `/esims/:id/${action}`,
      {
        schema: { ...op('eSIMs', operationId, summary, { mutating: true }), params: IdParams, response: { 200: EsimSchema, ...errorResponses } },
      },
      async (request) => {
        const who = caller(request);
        const esim = await findEsimByRef(db, who.partner.id, request.params.id);
        await run(db, who.partner.id, { esimTranNo: esim.esim_tran_no }, who.nowMs);
        ctx.notifyEvents();
        return one(await findEsimByRef(db, who.partner.id, esim.id));
      },
    );
  }

  app.post<{ Params: { id: string }; Body: { package_id: string; transaction_id?: string; amount?: number } }>(
    '/esims/:id/topups',
    {
      schema: {
        ...op('eSIMs', 'topUpEsim', 'Top up an eSIM', { mutating: true, description: 'Adds a compatible top-up package (GET /v1/packages?type=topup&topup_for_esim=…) and charges it.' }),
        params: IdParams,
        body: TopupBody,
        response: { 201: TopupSchema, 200: TopupSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const who = caller(request);
      const esim = await findEsimByRef(db, who.partner.id, request.params.id);
      const transactionId = transactionIdFor(request.body.transaction_id, who.idempotencyKey, 'tup');
      const result = await topUp(db, ctx.catalog, { partner: who.partner, ref: { esimTranNo: esim.esim_tran_no }, packageCode: request.body.package_id, transactionId, amountMinor: request.body.amount, nowMs: who.nowMs });
      const order = await db.selectFrom('orders').selectAll().where('partner_id', '=', who.partner.id).where('kind', '=', 'topup').where('transaction_id', '=', transactionId).executeTakeFirstOrThrow();
      const bundle = await db.selectFrom('bundles').select(['package_code']).where('order_id', '=', order.id).executeTakeFirst();
      reply.code(result.created ? 201 : 200);
      return { object: 'topup' as const, order_id: order.id, transaction_id: transactionId, package_id: bundle?.package_code ?? request.body.package_id, amount: Number(order.amount), currency: order.currency, esim: await one(result.esim) };
    },
  );

  app.get<{ Params: { id: string }; Querystring: Page }>(
    '/esims/:id/usage',
    {
      schema: {
        ...op('eSIMs', 'getEsimUsage', 'Data used, and the usage records behind it (newest first)'),
        params: IdParams,
        querystring: Type.Object(PageQuery),
        response: { 200: UsageSchema, ...errorResponses },
      },
    },
    async (request) => {
      const esim = await findEsimByRef(db, caller(request).partner.id, request.params.id);
      const limit = request.query.limit ?? 20;
      const rows = await listUsageRecords(db, esim.id, { limit, cursor: request.query.cursor });
      const used = Number(esim.order_usage);
      const total = Number(esim.total_volume);
      return {
        object: 'usage' as const,
        esim_id: esim.id,
        used_bytes: used,
        total_bytes: total,
        remaining_bytes: Math.max(0, total - used),
        updated_at: iso(esim.last_usage_at ?? esim.created_at)!,
        records: page(rows, limit, (r) => [Number(r.received_at), r.record_key], renderUsageRecord),
      };
    },
  );

  app.get<{ Params: { id: string }; Querystring: Page }>(
    '/esims/:id/sms',
    {
      schema: {
        ...op('eSIMs', 'listEsimSms', 'List SMS sent to and from an eSIM, newest first'),
        params: IdParams,
        querystring: Type.Object(PageQuery),
        response: { 200: ListOf(SmsSchema, 'Sms'), ...errorResponses },
      },
    },
    async (request) => {
      const esim = await findEsimByRef(db, caller(request).partner.id, request.params.id);
      const limit = request.query.limit ?? 20;
      const rows = await listSmsPage(db, esim.id, { limit, cursor: request.query.cursor });
      return page(rows, limit, (m) => [Number(m.created_at), m.id], renderSms);
    },
  );

  app.post<{ Params: { id: string }; Body: { message: string } }>(
    '/esims/:id/sms',
    {
      schema: {
        ...op('eSIMs', 'sendEsimSms', 'Send an SMS to an installed eSIM', { mutating: true }),
        params: IdParams,
        body: SmsBody,
        response: { 201: SmsSchema, ...errorResponses },
      },
    },
    async (request: FastifyRequest<{ Params: { id: string }; Body: { message: string } }>, reply) => {
      const who = caller(request);
      const esim = await findEsimByRef(db, who.partner.id, request.params.id);
      const { messageId } = await sendSms(db, who.partner.id, { esimTranNo: esim.esim_tran_no }, request.body.message, who.nowMs);
      reply.code(201);
      return renderSms({ id: messageId, direction: 'mt', sender: 'API', body: request.body.message, created_at: who.nowMs });
    },
  );
}
