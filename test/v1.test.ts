import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onPostgres } from './helpers/store.ts';
import { startServer, type TestPartner, type TestServer } from './helpers/server.ts';
import { checkResponses, ResponseLog } from './helpers/openapi-responses.ts';
import { PROBLEM_CODES } from '../src/http/v1/problem.ts';
import { verifyWebhook } from '../src/lib/standard-webhooks.ts';

/** Every /v1 response these tests see, checked against the served OpenAPI document at the end. */
const log = new ResponseLog();
const seen = log.seen;

describe('/v1', () => {
  let server: TestServer;
  let partner: TestPartner;
  let receiver: http.Server;
  let receiverUrl = '';
  const received: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];

  async function call(method: string, path: string, options: { body?: unknown; key?: TestPartner | null | string; idempotencyKey?: string; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    const who = options.key === undefined ? partner : options.key;
    if (who) headers.authorization = `Bearer ${typeof who === 'string' ? who : who.accessCode}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
    const response = await fetch(`${server.baseUrl}/v1${path}`, { method, headers, body: options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body) });
    const text = await response.text();
    const body = log.record(method, response.url, response.status, response.headers.get('content-type') ?? '', text);
    return { status: response.status, headers: response.headers, body: body as any, text };
  }

  async function readyOrder(lines: unknown[], key?: string) {
    const created = await call('POST', '/orders', { body: { lines }, idempotencyKey: key ?? `order-${Math.random()}` });
    expect(created.status).toBe(201);
    for (let i = 0; i < 400; i++) {
      const got = await call('GET', `/orders/${created.body.id}`);
      if (got.body.status === 'ready') return got.body;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error('order not ready');
  }

  beforeAll(async () => {
    server = await startServer();
    partner = await server.createPartner();
    receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(req.url === '/down' ? 503 : 200).end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as any).port}`;
  });
  afterAll(async () => {
    await server.close();
    await new Promise((r) => receiver.close(r));
  });

  it('authenticates with Bearer AccessCodes and answers problems otherwise', async () => {
    const none = await call('GET', '/balance', { key: null });
    expect(none.status).toBe(401);
    expect(none.headers.get('content-type')).toContain('application/problem+json');
    expect(none.body).toMatchObject({ type: 'https://esimhub.dev/problems/unauthenticated', status: 401, code: 'unauthenticated', instance: '/v1/balance' });
    expect(none.body.request_id).toBe(none.headers.get('x-request-id'));
    expect((await call('GET', '/balance', { key: 'not-a-key' })).status).toBe(401);
    const ok = await call('GET', '/balance');
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ object: 'balance', available: 1000 * 10_000, currency: 'USD' });
    const missing = await call('GET', '/nothing-here');
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('not_found');
  });

  it('answers a wrong method on an existing path 405 method_not_allowed with Allow', async () => {
    const put = await call('PUT', '/orders', { body: { lines: [] } });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, HEAD, POST');
    expect(put.headers.get('content-type')).toContain('application/problem+json');
    expect(put.body).toMatchObject({ type: 'https://esimhub.dev/problems/method_not_allowed', status: 405, code: 'method_not_allowed', instance: '/v1/orders', detail: 'PUT is not allowed on /v1/orders; it answers GET, HEAD, POST' });
    expect(put.body.request_id).toBe(put.headers.get('x-request-id'));
    const del = await call('DELETE', '/esims/esim_anything');
    expect(del.status).toBe(405);
    expect(del.headers.get('allow')).toBe('GET, HEAD');
    const patch = await call('PATCH', '/webhook-endpoints/we_x/rotate-secret');
    expect([patch.status, patch.headers.get('allow')]).toEqual([405, 'POST']);
    const zip = await call('POST', '/orders/ord_x/qr-codes.zip');
    expect([zip.status, zip.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
    // The sandbox base answers the same way; a path that does not exist stays 404.
    const sandbox = await fetch(`${server.baseUrl}/sandbox/v1/balance`, { method: 'POST', headers: { authorization: `Bearer ${partner.accessCode}` } });
    expect([sandbox.status, sandbox.headers.get('allow'), (await sandbox.json()).code]).toEqual([405, 'GET, HEAD', 'method_not_allowed']);
    const missing = await call('PUT', '/ordersx');
    expect([missing.status, missing.headers.get('allow'), missing.body.code]).toEqual([404, null, 'not_found']);
    // Without a key the answer is still 401: authentication comes first.
    expect((await call('PUT', '/orders', { key: null })).status).toBe(401);
  });

  it('every problem code is in the closed list', async () => {
    const bad = await call('POST', '/orders', { body: { lines: [{ package_id: 'US_1_7', count: '1', extra: true }] } });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('invalid_request');
    expect(bad.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ loc: 'body.lines.0.extra' }), expect.objectContaining({ loc: 'body.lines.0.count', type: 'type' })]));
    const noPkg = await call('POST', '/orders', { body: { lines: [{ package_id: 'NOPE', count: 1 }] } });
    expect(noPkg.status).toBe(404);
    expect(noPkg.body.code).toBe('package_not_found');
    for (const r of seen) if (r.status >= 400) expect(PROBLEM_CODES).toContain((r.body as any).code);
  });

  it('serves the catalog: locations, operators, packages with filters, pages and top-up compatibility', async () => {
    const locations = await call('GET', '/locations?type=region');
    expect(locations.body.data.length).toBeGreaterThan(0);
    expect(locations.body.data.every((l: any) => l.type === 'region')).toBe(true);
    const operators = await call('GET', '/operators?country=US');
    expect(operators.body.data.length).toBeGreaterThan(0);
    expect(operators.body.data.every((o: any) => o.country_code === 'US')).toBe(true);

    const first = await call('GET', '/packages?location=US&limit=3');
    expect(first.body.data).toHaveLength(3);
    expect(first.body.has_more).toBe(true);
    const second = await call('GET', `/packages?location=US&limit=3&cursor=${first.body.next_cursor}`);
    expect(second.body.data[0].id).not.toBe(first.body.data[0].id);
    expect(new Set([...first.body.data, ...second.body.data].map((p: any) => p.id)).size).toBe(first.body.data.length + second.body.data.length);
    expect((await call('GET', '/packages?cursor=garbage')).status).toBe(400);

    const us17 = await call('GET', '/packages/US_1_7');
    expect(us17.body).toMatchObject({ object: 'package', slug: 'US_1_7', type: 'base', location_code: 'US' });
    const topups = await call('GET', `/packages?type=topup&topup_for_package=${us17.body.id}&limit=100`);
    expect(topups.body.data.length).toBeGreaterThan(0);
    expect(topups.body.data.every((p: any) => p.type === 'topup' && p.topup_group === us17.body.topup_group)).toBe(true);
    expect((await call('GET', '/packages/NOPE')).body.code).toBe('package_not_found');
  });

  it('validates without charging, creates, lists and gets orders', async () => {
    const before = (await call('GET', '/balance')).body.available;
    const check = await call('POST', '/orders/validate', { body: { lines: [{ package_id: 'US_1_7', count: 2 }] }, idempotencyKey: 'validate-1' });
    expect(check.status).toBe(200);
    expect(check.body).toMatchObject({ object: 'order_validation', valid: true, balance_sufficient: true, balance: before });
    expect(check.body.amount).toBe(check.body.lines[0].unit_price * 2);
    expect((await call('GET', '/balance')).body.available).toBe(before);
    const wrong = await call('POST', '/orders/validate', { body: { lines: [{ package_id: 'US_1_7', count: 1 }], amount: 1 } });
    expect(wrong.body.code).toBe('amount_mismatch');

    const order = await readyOrder([{ package_id: 'US_1_7', count: 2 }]);
    expect(order).toMatchObject({ object: 'order', status: 'ready', profile_count: 2, allocated_count: 2 });
    expect(order.id).toMatch(/^ord_/);
    expect((await call('GET', '/balance')).body.available).toBe(before - check.body.amount);
    expect((await call('GET', `/orders/${order.order_no}`)).body.id).toBe(order.id);

    const again = await call('POST', '/orders', { body: { transaction_id: order.transaction_id, lines: [{ package_id: 'US_1_7', count: 2 }] } });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(order.id);

    await readyOrder([{ package_id: 'US_1_7', count: 1 }]);
    const page1 = await call('GET', '/orders?limit=1');
    expect(page1.body.data).toHaveLength(1);
    expect(page1.body.has_more).toBe(true);
    const page2 = await call('GET', `/orders?limit=1&cursor=${page1.body.next_cursor}`);
    expect(page2.body.data[0].id).not.toBe(page1.body.data[0].id);
    expect((await call('GET', '/orders/ord_missing')).body.code).toBe('order_not_found');
  });

  it.skipIf(onPostgres)('lets an embedded-store claim that never finished lapse after its lease', async () => {
    const scope = { keyId: 'key_lapse', method: 'POST', path: '/v1/orders', key: 'never-finished' };
    const now = Date.now();
    const fast = server.ctx.store.fast;
    expect(await fast.claimIdempotencyKey(scope, 'h', now + 60_000, now, now + 86_400_000)).toBe(true);
    expect(await fast.claimIdempotencyKey(scope, 'h', now + 60_000, now + 1_000, now + 86_400_000)).toBe(false);
    expect(await fast.claimIdempotencyKey(scope, 'h', now + 120_001, now + 60_001, now + 86_400_000)).toBe(true);
    await fast.releaseIdempotencyKey(scope);
  });

  it('makes one order of 12 concurrent requests with one Idempotency-Key', async () => {
    const body = { lines: [{ package_id: 'US_1_7', count: 1 }] };
    const answers = await Promise.all(Array.from({ length: 12 }, () => call('POST', '/orders', { body, idempotencyKey: 'idem-burst' })));
    const created = answers.filter((a) => a.status === 201);
    expect(created.length).toBeGreaterThanOrEqual(1);
    expect(answers.every((a) => a.status === 201 || (a.status === 409 && a.body.code === 'idempotency_key_in_use'))).toBe(true);
    expect(new Set(created.map((a) => a.body.id)).size).toBe(1);
    // Exactly one request ran; every other one was refused while it ran or answered from its stored answer.
    expect(created.filter((a) => a.headers.get('idempotent-replayed') !== 'true')).toHaveLength(1);
    // After the burst the key answers from its stored answer.
    const later = await call('POST', '/orders', { body, idempotencyKey: 'idem-burst' });
    expect(later.status).toBe(201);
    expect(later.headers.get('idempotent-replayed')).toBe('true');
    expect(later.body.id).toBe(created[0]!.body.id);
    const orders = await server.ctx.store.db.selectFrom('orders').select('id').where('partner_id', '=', partner.partnerId).where('transaction_id', '=', 'idem-burst').execute();
    expect(orders).toHaveLength(1);
  });

  it('stores Idempotency-Keys per key, method and path: replay, different body, in flight', async () => {
    const body = { lines: [{ package_id: 'US_1_7', count: 1 }] };
    const first = await call('POST', '/orders', { body, idempotencyKey: 'idem-A' });
    expect(first.status).toBe(201);
    const replay = await call('POST', '/orders', { body, idempotencyKey: 'idem-A' });
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(first.body);
    const different = await call('POST', '/orders', { body: { lines: [{ package_id: 'US_1_7', count: 2 }] }, idempotencyKey: 'idem-A' });
    expect(different.status).toBe(422);
    expect(different.body.code).toBe('idempotency_key_reused');
    // The same key on another path is another scope.
    const elsewhere = await call('POST', '/orders/validate', { body, idempotencyKey: 'idem-A' });
    expect(elsewhere.status).toBe(200);
    // A second API key of the same partner has its own scope.
    const created = await call('POST', '/api-keys', { body: { label: 'second' }, idempotencyKey: 'key-1' });
    const other = await call('POST', '/orders', { body: { ...body, transaction_id: 'other-scope' }, idempotencyKey: 'idem-A', key: created.body.access_code });
    expect(other.status).toBe(201);
    expect(other.body.id).not.toBe(first.body.id);

    // In flight: a claimed, unfinished key answers 409 until its answer is stored.
    const keyId = (await server.ctx.partners.listKeys(partner.partnerId))[0].id;
    const now = Date.now();
    await server.ctx.store.db
      .insertInto('idempotency_keys')
      .values({ key_id: keyId, method: 'POST', path: '/v1/orders', idempotency_key: 'busy', request_hash: 'x', state: 'in_flight', response_status: null, response_body: null, response_type: null, locked_until: now + 60_000, created_at: now, expires_at: now + 86_400_000 })
      .execute();
    const busy = await call('POST', '/orders', { body, idempotencyKey: 'busy' });
    expect([409, 422]).toContain(busy.status);
    await server.ctx.store.db.updateTable('idempotency_keys').set({ request_hash: (await server.ctx.store.db.selectFrom('idempotency_keys').select('request_hash').where('idempotency_key', '=', 'idem-A').where('key_id', '=', keyId).where('path', '=', '/v1/orders').executeTakeFirstOrThrow()).request_hash }).where('idempotency_key', '=', 'busy').execute();
    const inFlight = await call('POST', '/orders', { body, idempotencyKey: 'busy' });
    expect(inFlight.status).toBe(409);
    expect(inFlight.body.code).toBe('idempotency_key_in_use');
    expect(inFlight.headers.get('retry-after')).toBe('1');

    // Two copies at once: one order.
    const [a, b] = await Promise.all([call('POST', '/orders', { body, idempotencyKey: 'race' }), call('POST', '/orders', { body, idempotencyKey: 'race' })]);
    const statuses = [a.status, b.status].sort();
    expect(statuses[0]).toBe(201);
    if (statuses[1] === 201) expect(a.body.id).toBe(b.body.id);
    else expect(statuses[1]).toBe(409);
    const orders = await server.ctx.store.db.selectFrom('orders').select('id').where('transaction_id', '=', 'race').execute();
    expect(orders).toHaveLength(1);
  });

  it('lists, gets and acts on eSIMs: suspend, resume, top-up, usage, SMS, revoke, cancel', async () => {
    const order = await readyOrder([{ package_id: 'US_1_7', count: 2 }]);
    const list = await call('GET', `/esims?order_id=${order.id}&limit=1`);
    expect(list.body.data).toHaveLength(1);
    const rest = await call('GET', `/esims?order_id=${order.id}&limit=1&cursor=${list.body.next_cursor}`);
    expect(rest.body.has_more).toBe(false);
    const [esim, other] = [list.body.data[0], rest.body.data[0]];
    expect(esim).toMatchObject({ object: 'esim', order_id: order.id, status: 'GOT_RESOURCE', smdp_status: 'RELEASED' });
    expect(esim.id).toMatch(/^esim_/);
    expect(esim.activation_code).toMatch(/^LPA:1\$/);
    expect(esim.qr_code_url).toContain('/qr/');
    expect((await call('GET', `/esims/${esim.iccid}`)).body.id).toBe(esim.id);
    expect((await call('GET', `/esims/${esim.esim_tran_no}`)).body.id).toBe(esim.id);
    expect((await call('GET', `/esims?status=GOT_RESOURCE&limit=100`)).body.data.length).toBeGreaterThanOrEqual(2);

    expect((await call('POST', `/esims/${esim.id}/suspend`, { idempotencyKey: 's1' })).body.status).toBe('SUSPENDED');
    const twice = await call('POST', `/esims/${esim.id}/suspend`);
    expect(twice.status).toBe(409);
    expect(twice.body.code).toBe('invalid_state');
    expect((await call('POST', `/esims/${esim.id}/resume`)).body.status).toBe('GOT_RESOURCE');

    const topups = await call('GET', `/packages?type=topup&topup_for_esim=${esim.id}`);
    const topup = await call('POST', `/esims/${esim.id}/topups`, { body: { package_id: topups.body.data[0].id }, idempotencyKey: 'topup-1' });
    expect(topup.status).toBe(201);
    expect(topup.body.esim.bundles).toHaveLength(2);
    expect(topup.body.order_id).toMatch(/^ord_/);
    const topupAgain = await call('POST', `/esims/${esim.id}/topups`, { body: { package_id: topups.body.data[0].id }, idempotencyKey: 'topup-1' });
    expect(topupAgain.body.order_id).toBe(topup.body.order_id);
    expect((await call('POST', `/esims/${esim.id}/topups`, { body: { package_id: 'US_1_7' } })).body.code).toBe('invalid_request');

    // Install and use it on the simulated network, then read usage.
    const sandbox = (path: string, body: unknown = {}) =>
      fetch(`${server.baseUrl}/sandbox${path}`, { method: 'POST', headers: { authorization: `Bearer ${partner.accessCode}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await sandbox(`/esims/${esim.iccid}/install`)).status).toBe(200);
    expect((await sandbox(`/esims/${esim.iccid}/enable`)).status).toBe(200);
    expect((await sandbox(`/esims/${esim.iccid}/usage`, { bytes: 1_000_000 })).status).toBe(200);
    const usage = await call('GET', `/esims/${esim.id}/usage`);
    expect(usage.body).toMatchObject({ object: 'usage', esim_id: esim.id, used_bytes: 1_000_000 });
    expect(Array.isArray(usage.body.records.data)).toBe(true); // the simulated network applies usage without usage records

    const sms = await call('POST', `/esims/${esim.id}/sms`, { body: { message: 'hello' }, idempotencyKey: 'sms-1' });
    if (esim.sms_supported) {
      expect(sms.status).toBe(201);
      expect((await call('GET', `/esims/${esim.id}/sms`)).body.data[0]).toMatchObject({ direction: 'mt', body: 'hello' });
    } else {
      expect(sms.status).toBe(409);
      expect((await call('GET', `/esims/${esim.id}/sms`)).body.data).toEqual([]);
    }

    expect((await call('POST', `/esims/${esim.id}/revoke`)).body.status).toBe('REVOKE');
    const beforeCancel = (await call('GET', '/balance')).body.available;
    expect((await call('POST', `/esims/${other.id}/cancel`)).body.status).toBe('CANCEL');
    expect((await call('GET', '/balance')).body.available).toBe(beforeCancel + order.lines[0].unit_price);
    expect((await call('GET', '/esims/esim_nope')).body.code).toBe('esim_not_found');
  });

  it('lists ledger transactions in pages and exports them as CSV', async () => {
    const page1 = await call('GET', '/transactions?limit=2');
    expect(page1.body.data).toHaveLength(2);
    expect(page1.body.data[0].id).toMatch(/^txf_/);
    const all: any[] = [...page1.body.data];
    let cursor = page1.body.next_cursor;
    while (cursor) {
      const next = await call('GET', `/transactions?limit=2&cursor=${cursor}`);
      all.push(...next.body.data);
      cursor = next.body.next_cursor;
    }
    const deposit = all.find((t) => t.kind === 'deposit');
    expect(deposit.amount).toBe(1000 * 10_000);
    expect(all.filter((t) => t.kind === 'charge').every((t) => t.amount < 0)).toBe(true);
    expect(all.reduce((sum, t) => sum + t.amount, 0)).toBe((await call('GET', '/balance')).body.available);
    const charges = await call('GET', '/transactions?kind=charge&limit=100');
    expect(charges.body.data.every((t: any) => t.kind === 'charge')).toBe(true);

    const csv = await call('GET', '/transactions/export');
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const lines = csv.text.trim().split('\r\n');
    expect(lines[0]).toBe('id,created_at,kind,amount,currency,reference,memo');
    expect(lines).toHaveLength(all.length + 1);
  });

  it('manages the webhook endpoint: create, list, update, test, rotate, delete; deliveries list and resend', async () => {
    expect((await call('GET', '/webhook-endpoints')).body.data).toEqual([]);
    const down = await call('POST', '/webhook-endpoints', { body: { url: `${receiverUrl}/down` } });
    expect(down.status).toBe(422);
    expect(down.body.code).toBe('webhook_unreachable');
    const created = await call('POST', '/webhook-endpoints', { body: { url: `${receiverUrl}/hook` }, idempotencyKey: 'wh-1' });
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^whsec_/);
    const last = received[received.length - 1];
    expect(() => verifyWebhook(created.body.secret, last.headers as any, last.body)).not.toThrow();
    expect((await call('POST', '/webhook-endpoints', { body: { url: `${receiverUrl}/hook` } })).body.code).toBe('conflict');
    const id = created.body.id;
    expect((await call('GET', '/webhook-endpoints')).body.data).toEqual([{ object: 'webhook_endpoint', id, url: `${receiverUrl}/hook`, dialect: 'esimaccess' }]);
    expect((await call('PATCH', `/webhook-endpoints/${id}`, { body: { url: `${receiverUrl}/hook2` } })).body.url).toBe(`${receiverUrl}/hook2`);
    const test = await call('POST', `/webhook-endpoints/${id}/test`);
    expect(test.body).toMatchObject({ object: 'webhook_test', ok: true, status_code: 200 });
    const rotated = await call('POST', `/webhook-endpoints/${id}/rotate-secret`);
    expect(rotated.body.secret).not.toBe(created.body.secret);
    expect(rotated.body.previous_secret_valid_until).not.toBeNull();
    expect((await call('GET', `/webhook-endpoints/${id}/secret`)).body.secret).toBe(rotated.body.secret);

    // An order makes an ORDER_STATUS delivery.
    await readyOrder([{ package_id: 'US_1_7', count: 1 }]);
    let deliveries: any;
    for (let i = 0; i < 200; i++) {
      deliveries = await call('GET', '/webhook-deliveries?limit=5');
      if (deliveries.body.data.some((d: any) => d.status === 'delivered')) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    const delivered = deliveries.body.data.find((d: any) => d.status === 'delivered');
    expect(delivered).toBeDefined();
    expect((await call('GET', `/webhook-deliveries/${delivered.id}`)).body.id).toBe(delivered.id);
    const resent = await call('POST', `/webhook-deliveries/${delivered.id}/resend`, { idempotencyKey: 'resend-1' });
    expect(resent.status).toBe(200);
    expect(resent.body.id).toBe(delivered.id);
    expect((await call('GET', '/webhook-deliveries/whd_nope')).status).toBe(404);

    const deleted = await call('DELETE', `/webhook-endpoints/${id}`, { idempotencyKey: 'del-1' });
    expect(deleted.status).toBe(204);
    const deletedAgain = await call('DELETE', `/webhook-endpoints/${id}`, { idempotencyKey: 'del-1' });
    expect(deletedAgain.status).toBe(204);
    expect(deletedAgain.headers.get('idempotent-replayed')).toBe('true');
    expect((await call('GET', `/webhook-endpoints/${id}`)).status).toBe(404);
  });

  it('lists, creates, rolls and revokes API keys', async () => {
    const created = await call('POST', '/api-keys', { body: { label: 'ci' } });
    expect(created.status).toBe(201);
    expect(created.body.id).toMatch(/^key_/);
    expect((await call('GET', '/balance', { key: created.body.access_code })).status).toBe(200);
    const list = await call('GET', '/api-keys');
    expect(list.body.data.map((k: any) => k.id)).toContain(created.body.id);
    expect(JSON.stringify(list.body)).not.toContain(created.body.secret_key);
    const rolled = await call('POST', `/api-keys/${created.body.id}/roll`);
    expect(rolled.status).toBe(201);
    expect(rolled.body.previous_key_expires_at).not.toBeNull();
    expect((await call('GET', '/balance', { key: rolled.body.access_code })).status).toBe(200);
    const revoked = await call('DELETE', `/api-keys/${rolled.body.id}`);
    expect(revoked.body.status).toBe('revoked');
    expect((await call('GET', '/balance', { key: rolled.body.access_code })).status).toBe(401);
    const stranger = await server.createPartner({ name: 'Stranger' });
    expect((await call('DELETE', `/api-keys/${stranger.keyId}`)).status).toBe(404);
  });

  it("does not show another partner's resources", async () => {
    const order = await readyOrder([{ package_id: 'US_1_7', count: 1 }]);
    const stranger = await server.createPartner({ name: 'Other' });
    expect((await call('GET', `/orders/${order.id}`, { key: stranger })).status).toBe(404);
    expect((await call('GET', `/esims?order_id=${order.id}`, { key: stranger })).status).toBe(404);
  });

  it('answers 429 with Retry-After past the rate limit', async () => {
    const slow = await server.createPartner({ name: 'Slow', rateLimitPerSecond: 2 });
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await call('GET', '/balance', { key: slow }));
    const limited = answers.find((a) => a.status === 429)!;
    expect(limited).toBeDefined();
    expect(limited.body.code).toBe('rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('every response seen above validates against its documented schema', async () => {
    const { failures, covered } = await checkResponses(server.baseUrl, seen);
    expect(failures).toEqual([]);
    expect(covered.size).toBeGreaterThan(30);
  });
});
