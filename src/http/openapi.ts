import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.ts';
import { esimAccessRouteSchema } from './v1/esimaccess-docs.ts';

export const ESIMACCESS_PREFIX = '/api/v1/open';

/** Which routes the document covers: esimhub's own API and the eSIM Access dialect. */
export function isDocumentedUrl(url: string): boolean {
  return url === '/v1' || url.startsWith('/v1/') || url.startsWith(`${ESIMACCESS_PREFIX}/`);
}

/** Every (method, url) registered under a documented prefix, for the test that the document covers them all. */
const registered = new WeakMap<FastifyInstance, Array<{ method: string; url: string }>>();
export function documentedRoutes(app: FastifyInstance): Array<{ method: string; url: string }> {
  return registered.get(app) ?? [];
}

/** Registers OpenAPI generation (it must see every route, so it is registered before them) and the docs UI. */
export async function registerOpenApi(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const routes: Array<{ method: string; url: string }> = [];
  registered.set(app, routes);
  app.addHook('onRoute', (route) => {
    if (!isDocumentedUrl(route.url) || route.method === 'HEAD') return;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    // The eSIM Access dialect answers only POST (the other methods it accepts get an error envelope).
    for (const method of route.url.startsWith(ESIMACCESS_PREFIX) ? ['POST'] : methods) if (method !== 'HEAD') routes.push({ method, url: route.url });
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'esimhub API',
        version: '1.0.0',
        description:
          "esimhub's own REST API (/v1) and the eSIM Access dialect (/api/v1/open). Authorize with your AccessCode: as a Bearer token for /v1, as RT-AccessCode for eSIM Access. Money is an integer in 1/10,000 of the currency. Errors from /v1 are RFC 9457 problem+json. See docs/api.md.",
      },
      // Paths carry their own prefix (/v1/…, /api/v1/open/…), so the sandbox base is the server /sandbox: a live
      // key reaches its sandbox twin at /sandbox/v1 and /sandbox/api/v1/open (docs/dataplans.md, "Base URLs").
      servers: [
        { url: '/', description: 'This server (live keys reach their own account)' },
        { url: '/sandbox', description: 'The sandbox base: /sandbox/v1 and /sandbox/api/v1/open (a live key reaches its sandbox twin)' },
      ],
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'Your AccessCode (a sandbox key in the sandbox)' },
          accessCode: { type: 'apiKey', in: 'header', name: 'RT-AccessCode', description: 'eSIM Access dialect: your AccessCode' },
        },
      },
      tags: [
        { name: 'Catalog' },
        { name: 'Orders' },
        { name: 'eSIMs' },
        { name: 'Balance' },
        { name: 'Webhooks' },
        { name: 'API keys' },
        { name: 'Inventory' },
        { name: 'eSIM Access', description: 'The eSIM Access-compatible dialect' },
      ],
    },
    transform: ({ schema, url }) => {
      if (!isDocumentedUrl(url)) return { schema: { ...(schema ?? {}), hide: true } as never, url };
      if (url.startsWith(`${ESIMACCESS_PREFIX}/`)) return { schema: esimAccessRouteSchema(url.slice(ESIMACCESS_PREFIX.length)) as never, url };
      return { schema, url };
    },
    transformObject: (documentObject) => {
      const openapiObject = (documentObject as { openapiObject: { paths?: unknown } }).openapiObject;
      // eSIM Access routes accept every method but only POST is an operation.
      const paths = (openapiObject.paths ?? {}) as Record<string, Record<string, unknown>>;
      for (const [path, item] of Object.entries(paths)) {
        if (!path.startsWith(`${ESIMACCESS_PREFIX}/`)) continue;
        for (const method of Object.keys(item)) if (method !== 'post') delete item[method];
      }
      return openapiObject as never;
    },
  });

  app.get('/openapi.json', { schema: { hide: true } }, async (_request, reply) => reply.type('application/json; charset=utf-8').send(JSON.stringify(app.swagger())));

  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { persistAuthorization: true, deepLinking: true, docExpansion: 'list', tryItOutEnabled: true },
    // The UI reads the same document the API serves.
    transformSpecification: (spec) => spec,
  });
  void ctx;
}
