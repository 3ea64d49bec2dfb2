import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../context.ts';
import { authenticate, claimIdempotencyKey, finishIdempotencyKey, sweepIdempotencyKeys } from './guard.ts';
import { Problem, sendProblem } from './problem.ts';
import { useStrictValidation } from './validation.ts';
import { trackAllowedMethods } from './allowed-methods.ts';
import { catalogRoutes } from './routes/catalog.ts';
import { orderRoutes } from './routes/orders.ts';
import { esimRoutes } from './routes/esims.ts';
import { accountRoutes } from './routes/account.ts';
import { webhookRoutes } from './routes/webhooks.ts';
import { inventoryRoutes } from './routes/inventory.ts';

const SWEEP_EVERY_MS = 10 * 60_000;

/** esimhub's own REST API (/v1): Bearer keys, Idempotency-Key, cursor pages, RFC 9457 problems. */
export async function nativeApiPlugin(app: FastifyInstance, options: { ctx: AppContext; /** Mounted at the sandbox base (/sandbox/v1): live keys reach their sandbox twin. */ sandbox?: boolean }): Promise<void> {
  const { ctx } = options;
  const viaSandboxBase = options.sandbox === true;
  // The sandbox base serves the same operations: documented once, under /v1.
  if (viaSandboxBase) app.addHook('onRoute', (route) => void (route.schema = { ...(route.schema ?? {}), hide: true } as typeof route.schema));
  useStrictValidation(app);
  app.setErrorHandler((error, request, reply) => sendProblem(request, reply, error));
  const allowedMethods = trackAllowedMethods(app);
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    const allowed = allowedMethods(path);
    if (allowed.length) {
      const allow = allowed.join(', ');
      return sendProblem(request, reply, new Problem('method_not_allowed', `${request.method} is not allowed on ${path}; it answers ${allow}`, { headers: { allow } }));
    }
    return sendProblem(request, reply, new Problem('not_found', `No route ${request.method} ${path}`));
  });

  app.addHook('onRequest', async (request) => {
    await authenticate(ctx, request, viaSandboxBase);
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
  await inventoryRoutes(app, ctx);
}
