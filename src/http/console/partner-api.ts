import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { partnerNow, type AppContext } from '../../context.ts';
import type { ResolvedSession } from '../../domain/console/accounts.ts';
import { deleteBranding, DEFAULT_ACCENT, getBranding, qrBrandOf, saveBranding, type Branding } from '../../domain/console/branding.ts';
import { dashboardOf } from '../../domain/console/dashboard.ts';
import { listDeposits, requestDeposit, type DepositRequest } from '../../domain/console/deposits.ts';
import { DomainError } from '../../domain/errors.ts';
import type { Partner } from '../../store/schema.ts';
import { renderBrandedQr } from '../install/qr.ts';
import { decodeCursor, page } from '../v1/pagination.ts';
import { Problem } from '../v1/problem.ts';
import { iso } from '../v1/render.ts';
import { useStrictValidation } from '../v1/validation.ts';
import { requireSession } from './auth-api.ts';

const hidden = { hide: true };

const DepositBody = Type.Object(
  {
    amount: Type.Integer({ description: 'In 1/10,000 of the currency unit' }),
    reference: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
const DepositQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  cursor: Type.Optional(Type.String({ maxLength: 500 })),
  status: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('approved'), Type.Literal('rejected')])),
});
const BrandingBody = Type.Object(
  {
    display_name: Type.String({ maxLength: 200 }),
    // The domain checks the decoded size (100 kB) with a clearer message; this only stops absurd bodies.
    logo_data_url: Type.Union([Type.String({ maxLength: 200_000 }), Type.Null()]),
    accent_color: Type.String({ maxLength: 20 }),
  },
  { additionalProperties: false },
);

/** A sample activation code for previews: shaped like a real one, installable nowhere. */
const PREVIEW_AC = 'LPA:1$smdp.example.invalid$PREVIEW-0000-0000-0000';

function renderDeposit(d: DepositRequest) {
  return {
    object: 'deposit_request' as const,
    id: d.id,
    amount: Number(d.amount_minor),
    currency: d.currency,
    reference: d.reference || null,
    status: d.status,
    created_at: iso(d.created_at)!,
    decided_at: iso(d.decided_at),
    transfer_id: d.transfer_id,
  };
}

function renderBranding(b: Branding | null, partner: Partner) {
  return {
    object: 'branding' as const,
    configured: b !== null,
    display_name: b?.display_name ?? partner.name,
    logo_data_url: b?.logo_data_url ?? null,
    accent_color: b?.accent_color ?? DEFAULT_ACCENT,
    updated_at: iso(b?.updated_at),
  };
}

/**
 * The partner console's own API: what /v1 has no resource for. The console does everything else (orders,
 * eSIMs, ledger, keys, webhooks) through /v1 with its session cookie.
 */
export async function partnerRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  useStrictValidation(app);
  const db = ctx.store.db;

  async function partnerSession(request: FastifyRequest): Promise<ResolvedSession & { partner: Partner }> {
    const session = await requireSession(ctx, request, 'partner');
    return session as ResolvedSession & { partner: Partner };
  }
  /** Changes need an active account; reading stays possible for a suspended one. */
  async function activePartner(request: FastifyRequest) {
    const session = await partnerSession(request);
    if (session.partner.status !== 'active') throw new Problem('forbidden', `the account is ${session.partner.status}`);
    return session;
  }

  app.get('/dashboard', { schema: hidden }, async (request) => {
    const { partner } = await partnerSession(request);
    return { object: 'dashboard' as const, ...(await dashboardOf(db, partner.id, partnerNow(ctx, partner))) };
  });

  app.get<{ Querystring: { limit?: number; cursor?: string; status?: DepositRequest['status'] } }>('/deposits', { schema: { ...hidden, querystring: DepositQuery } }, async (request) => {
    const { partner } = await partnerSession(request);
    const limit = request.query.limit ?? 20;
    const after = decodeCursor(request.query.cursor, ['number', 'string']);
    const rows = await listDeposits(db, { partnerId: partner.id, status: request.query.status, limit: limit + 1, before: after ? { createdAt: after[0] as number, id: after[1] as string } : undefined });
    return page(rows, limit, (d) => [Number(d.created_at), d.id], renderDeposit);
  });

  app.post<{ Body: { amount: number; reference?: string } }>('/deposits', { schema: { ...hidden, body: DepositBody } }, async (request, reply) => {
    const { partner, user } = await activePartner(request);
    const given = request.headers['idempotency-key'];
    const idempotencyKey = typeof given === 'string' ? given : undefined;
    const { deposit, created } = await requestDeposit(db, { partner, amountMinor: request.body.amount, reference: request.body.reference, userId: user.id, idempotencyKey }, partnerNow(ctx, partner));
    // A sandbox deposit credited the wallet: the cached balance and low-balance state must see it.
    if (deposit.status === 'approved') ctx.keys.invalidate();
    return reply.code(created ? 201 : 200).send(renderDeposit(deposit));
  });

  app.get('/branding', { schema: hidden }, async (request) => {
    const { partner } = await partnerSession(request);
    return renderBranding(await getBranding(db, partner.id), partner);
  });

  app.put<{ Body: { display_name: string; logo_data_url: string | null; accent_color: string } }>('/branding', { schema: { ...hidden, body: BrandingBody } }, async (request) => {
    const { partner } = await activePartner(request);
    const body = request.body;
    const saved = await saveBranding(db, partner.id, { displayName: body.display_name, logoDataUrl: body.logo_data_url, accentColor: body.accent_color }, ctx.now());
    return renderBranding(saved, partner);
  });

  app.delete('/branding', { schema: hidden }, async (request, reply) => {
    const { partner } = await activePartner(request);
    await deleteBranding(db, partner.id);
    return reply.code(204).send();
  });

  // The saved branding on a sample code: what /qr/<token>.svg shows for this partner's eSIMs.
  app.get('/branding/qr-preview.svg', { schema: hidden }, async (request, reply) => {
    const { partner } = await partnerSession(request);
    const branding = await getBranding(db, partner.id);
    const { svg } = renderBrandedQr(PREVIEW_AC, qrBrandOf(branding));
    return reply.header('content-security-policy', "default-src 'none'; img-src data:; sandbox").type('image/svg+xml; charset=utf-8').send(svg);
  });

  // /v1 shows a delivery's status; the console also shows what was sent and every attempt.
  app.get<{ Params: { id: string } }>('/webhook-deliveries/:id', { schema: { ...hidden, params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) }) } }, async (request) => {
    const { partner } = await partnerSession(request);
    const delivery = await db
      .selectFrom('webhook_deliveries')
      .innerJoin('events', 'events.id', 'webhook_deliveries.event_id')
      .selectAll('webhook_deliveries')
      .select(['events.type as event_type', 'events.payload as payload', 'events.occurred_at as occurred_at'])
      .where('webhook_deliveries.id', '=', request.params.id)
      .where('webhook_deliveries.partner_id', '=', partner.id)
      .executeTakeFirst();
    if (!delivery) throw new DomainError('not_found', `The webhook delivery ${request.params.id} does not exist`);
    const attempts = await db.selectFrom('webhook_attempts').selectAll().where('delivery_id', '=', delivery.id).orderBy('attempt_no', 'desc').limit(50).execute();
    let payload: unknown = delivery.payload;
    try {
      payload = JSON.parse(delivery.payload);
    } catch {
      // shown as stored
    }
    return {
      object: 'webhook_delivery' as const,
      id: delivery.id,
      event_id: delivery.event_id,
      event_type: delivery.event_type,
      subject: delivery.subject,
      url: delivery.url,
      status: delivery.status,
      attempts: delivery.attempts,
      last_status_code: delivery.last_status_code,
      last_error: delivery.last_error,
      next_attempt_at: delivery.status === 'pending' || delivery.status === 'failed' ? iso(delivery.next_attempt_at) : null,
      delivered_at: iso(delivery.delivered_at),
      occurred_at: iso(delivery.occurred_at),
      created_at: iso(delivery.created_at),
      payload,
      attempt_log: attempts.map((a) => ({
        attempt_no: a.attempt_no,
        url: a.url,
        started_at: iso(a.started_at),
        latency_ms: Number(a.latency_ms),
        status_code: a.status_code,
        error: a.error,
        response_excerpt: a.response_excerpt,
      })),
    };
  });
}
