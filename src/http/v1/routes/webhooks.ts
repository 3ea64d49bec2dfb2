
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../../context.ts';
import type { Partner, WebhookDeliveryStatus } from '../../../store/schema.ts';
import { DomainError } from '../../../domain/errors.ts';
import { checkWebhookTarget, parseWebhookUrl } from '../../../lib/webhook-url.ts';
import type { WebhookSecrets } from '../../../domain/notifications/webhooks.ts';
import { caller } from '../guard.ts';
import { page } from '../pagination.ts';
import { Problem } from '../problem.ts';
import { listDeliveryPage } from '../queries.ts';
import { iso, renderDelivery, webhookEndpointId } from '../render.ts';
import { DeliveryQuery, IdParams, ListOf, WebhookDeliverySchema, WebhookEndpointBody, WebhookEndpointSchema, WebhookSecretSchema, WebhookTestSchema } from '../schemas.ts';
import { errorResponses, NoContent, op } from '../kit.ts';

const DIALECT = 'esimaccess';

/**
 * A partner has one webhook endpoint today (partners.webhook_url), shown as a collection of at most one so
 * more can come without breaking clients. Its id is derived from the partner id.
 */
export async function webhookRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const db = ctx.store.db;
  const view = (partnerId: string, url: string, secret?: string) => ({ object: 'webhook_endpoint' as const, id: webhookEndpointId(partnerId), url, dialect: DIALECT, ...(secret ? { secret } : {}) });

  async function current(partnerId: string, id?: string): Promise<{ url: string; secrets: WebhookSecrets | null }> {
    const { url, secrets } = await ctx.webhooks.get(partnerId);
    if (!url || (id !== undefined && id !== webhookEndpointId(partnerId))) throw new DomainError('not_found', `The webhook endpoint ${id ?? ''} does not exist`.trim());
    return { url, secrets };
  }

  /** The same checks as the eSIM Access webhook/save: a valid URL, a public address for live, a 2xx to CHECK_HEALTH. */
  async function checkedSave(partner: Partner, given: string): Promise<WebhookSecrets> {
    const parsed = parseWebhookUrl(given);
    if ('error' in parsed) throw new Problem('invalid_request', `url is invalid: ${parsed.error}`, { errors: [{ loc: 'body.url', msg: parsed.error, type: 'format' }] });
    if (partner.environment === 'live' && !ctx.config.allowPrivateWebhooks) {
      const refused = await checkWebhookTarget(parsed.url);
      if (refused) throw new Problem('invalid_request', `url is refused: ${refused}; live webhooks must reach a public address`, { errors: [{ loc: 'body.url', msg: refused, type: 'format' }] });
    }
    const secrets = await ctx.webhooks.secretsForSave(partner.id);
    const check = await ctx.dispatcher.checkHealth(given, secrets, partner.environment);
    if (!check.ok) {
      const answer = check.statusCode !== null ? `answered HTTP ${check.statusCode}` : `failed (${check.error})`;
      throw new Problem('webhook_unreachable', `the CHECK_HEALTH test send to ${given} ${answer}; the endpoint must answer a POST with a 2xx status`);
    }
    await ctx.webhooks.save(partner.id, given, secrets, ctx.now());
    ctx.keys.invalidate();
    return secrets;
  }

  app.get(
    '/webhook-endpoints',
    { schema: { ...op('Webhooks', 'listWebhookEndpoints', 'List webhook endpoints (at most one today)'), response: { 200: ListOf(WebhookEndpointSchema, 'WebhookEndpoint'), ...errorResponses } } },
    async (request) => {
      const partnerId = caller(request).partner.id;
      const { url } = await ctx.webhooks.get(partnerId);
      return { object: 'list' as const, data: url ? [view(partnerId, url)] : [], has_more: false, next_cursor: null };
    },
  );

  app.post<{ Body: { url: string } }>(
    '/webhook-endpoints',
    {
      schema: {
        ...op('Webhooks', 'createWebhookEndpoint', 'Create the webhook endpoint', { mutating: true, description: 'The URL must answer a signed CHECK_HEALTH POST with 2xx. The answer carries the signing secret (Standard Webhooks).' }),
        body: WebhookEndpointBody,
        response: { 201: WebhookEndpointSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { partner } = caller(request);
      const existing = await ctx.webhooks.get(partner.id);
      if (existing.url) throw new Problem('conflict', `you already have a webhook endpoint (${webhookEndpointId(partner.id)}); update or delete it`);
      const secrets = await checkedSave(partner, request.body.url);
      reply.code(201);
      return view(partner.id, request.body.url, secrets.current);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/webhook-endpoints/:id',
    { schema: { ...op('Webhooks', 'getWebhookEndpoint', 'Get the webhook endpoint'), params: IdParams, response: { 200: WebhookEndpointSchema, ...errorResponses } } },
    async (request) => {
      const partnerId = caller(request).partner.id;
      return view(partnerId, (await current(partnerId, request.params.id)).url);
    },
  );

  app.patch<{ Params: { id: string }; Body: { url: string } }>(
    '/webhook-endpoints/:id',
    {
      schema: { ...op('Webhooks', 'updateWebhookEndpoint', 'Change the webhook URL', { mutating: true }), params: IdParams, body: WebhookEndpointBody, response: { 200: WebhookEndpointSchema, ...errorResponses } },
    },
    async (request) => {
      const { partner } = caller(request);
      await current(partner.id, request.params.id);
      await checkedSave(partner, request.body.url);
      return view(partner.id, request.body.url);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/webhook-endpoints/:id',
    { schema: { ...op('Webhooks', 'deleteWebhookEndpoint', 'Delete the webhook endpoint', { mutating: true }), params: IdParams, response: { 204: NoContent, ...errorResponses } } },
    async (request, reply) => {
      const { partner } = caller(request);
      await current(partner.id, request.params.id);
      await ctx.webhooks.save(partner.id, null, null, ctx.now());
      ctx.keys.invalidate();
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { id: string } }>(
    '/webhook-endpoints/:id/secret',
    { schema: { ...op('Webhooks', 'getWebhookSecret', 'Get the signing secret'), params: IdParams, response: { 200: WebhookSecretSchema, ...errorResponses } } },
    async (request) => {
      const partnerId = caller(request).partner.id;
      await current(partnerId, request.params.id);
      const secrets = await ctx.webhooks.secret(partnerId);
      const until = secrets.previous && (secrets.previousUntil ?? 0) > ctx.now() ? iso(secrets.previousUntil) : null;
      return { object: 'webhook_secret' as const, secret: secrets.current, previous_secret_valid_until: until };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/webhook-endpoints/:id/rotate-secret',
    {
      schema: {
        ...op('Webhooks', 'rotateWebhookSecret', 'Rotate the signing secret', { mutating: true, description: 'Both secrets sign (two v1 signatures) until previous_secret_valid_until.' }),
        params: IdParams,
        response: { 200: WebhookSecretSchema, ...errorResponses },
      },
    },
    async (request) => {
      const partnerId = caller(request).partner.id;
      await current(partnerId, request.params.id);
      const rotated = await ctx.webhooks.rotateSecret(partnerId, ctx.now());
      return { object: 'webhook_secret' as const, secret: rotated.secret, previous_secret_valid_until: iso(rotated.previousValidUntil) };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/webhook-endpoints/:id/test',
    {
      schema: { ...op('Webhooks', 'testWebhookEndpoint', 'Send a signed CHECK_HEALTH test event now', { mutating: true }), params: IdParams, response: { 200: WebhookTestSchema, ...errorResponses } },
    },
    async (request) => {
      const { partner } = caller(request);
      const { url } = await current(partner.id, request.params.id);
      const secrets = await ctx.webhooks.secret(partner.id);
      const result = await ctx.dispatcher.checkHealth(url, secrets, partner.environment);
      return { object: 'webhook_test' as const, ok: result.ok, status_code: result.statusCode, latency_ms: Math.round(result.latencyMs), error: result.error };
    },
  );

  app.get<{ Querystring: { limit?: number; cursor?: string; status?: WebhookDeliveryStatus } }>(
    '/webhook-deliveries',
    {
      schema: { ...op('Webhooks', 'listWebhookDeliveries', 'List webhook deliveries, newest first'), querystring: DeliveryQuery, response: { 200: ListOf(WebhookDeliverySchema, 'WebhookDelivery'), ...errorResponses } },
    },
    async (request) => {
      const q = request.query;
      const limit = q.limit ?? 20;
      const rows = await listDeliveryPage(db, caller(request).partner.id, { limit, cursor: q.cursor, status: q.status });
      return page(rows, limit, (d) => [Number(d.event_seq), d.id], renderDelivery);
    },
  );

  async function ownDelivery(partnerId: string, id: string) {
    const row = await db
      .selectFrom('webhook_deliveries')
      .innerJoin('events', 'events.id', 'webhook_deliveries.event_id')
      .selectAll('webhook_deliveries')
      .select('events.type as event_type')
      .where('webhook_deliveries.id', '=', id)
      .where('webhook_deliveries.partner_id', '=', partnerId)
      .executeTakeFirst();
    if (!row) throw new DomainError('not_found', `The webhook delivery ${id} does not exist`);
    return row;
  }

  app.get<{ Params: { id: string } }>(
    '/webhook-deliveries/:id',
    { schema: { ...op('Webhooks', 'getWebhookDelivery', 'Get a webhook delivery'), params: IdParams, response: { 200: WebhookDeliverySchema, ...errorResponses } } },
    async (request) => renderDelivery(await ownDelivery(caller(request).partner.id, request.params.id)),
  );

  app.post<{ Params: { id: string } }>(
    '/webhook-deliveries/:id/resend',
    {
      schema: {
        ...op('Webhooks', 'resendWebhookDelivery', 'Send a delivery again', { mutating: true, description: 'Queues it at once with the same webhook-id; it starts a fresh retry cycle.' }),
        params: IdParams,
        response: { 200: WebhookDeliverySchema, ...errorResponses },
      },
    },
    async (request) => {
      const partnerId = caller(request).partner.id;
      await ownDelivery(partnerId, request.params.id);
      await ctx.webhooks.resend(request.params.id, ctx.now());
      ctx.notifyEvents();
      return renderDelivery(await ownDelivery(partnerId, request.params.id));
    },
  );
}

