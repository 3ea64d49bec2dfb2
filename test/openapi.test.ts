import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Validator } from '@seriousme/openapi-schema-validator';
import { startServer, type TestServer } from './helpers/server.ts';
import { documentedRoutes } from '../src/http/openapi.ts';

describe('OpenAPI document and Swagger UI', () => {
  let server: TestServer;
  let doc: any;

  beforeAll(async () => {
    server = await startServer({}, {}, { worker: false });
    const response = await fetch(`${server.baseUrl}/openapi.json`);
    expect(response.status).toBe(200);
    doc = await response.json();
  });
  afterAll(async () => server.close());

  it('is a valid OpenAPI 3.1 document', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const validator = new Validator();
    const result = await validator.validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('documents every /v1 and eSIM Access route, and nothing else', () => {
    const routes = documentedRoutes(server.app);
    expect(routes.length).toBeGreaterThan(40);
    const missing = routes.filter((r) => {
      const template = r.url.replace(/:(\w+)/g, '{$1}');
      return !doc.paths[template]?.[r.method.toLowerCase()];
    });
    expect(missing).toEqual([]);
    const documented = Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item as object).map((m) => `${m.toUpperCase()} ${path}`));
    expect(documented.length).toBe(routes.length);
    expect(documented.every((d) => / \/v1\/| \/api\/v1\/open\//.test(d))).toBe(true);
    expect(doc.paths['/api/v1/open/esim/order'].post.security).toEqual([{ accessCode: [] }]);
    expect(doc.paths['/v1/orders'].post.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('gives every /v1 operation an id, a tag and problem+json errors; mutating ones the Idempotency-Key header', () => {
    const ids = new Set<string>();
    for (const [path, item] of Object.entries<any>(doc.paths)) {
      for (const [method, operation] of Object.entries<any>(item)) {
        expect(operation.operationId, `${method} ${path}`).toBeTruthy();
        expect(ids.has(operation.operationId)).toBe(false);
        ids.add(operation.operationId);
        if (!path.startsWith('/v1/')) continue;
        expect(operation.responses['4XX'].content['application/problem+json'].schema.properties.code).toBeDefined();
        if (method !== 'get') expect(operation.parameters?.some((p: any) => p.in === 'header' && p.name === 'idempotency-key'), `${method} ${path}`).toBe(true);
      }
    }
  });

  it('lists the sandbox base among its servers, and every server answers the documented paths', async () => {
    expect(doc.servers).toEqual([
      { url: '/', description: expect.any(String) },
      { url: '/sandbox', description: expect.stringContaining('/sandbox/v1') },
    ]);
    const partner = await server.createPartner({ name: 'Servers', environment: 'live', depositMinor: 50 * 10_000 });
    const balances: number[] = [];
    for (const { url } of doc.servers) {
      const base = `${server.baseUrl}${url.replace(/\/$/, '')}`;
      const v1 = await fetch(`${base}/v1/balance`, { headers: { authorization: `Bearer ${partner.accessCode}` } });
      expect(v1.status, url).toBe(200);
      balances.push((await v1.json()).available);
      const ea = await fetch(`${base}/api/v1/open/balance/query`, { method: 'POST', headers: { 'rt-accesscode': partner.accessCode, 'content-type': 'application/json' }, body: '{}' });
      expect((await ea.json()).success, url).toBe(true);
    }
    // The live key's own balance, then its sandbox twin's test credit.
    expect(balances).toEqual([50 * 10_000, 1000 * 10_000]);
  });

  it('serves Swagger UI at /docs with an Authorize button for Bearer keys', async () => {
    const page = await fetch(`${server.baseUrl}/docs/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('swagger-ui');
    const init = await fetch(`${server.baseUrl}/docs/static/swagger-initializer.js`);
    expect(init.status).toBe(200);
    const json = await fetch(`${server.baseUrl}/docs/json`);
    expect(json.status).toBe(200);
    expect((await json.json()).components.securitySchemes.bearerAuth.scheme).toBe('bearer');
  });
});
