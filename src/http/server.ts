import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { AppContext } from '../context.ts';
import { newId } from '../lib/ids.ts';
import { esimAccessPlugin } from './dialects/esimaccess/plugin.ts';
import { installPlugin } from './install/plugin.ts';
import { sandboxPlugin } from './sandbox/plugin.ts';
import { internalPlugin } from './internal/plugin.ts';
import { registerOpenApi } from './openapi.ts';
import { opsPlugin } from './ops/plugin.ts';
import { nativeApiPlugin } from './v1/plugin.ts';
import { esimGoPlugin } from './dialects/esimgo/plugin.ts';
import { dataplansPlugin } from './dialects/dataplans/plugin.ts';
import { consolePlugin } from './console/plugin.ts';
import { SANDBOX_PATH_PREFIX } from './sandbox-base.ts';

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,100}$/;
// Request ids: a per-process random prefix plus a counter, unique without a random draw per request.
const REQUEST_ID_PREFIX = `req_${newId('p').slice(2, 14)}`;
let requestCounter = 0;

/** Builds the HTTP server with every dialect mounted. Listening is the caller's decision. */
export async function buildServer(ctx: AppContext): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: ctx.log as unknown as FastifyBaseLogger,
    // A client's own X-Request-Id is kept (so both sides can grep one id), else a fresh one is made.
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : `${REQUEST_ID_PREFIX}${(++requestCounter).toString(36)}`;
    },
    trustProxy: ctx.config.trustProxy,
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
  });

  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });

  await registerOpenApi(app, ctx);
  await app.register(opsPlugin, { ctx });

  await app.register(esimAccessPlugin, { prefix: '/api/v1/open', ctx });
  await app.register(nativeApiPlugin, { prefix: '/v1', ctx });
  await app.register(nativeApiPlugin, { prefix: `${SANDBOX_PATH_PREFIX}/v1`, ctx, sandbox: true });
  await app.register(esimGoPlugin, { ctx });
  await app.register(dataplansPlugin, { ctx });
  await app.register(installPlugin, { ctx });
  await app.register(sandboxPlugin, { prefix: '/sandbox', ctx });
  await app.register(internalPlugin, { prefix: '/internal', ctx });
  await app.register(consolePlugin, { ctx });

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: { type: 'not_found', message: `No route ${request.method} ${request.url.split('?')[0]}`, request_id: request.id } });
  });
  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) request.log.error({ err: error }, 'unhandled error');
    reply.code(status).send({
      error: { type: status === 500 ? 'internal_error' : 'invalid_request', message: status === 500 ? 'Internal error' : error.message, request_id: request.id },
    });
  });
  return app as unknown as FastifyInstance;
}
