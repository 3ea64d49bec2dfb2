import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestPartner, type TestServer } from './helpers/server.ts';
import { checkResponses, ResponseLog } from './helpers/openapi-responses.ts';

const log = new ResponseLog();

describe('/v1 inventory', () => {
  let server: TestServer;
  let partner: TestPartner;
  beforeAll(async () => {
    server = await startServer();
    partner = await server.createPartner({ name: 'Inventory Co' });
  });
  afterAll(async () => {
    await server?.close();
  });

  async function call(method: string, path: string, body?: unknown, idempotencyKey?: string) {
    const headers: Record<string, string> = { authorization: `Bearer ${partner.accessCode}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
    const response = await fetch(`${server.baseUrl}/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: response.status, json: log.record(method, response.url, response.status, response.headers.get('content-type') ?? '', await response.text()) as any };
  }
  const balance = async () => (await call('GET', '/balance')).json.available as number;
  let packageCode = '';
  const item = async () => (await call('GET', '/inventory')).json.data.find((i: { package_id: string }) => i.package_id === packageCode);

  async function settled(orderId: string) {
    for (let i = 0; i < 200; i++) {
      const order = (await call('GET', `/orders/${orderId}`)).json;
      if (order.status !== 'allocating') return order;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error('order never settled');
  }

  it('buys bundles into inventory, applies them to new and existing eSIMs, and refunds the rest', async () => {
    const start = await balance();
    const bought = await call('POST', '/inventory/purchases', { transaction_id: 'inv-1', lines: [{ package_id: 'US_1_7', quantity: 3 }] });
    expect(bought.status).toBe(201);
    const unit = bought.json.lines[0].unit_price;
    packageCode = bought.json.lines[0].package_id;
    expect(packageCode).toBe(server.ctx.catalog.get('US_1_7')!.package_code);
    expect(unit).toBeGreaterThan(0);
    expect(bought.json.amount).toBe(3 * unit);
    expect(await balance()).toBe(start - 3 * unit);
    // The same transaction_id answers the first purchase and charges nothing more.
    const again = await call('POST', '/inventory/purchases', { transaction_id: 'inv-1', lines: [{ package_id: 'US_1_7', quantity: 3 }] });
    expect(again.status).toBe(200);
    expect(await balance()).toBe(start - 3 * unit);
    expect(await item()).toMatchObject({ object: 'inventory_item', purchased: 3, remaining: 3, unit_price: unit, transaction_id: 'inv-1' });
    // The same inventory is what the eSIM Go dialect shows.
    const go = await (await fetch(`${server.baseUrl}/v2.4/inventory`, { headers: { 'x-api-key': partner.accessCode } })).json();
    const mine = (await item()).id;
    expect(mine).toMatch(/^inv_[0-9]+$/);
    expect(go.bundles.flatMap((b: any) => b.available).find((a: any) => `inv_${a.id}` === mine).remaining).toBe(3);

    // To a new eSIM: a zero-amount order; the balance does not move.
    const applied = await call('POST', '/inventory/apply', { package_id: 'US_1_7' }, 'apply-new-1');
    expect(applied.status).toBe(201);
    expect(applied.json.order_id).toMatch(/^ord_/);
    const order = await settled(applied.json.order_id);
    expect(order.status).toBe('ready');
    expect(order.amount).toBe(0);
    expect(await balance()).toBe(start - 3 * unit);
    expect((await item()).remaining).toBe(2);
    // A replayed Idempotency-Key applies nothing more.
    expect((await call('POST', '/inventory/apply', { package_id: 'US_1_7' }, 'apply-new-1')).json.order_id).toBe(applied.json.order_id);
    expect((await item()).remaining).toBe(2);

    // To the eSIM just made: it gains a second bundle.
    const esim = (await call('GET', `/esims?order_id=${applied.json.order_id}`)).json.data[0];
    const bundlesBefore = esim.bundles.length;
    const onto = await call('POST', '/inventory/apply', { package_id: 'US_1_7', esim_id: esim.iccid });
    expect(onto.status).toBe(201);
    expect(onto.json).toMatchObject({ esim_id: esim.id, order_id: null, count: 1 });
    expect((await call('GET', `/esims/${esim.id}`)).json.bundles.length).toBe(bundlesBefore + 1);
    expect((await item()).remaining).toBe(1);

    // Refund the last one, by its id; the bare usage id (as eSIM Go shows it) names the same item.
    const itemId = (await item()).id;
    expect((await call('POST', `/inventory/${itemId.slice('inv_'.length)}/refund`, { quantity: 2 })).json).toMatchObject({ status: 400, code: 'invalid_request', detail: `Only 1 bundles remain in inventory ${itemId.slice('inv_'.length)}` });
    const refunded = await call('POST', `/inventory/${itemId}/refund`, { quantity: 1 });
    expect(refunded.status).toBe(200);
    expect(refunded.json).toMatchObject({ object: 'inventory_item', id: itemId, remaining: 0 });
    expect(await balance()).toBe(start - 2 * unit);
    expect(await item()).toBeUndefined();
    // Nothing left to apply.
    const empty = await call('POST', '/inventory/apply', { package_id: 'US_1_7' });
    expect(empty.status).toBeGreaterThanOrEqual(400);
    expect(empty.status).toBeLessThan(500);
    expect(await balance()).toBe(start - 2 * unit);
  });

  it('refuses bad input with problems and changes nothing', async () => {
    const start = await balance();
    const cases: Array<[string, string, unknown, number]> = [
      ['POST', '/inventory/purchases', { lines: [] }, 400],
      ['POST', '/inventory/purchases', { lines: [{ package_id: 'US_1_7', quantity: 0 }] }, 400],
      ['POST', '/inventory/purchases', { lines: [{ package_id: 'NOPE', quantity: 1 }] }, 404],
      ['POST', '/inventory/purchases', { lines: [{ package_id: 'US_1_7', quantity: 10_000 }] }, 402],
      ['POST', '/inventory/apply', { package_id: 'US_1_7', esim_id: 'esim_nope' }, 404],
      ['POST', '/inventory/apply', { package_id: 'US_1_7', count: 2, esim_id: 'x' }, 400],
      ['POST', '/inventory/999999/refund', { quantity: 1 }, 404],
      ['POST', '/inventory/inv_999999/refund', { quantity: 1 }, 404],
      ['POST', '/inventory/abc/refund', { quantity: 1 }, 400],
      ['POST', '/inventory/inv_/refund', { quantity: 1 }, 400],
      ['POST', '/inventory/ord_1/refund', { quantity: 1 }, 400],
    ];
    for (const [method, path, body, status] of cases) {
      const response = await call(method, path, body);
      expect(response.status, `${path} ${JSON.stringify(body)}`).toBe(status);
      expect(response.json.code).toBeTruthy();
    }
    expect(await balance()).toBe(start);
  });

  it('is documented in the OpenAPI document, and every response seen validates against it', async () => {
    const doc = await (await fetch(`${server.baseUrl}/openapi.json`)).json();
    for (const path of ['/v1/inventory', '/v1/inventory/purchases', '/v1/inventory/apply', '/v1/inventory/{id}/refund']) expect(Object.keys(doc.paths)).toContain(path);
    const { failures, covered } = await checkResponses(server.baseUrl, log.seen);
    expect(failures).toEqual([]);
    expect([...covered].filter((o) => o.includes('/inventory')).sort()).toEqual(['GET /v1/inventory', 'POST /v1/inventory/apply', 'POST /v1/inventory/purchases', 'POST /v1/inventory/{id}/refund']);
  });
});
