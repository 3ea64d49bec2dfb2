import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestPartner, type TestServer } from './helpers/server.ts';

/** Every dialect's sandbox base: the live partner's own key reaches its sandbox twin, never the live account. */
describe('sandbox base URLs for every dialect', () => {
  let server: TestServer;
  let live: TestPartner;
  beforeAll(async () => {
    server = await startServer({ SANDBOX_HOSTS: 'sandbox.example.test' });
    live = await server.createPartner({ name: 'Live Air', environment: 'live', depositMinor: 50 * 10_000 });
  });
  afterAll(async () => {
    await server?.close();
  });

  const v1 = async (path: string, init: { method?: string; body?: unknown } = {}) => {
    const response = await fetch(`${server.baseUrl}${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${live.accessCode}`, ...(init.body ? { 'content-type': 'application/json' } : {}) },
      body: init.body ? JSON.stringify(init.body) : undefined,
    });
    return { status: response.status, json: await response.json() };
  };

  it('/sandbox/v1 orders in the twin; the live account is untouched', async () => {
    const liveBefore = (await v1('/v1/balance')).json.available;
    const twinBefore = (await v1('/sandbox/v1/balance')).json.available;
    expect(liveBefore).toBe(50 * 10_000);
    expect(twinBefore).toBe(1000 * 10_000);
    const order = await v1('/sandbox/v1/orders', { method: 'POST', body: { transaction_id: 'sbx-1', lines: [{ package_id: 'US_1_7', count: 1 }] } });
    expect(order.status).toBe(201);
    const twin = await server.ctx.store.db.selectFrom('sandbox_twins').select('sandbox_partner_id').where('live_partner_id', '=', live.partnerId).executeTakeFirstOrThrow();
    const row = await server.ctx.store.db.selectFrom('orders').select(['partner_id']).where('order_no', '=', order.json.order_no).executeTakeFirstOrThrow();
    expect(row.partner_id).toBe(twin.sandbox_partner_id);
    expect((await v1('/sandbox/v1/balance')).json.available).toBe(twinBefore - order.json.amount);
    expect((await v1('/v1/balance')).json.available).toBe(liveBefore);
    expect((await v1(`/v1/orders/${order.json.id}`)).status).toBe(404);
    expect((await v1(`/sandbox/v1/orders/${order.json.id}`)).status).toBe(200);
  });

  it('eSIM Go /sandbox/v2.x reaches the twin', async () => {
    const get = async (path: string) => (await fetch(`${server.baseUrl}${path}`, { headers: { 'x-api-key': live.accessCode } })).json();
    const twinOrg = await get('/sandbox/v2.4/organisation');
    const liveOrg = await get('/v2.4/organisation');
    expect(twinOrg.name).toBe('Live Air (sandbox)');
    expect(liveOrg.name).toBe('Live Air');
    expect(liveOrg.balance).toBe(50);
    expect(twinOrg.balance).toBeLessThan(1000);
    expect((await fetch(`${server.baseUrl}/sandbox/v2.4/organisation`, { headers: { 'x-api-key': 'nope' } })).status).toBe(403);
  });

  it('eSIM Access /sandbox/api/v1/open reaches the twin', async () => {
    const balance = async (path: string) =>
      (await (await fetch(`${server.baseUrl}${path}/balance/query`, { method: 'POST', headers: { 'RT-AccessCode': live.accessCode }, body: '' })).json()).obj.balance;
    expect(await balance('/api/v1/open')).toBe(50 * 10_000);
    expect(await balance('/sandbox/api/v1/open')).toBeLessThan(1000 * 10_000);
  });

  it('a SANDBOX_HOSTS host name reaches the twin on the live paths', async () => {
    const viaHost = await new Promise<any>((resolve, reject) => {
      const url = new URL(`${server.baseUrl}/v1/balance`);
      const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, headers: { host: 'sandbox.example.test', authorization: `Bearer ${live.accessCode}` } }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve(JSON.parse(body)));
      });
      req.on('error', reject);
      req.end();
    });
    expect(viaHost.available).toBe((await v1('/sandbox/v1/balance')).json.available);
    expect(viaHost.available).not.toBe(50 * 10_000);
  });

  it('documents /v1 once: the sandbox copies are not in the OpenAPI document', async () => {
    const doc = await (await fetch(`${server.baseUrl}/openapi.json`)).json();
    const paths = Object.keys(doc.paths);
    expect(paths).toContain('/v1/orders');
    expect(paths.filter((p) => p.startsWith('/sandbox/v1'))).toEqual([]);
  });
});
