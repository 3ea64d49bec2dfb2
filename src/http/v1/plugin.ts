import AjvModule from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../context.ts';
import { authenticate, claimIdempotencyKey, finishIdempotencyKey, sweepIdempotencyKeys } from './guard.ts';
import { Problem, sendProblem } from './problem.ts';
import { catalogRoutes } from './routes/catalog.ts';
import { orderRoutes } from './routes/orders.ts';
import { esimRoutes } from './routes/esims.ts';
import { accountRoutes } from './routes/account.ts';
import { webhookRoutes } from './routes/webhooks.ts';

// ajv and ajv-formats are CommonJS: their default export is the module object under NodeNext.
const Ajv = ((AjvModule as unknown as { default?: unknown }).default ?? AjvModule) as typeof AjvModule.default;
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as typeof addFormatsModule.default;

/** Bodies are validated strictly (no type coercion, unknown fields refused); query, params and headers coerce from text. */
function validators() {
  const options = { useDefaults: true, removeAdditional: false as const, allErrors: true, strict: false };
  const body = new Ajv({ ...options, coerceTypes: false });
  const text = new Ajv({ ...options, coerceTypes: 'array' as const });
  addFormats(body);
  addFormats(text);
  return { body, text };
}

const SWEEP_EVERY_MS = 10 * 60_000;

/** esimhub's own REST API (/v1): Bearer keys, Idempotency-Key, cursor pages, RFC 9457 problems. */
export async function nativeApiPlugin(app: FastifyInstance, options: { ctx: AppContext }): Promise<void> {
  const { ctx } = options;
  const ajv = validators();
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? ajv.body : ajv.text).compile(schema as object));
  app.setErrorHandler((error, request, reply) => sendProblem(request, reply, error));
  app.setNotFoundHandler((request, reply) => sendProblem(request, reply, new Problem('not_found', `No route ${request.method} ${request.url.split('?')[0]}`)));

  app.addHook('onRequest', async (request) => {
    await authenticate(ctx, request);
  });
  app.addHook('preHandler', async (request, reply) => {
    if (await claimIdempotencyKey(ctx, request, reply)) return reply;
  });
  app.addHook('onSend', async (request, reply, payload) => {
    await finishIdempotencyKey(ctx, request, reply, payload);
    return payload;
  });

  let lastSweepMs = 0;
  app.addHook('onResponse', async () => {
    const nowMs = ctx.now();
    if (nowMs - lastSweepMs < SWEEP_EVERY_MS) return;
    lastSweepMs = nowMs;
    await sweepIdempotencyKeys(ctx, nowMs).catch((err) => ctx.log.warn({ err }, 'idempotency key sweep failed'));
  });

  await catalogRoutes(app, ctx);
  await orderRoutes(app, ctx);
  await esimRoutes(app, ctx);
  await accountRoutes(app, ctx);
  await webhookRoutes(app, ctx);
}
