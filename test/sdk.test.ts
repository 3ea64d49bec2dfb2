import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Static } from '@sinclair/typebox';
import { startServer, type TestPartner, type TestServer } from './helpers/server.ts';
import { EsimAccessClient, EsimAccessError, EsimHub, EsimHubError, Webhook, retryAfterMs, WebhookVerificationError, verifyWebhook, type Esim, type InventoryApplication, type InventoryItem, type InventoryPurchase, type Order, type Package, type Transaction, type WebhookDelivery } from '../sdk/src/index.ts';
import type { EsimSchema, OrderSchema, PackageSchema, TransactionSchema, WebhookDeliverySchema } from '../src/http/v1/schemas.ts';
import type { ApplySchema, InventoryItemSchema, PurchaseSchema } from '../src/http/v1/routes/inventory.ts';
import { webhookHeaders } from '../src/lib/standard-webhooks.ts';
import { checkResponses, ResponseLog } from './helpers/openapi-responses.ts';

// Compile-time: the SDK's hand-written types and the server's schemas describe the same objects.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const typesAgree: [
  Same<Order, Static<typeof OrderSchema>>,
  Same<Esim, Static<typeof EsimSchema>>,
  Same<Package, Static<typeof PackageSchema>>,
  Same<Transaction, Static<typeof TransactionSchema>>,
  Same<WebhookDelivery, Static<typeof WebhookDeliverySchema>>,
  Same<InventoryItem, Static<typeof InventoryItemSchema>>,
  Same<InventoryPurchase, Static<typeof PurchaseSchema>>,
  Same<InventoryApplication, Static<typeof ApplySchema>>,
] = [true, true, true, true, true, true, true, true];

/** Every answer the SDK's clients get here, checked against the OpenAPI document at the end (/v1 and eSIM Access). */
const log = new ResponseLog();

const ROOT = path.resolve(import.meta.dirname, '..');
const run = promisify(execFile);

describe('@esimhub/sdk against a real server', () => {
  let server: TestServer;
  let partner: TestPartner;
  let hub: EsimHub;

  beforeAll(async () => {
    server = await startServer();
    partner = await server.createPartner();
    hub = new EsimHub({ baseUrl: server.baseUrl, apiKey: partner.accessCode, fetch: log.fetch });
  });
  afterAll(async () => server.close());

  it('types agree with the server schemas', () => {
    expect(typesAgree.every(Boolean)).toBe(true);
  });

  it('runs the README order-to-QR example exactly as written', async () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const block = /<!-- sdk-example:start -->\s*```ts\n([\s\S]*?)```\s*<!-- sdk-example:end -->/.exec(readme);
    expect(block).not.toBeNull();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'esimhub-readme-'));
    const file = path.join(dir, 'example.mts'); // .mts: an ES module wherever it is written
    fs.writeFileSync(file, block![1]);
    try {
      // tsx resolves '@esimhub/sdk' through the repository's tsconfig paths, as an installed package would.
      const { stdout } = await run(process.execPath, ['--import', 'tsx', file], {
        cwd: ROOT,
        env: { ...process.env, ESIMHUB_URL: server.baseUrl, ESIMHUB_API_KEY: partner.accessCode, TSX_TSCONFIG_PATH: path.join(ROOT, 'tsconfig.json') },
        timeout: 60_000,
      });
      const [iccid, ac, qr] = stdout.trim().split(' ');
      expect(iccid).toMatch(/^89\d{17,18}$/);
      expect(ac).toMatch(/^LPA:1\$/);
      const png = await fetch(qr);
      expect(png.status).toBe(200);
      expect(png.headers.get('content-type')).toBe('image/png');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);

  it('iterates pages with for await and awaits a first page', async () => {
    const first = await hub.packages.list({ location: 'US', limit: 5 });
    expect(first.data).toHaveLength(5);
    expect(first.has_more).toBe(true);
    const all: Package[] = [];
    for await (const p of hub.packages.list({ location: 'US', limit: 7 })) all.push(p);
    const direct = server.ctx.catalog.list({ locationCode: 'US', type: 'BASE' });
    expect(all.map((p) => p.id)).toEqual(direct.map((p) => p.package_code));
  });

  it('reuses one Idempotency-Key across retries: a lost answer does not order twice', async () => {
    const keys: string[] = [];
    let dropped = false;
    const flaky: typeof fetch = async (input, init) => {
      const headers = (init?.headers ?? {}) as Record<string, string>;
      if (headers['idempotency-key']) keys.push(headers['idempotency-key']);
      const response = await fetch(input, init);
      if (!dropped && init?.method === 'POST') {
        dropped = true;
        await response.text();
        throw new TypeError('socket hang up'); // the server did the work, the client never saw it
      }
      return response;
    };
    const client = new EsimHub({ baseUrl: server.baseUrl, apiKey: partner.accessCode, fetch: flaky, retryBaseDelayMs: 5 });
    const before = (await client.balance.get()).available;
    const order = await client.orders.create({ lines: [{ package_id: 'US_1_7', count: 1 }] });
    expect(keys).toHaveLength(2);
    expect(keys[0]).toBe(keys[1]);
    const charged = before - (await client.balance.get()).available;
    expect(charged).toBe(order.amount);
    const rows = await server.ctx.store.db.selectFrom('orders').select('id').where('transaction_id', '=', keys[0]).execute();
    expect(rows).toEqual([{ id: order.id }]);
  });

  it('retries 429 and 5xx with backoff, honouring Retry-After', async () => {
    const slow = await server.createPartner({ name: 'Slow', rateLimitPerSecond: 1 });
    const statuses: number[] = [];
    const counting: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      statuses.push(response.status);
      return response;
    };
    const client = new EsimHub({ baseUrl: server.baseUrl, apiKey: slow.accessCode, fetch: counting, retryBaseDelayMs: 5 });
    await client.balance.get();
    await client.balance.get(); // limited: Retry-After 1 s, then succeeds
    expect(statuses).toEqual([200, 429, 200]);
    // Retry-After is the floor of the wait (seconds, or an HTTP date), whatever the backoff would have been.
    expect(client.transport.backoffMs(0, retryAfterMs('1'))).toBe(1000);
    expect(retryAfterMs(new Date(1_767_225_602_000).toUTCString(), 1_767_225_600_000)).toBe(2000);

    let calls = 0;
    const failing: typeof fetch = async () => {
      calls++;
      return calls < 3 ? new Response('{"code":"internal_error","detail":"boom"}', { status: 503, headers: { 'retry-after': '0' } }) : new Response('{"object":"balance","available":1,"currency":"USD","updated_at":"2026-01-01T00:00:00.000Z"}', { status: 200 });
    };
    const retrying = new EsimHub({ baseUrl: server.baseUrl, apiKey: 'x', fetch: failing, retryBaseDelayMs: 1 });
    expect((await retrying.balance.get()).available).toBe(1);
    expect(calls).toBe(3);

    const giveUp = new EsimHub({ baseUrl: server.baseUrl, apiKey: 'x', fetch: async () => new Response('{}', { status: 500 }), maxRetries: 1, retryBaseDelayMs: 1 });
    await expect(giveUp.balance.get()).rejects.toMatchObject({ status: 500 });
  });

  it('raises EsimHubError with the problem details', async () => {
    const error = await hub.orders.get('ord_missing').catch((e) => e);
    expect(error).toBeInstanceOf(EsimHubError);
    expect(error).toMatchObject({ status: 404, code: 'order_not_found' });
    expect(error.requestId).toMatch(/^req_/);
    const bad = await new EsimHub({ baseUrl: server.baseUrl, apiKey: 'wrong' }).balance.get().catch((e) => e);
    expect(bad).toMatchObject({ status: 401, code: 'unauthenticated' });
  });

  it('covers eSIMs, balance, transactions and keys through typed methods', async () => {
    const order = await hub.orders.create({ lines: [{ package_id: 'US_1_7', count: 1 }] });
    await hub.orders.waitUntilReady(order.id);
    const [esim] = await hub.esims.list({ order_id: order.id }).toArray();
    expect((await hub.esims.suspend(esim.id)).status).toBe('SUSPENDED');
    expect((await hub.esims.resume(esim.id)).status).toBe('GOT_RESOURCE');
    const topup = (await hub.packages.list({ type: 'topup', topup_for_esim: esim.iccid })).data[0];
    expect((await hub.esims.topUp(esim.id, { package_id: topup.id })).esim.bundles).toHaveLength(2);
    expect((await hub.esims.usage(esim.id)).used_bytes).toBe(0);
    const csv = await hub.transactions.exportCsv({ kind: 'charge' });
    expect(csv.split('\r\n')[0]).toBe('id,created_at,kind,amount,currency,reference,memo');
    const txs = await hub.transactions.list({ kind: 'charge', limit: 1 }).toArray();
    expect(txs.length).toBeGreaterThanOrEqual(2);
    const key = await hub.apiKeys.create({ label: 'sdk' });
    expect((await hub.apiKeys.list()).data.some((k) => k.id === key.id)).toBe(true);
    expect((await hub.apiKeys.revoke(key.id)).status).toBe('revoked');
  });

  it('verifies Standard Webhooks signatures from a real delivery, including during a rotation', async () => {
    const received: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
    const receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    try {
      const endpoint = await hub.webhookEndpoints.create({ url: `http://127.0.0.1:${(receiver.address() as any).port}/hook` });
      const check = received[0];
      expect(verifyWebhook<{ notifyType: string }>(endpoint.secret!, check.headers, check.body).notifyType).toBe('CHECK_HEALTH');
      expect(() => new Webhook(endpoint.secret!).verify(check.body.replace('CHECK', 'CHECKED'), check.headers)).toThrow(WebhookVerificationError);
      expect(() => verifyWebhook(endpoint.secret!, check.headers, check.body, { nowMs: Date.now() + 10 * 60_000 })).toThrow(/too old/);

      const rotated = await hub.webhookEndpoints.rotateSecret(endpoint.id);
      const test = await hub.webhookEndpoints.test(endpoint.id);
      expect(test.ok).toBe(true);
      const during = received[received.length - 1];
      expect(String(during.headers['webhook-signature']).split(' ')).toHaveLength(2);
      expect(() => verifyWebhook(rotated.secret, during.headers, during.body)).not.toThrow();
      expect(() => verifyWebhook(endpoint.secret!, during.headers, during.body)).not.toThrow();
      // And a Headers object, as in a fetch-style handler.
      const signed = webhookHeaders([rotated.secret], 'msg_1', '{"a":1}', Date.now());
      expect(verifyWebhook(rotated.secret, new Headers(signed), '{"a":1}')).toEqual({ a: 1 });
      await hub.webhookEndpoints.delete(endpoint.id);
      expect((await hub.webhookEndpoints.list()).data).toEqual([]);
    } finally {
      await new Promise((r) => receiver.close(r));
    }
  });

  it('has a thin typed eSIM Access client over the same account', async () => {
    const ea = new EsimAccessClient({ baseUrl: server.baseUrl, accessCode: partner.accessCode, secretKey: partner.secretKey, fetch: log.fetch });
    const { balance } = await ea.balance();
    expect(balance).toBe((await hub.balance.get()).available);
    const { packageList } = await ea.listPackages({ locationCode: 'US' });
    const placed = await ea.order({ transactionId: 'ea-sdk-1', packageInfoList: [{ packageCode: packageList[0].packageCode, count: 1 }] });
    expect(placed.orderNo).toMatch(/^B/);
    const viaV1 = await hub.orders.waitUntilReady(placed.orderNo);
    expect(viaV1.transaction_id).toBe('ea-sdk-1');
    const { esimList } = await ea.query({ orderNo: placed.orderNo });
    expect(esimList[0].iccid).toMatch(/^89/);
    const error = await ea.cancel({ iccid: '8900000000000000000' }).catch((e) => e);
    expect(error).toBeInstanceOf(EsimAccessError);

    // The rest of the dialect, so every documented envelope is checked against what the server sends.
    const { locationList } = await ea.listLocations();
    expect(locationList.length).toBe(server.ctx.catalog.locations().length);
    const ref = { esimTranNo: esimList[0].esimTranNo };
    await ea.suspend(ref);
    await ea.unsuspend(ref);
    const { packageList: topups } = await ea.listPackages({ type: 'TOPUP', iccid: esimList[0].iccid });
    const topped = await ea.topUp({ ...ref, packageCode: topups[0].packageCode, transactionId: 'ea-sdk-topup-1' });
    expect(topped.iccid).toBe(esimList[0].iccid);
    const { esimUsageList } = await ea.usage([esimList[0].esimTranNo]);
    expect(esimUsageList[0]).toMatchObject({ esimTranNo: esimList[0].esimTranNo, dataUsage: 0 });
    const sms = await ea.sendSms({ ...ref, message: 'hi' }).then(() => 'sent', (e: EsimAccessError) => e.errorCode);
    expect(sms).toBe(esimList[0].smsStatus === 0 ? '200002' : 'sent'); // a profile without SMS refuses it
    expect((await ea.queryWebhook()).webhook).toBeNull();
    await ea.revoke(ref);
  });

  it('has a method for every /v1 operation of the OpenAPI document, and no other', async () => {
    const doc = await (await fetch(`${server.baseUrl}/openapi.json`)).json();
    const operations = Object.entries<Record<string, unknown>>(doc.paths)
      .filter(([path]) => path.startsWith('/v1/'))
      .flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    // Literal segments first, so /v1/orders/validate is not taken for /v1/orders/{id}.
    const templates = operations
      .map((o) => ({ operation: o, method: o.split(' ')[0], pattern: new RegExp(`^${o.split(' ')[1].replace(/[.]/g, '\\.').replace(/\{[^}]+\}/g, '[^/]+')}$`), params: (o.match(/\{/g) ?? []).length }))
      .sort((a, b) => a.params - b.params);
    const called: Array<{ method: string; path: string }> = [];
    const recording: typeof fetch = async (input, init) => {
      called.push({ method: init?.method ?? 'GET', path: new URL(String(input)).pathname });
      return new Response(JSON.stringify({ object: 'list', data: [], has_more: false, next_cursor: null, status: 'ready' }), { status: 200, headers: { 'content-type': 'application/json' } });
    };
    const stub = new EsimHub({ baseUrl: 'http://sdk.invalid', apiKey: 'k', fetch: recording });
    const byMethod = new Map<string, string>();
    for (const [group, methods] of Object.entries(stub)) {
      if (group === 'transport') continue;
      for (const [name, fn] of Object.entries(methods as Record<string, (...args: unknown[]) => unknown>)) {
        const before = called.length;
        await fn.call(methods, 'x', { quantity: 1 }, {});
        const reached = called.slice(before).map((c) => templates.find((t) => t.method === c.method && t.pattern.test(c.path))?.operation ?? `undocumented ${c.method} ${c.path}`);
        for (const operation of reached) byMethod.set(operation, `${group}.${name}`);
      }
    }
    expect([...byMethod.keys()].filter((o) => o.startsWith('undocumented'))).toEqual([]);
    expect(operations.filter((o) => !byMethod.has(o))).toEqual([]);
    expect(byMethod.get('POST /v1/inventory/{id}/refund')).toBe('inventory.refund');
    expect(byMethod.get('GET /v1/orders/{id}/qr-codes.zip')).toBe('orders.downloadQrCodes');
  });

  it('buys, lists, applies and refunds inventory; downloads an order\'s QR codes as a ZIP', async () => {
    const before = (await hub.balance.get()).available;
    const bought = await hub.inventory.purchase({ lines: [{ package_id: 'US_1_7', quantity: 2 }] });
    expect(bought.object).toBe('inventory_purchase');
    expect(before - (await hub.balance.get()).available).toBe(bought.amount);
    const items = await hub.inventory.list({ limit: 1 }).toArray();
    const item = items.find((i) => i.transaction_id === bought.transaction_id)!;
    expect(item).toMatchObject({ purchased: 2, remaining: 2, package_id: bought.lines[0].package_id });
    expect(item.id).toMatch(/^inv_\d+$/);
    const applied = await hub.inventory.apply({ package_id: 'US_1_7' });
    expect(applied).toMatchObject({ object: 'inventory_application', count: 1, esim_id: null });
    const order = await hub.orders.waitUntilReady(applied.order_id!);
    expect(order.amount).toBe(0);
    const refunded = await hub.inventory.refund(item.id, { quantity: 1 });
    expect(refunded).toMatchObject({ id: item.id, remaining: 0 });

    const zip = await hub.orders.downloadQrCodes(order.id);
    expect(zip).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(zip.subarray(0, 4)).toString('latin1')).toBe('PK\u0003\u0004');
    const [esim] = await hub.esims.list({ order_id: order.id }).toArray();
    expect(Buffer.from(zip).includes(Buffer.from(`${esim.iccid}.png`))).toBe(true);
    expect(Buffer.from(zip).includes(Buffer.from('esims.csv'))).toBe(true);
  });

  it('pages locations, operators and API keys', async () => {
    const locations = await hub.locations.list({ limit: 100 }).toArray();
    expect(locations).toHaveLength(server.ctx.catalog.locations().length);
    const operators = await hub.operators.list({ country: 'US', limit: 2 }).toArray();
    const us = await server.ctx.store.db.selectFrom('operators').select('id').where('country_code', '=', 'US').execute();
    expect(operators.map((o) => o.id).sort()).toEqual(us.map((o) => o.id).sort());
    const keys = await hub.apiKeys.list({ limit: 1 }).toArray();
    expect(keys.map((k) => k.id).sort()).toEqual((await server.ctx.partners.listKeys(partner.partnerId)).map((k) => k.id).sort());
  });

  it('every response the SDK got validates against the OpenAPI document, eSIM Access included', async () => {
    const { failures, covered } = await checkResponses(server.baseUrl, log.seen);
    expect(failures).toEqual([]);
    const doc = await (await fetch(`${server.baseUrl}/openapi.json`)).json();
    const dialect = Object.keys(doc.paths).filter((p) => p.startsWith('/api/v1/open/')).map((p) => `POST ${p}`);
    // webhook/save makes a live CHECK_HEALTH call: covered by the dialect's own tests.
    expect([...covered].filter((o) => o.includes('/api/v1/open/')).sort()).toEqual(dialect.filter((o) => !o.endsWith('/webhook/save')).sort());
    expect([...covered].filter((o) => o.includes(' /v1/')).length).toBeGreaterThan(25);
  });

});
