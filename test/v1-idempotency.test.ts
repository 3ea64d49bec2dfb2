import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestPartner, type TestServer } from './helpers/server.ts';
import { checkResponses, ResponseLog } from './helpers/openapi-responses.ts';
import { startJsonReceiver, type JsonReceiver } from './helpers/receiver.ts';

/**
 * Idempotency-Key on every mutating /v1 operation, walked from the served OpenAPI document: a replay answers
 * the stored response and changes nothing; the same key with another body is 422 idempotency_key_reused; the
 * key is scoped per API key. Each operation gets a fresh partner and builds what it needs.
 */

interface Caller {
  partner: TestPartner;
  /** A second API key of the same partner. */
  second: { keyId: string; accessCode: string };
}

interface Prepared {
  path: string;
  body?: unknown;
  /** Another request to the same operation, for the same key. */
  otherBody: unknown;
}

const log = new ResponseLog();

describe('/v1 Idempotency-Key on every mutating operation', () => {
  let server: TestServer;
  let receiver: JsonReceiver;

  beforeAll(async () => {
    server = await startServer();
    receiver = await startJsonReceiver();
  });
  afterAll(async () => {
    await server?.close();
    await receiver?.close();
  });

  async function call(accessCode: string, method: string, path: string, options: { body?: unknown; idempotencyKey?: string } = {}) {
    const headers: Record<string, string> = { authorization: `Bearer ${accessCode}` };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
    const response = await fetch(`${server.baseUrl}${path}`, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
    const text = await response.text();
    const body = log.record(method, response.url, response.status, response.headers.get('content-type') ?? '', text) as any;
    return { status: response.status, headers: response.headers, body, text };
  }

  /** Waits until none of the partner's orders is still allocating (profiles are allocated in the background). */
  async function settled(partnerId: string): Promise<void> {
    for (let i = 0; i < 400; i++) {
      const busy = await server.ctx.store.db.selectFrom('orders').select('id').where('partner_id', '=', partnerId).where('status', '=', 'allocating').execute();
      if (!busy.length) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error('orders never settled');
  }

  /** Everything a mutating /v1 call can change for a partner. */
  async function state(partnerId: string) {
    await settled(partnerId);
    const db = server.ctx.store.db;
    const esims = await db.selectFrom('esims').select(['id', 'esim_status']).where('partner_id', '=', partnerId).orderBy('id').execute();
    return {
      balance: (await db.selectFrom('ledger_transfers').select(['id', 'amount', 'kind']).where('partner_id', '=', partnerId).orderBy('id').execute()).map((t) => `${t.id}:${t.kind}:${t.amount}`),
      orders: (await db.selectFrom('orders').select(['id', 'status', 'amount']).where('partner_id', '=', partnerId).orderBy('id').execute()).map((o) => `${o.id}:${o.status}:${o.amount}`),
      esims: esims.map((e) => `${e.id}:${e.esim_status}`),
      bundles: esims.length ? (await db.selectFrom('bundles').select('id').where('esim_id', 'in', esims.map((e) => e.id)).orderBy('id').execute()).map((b) => b.id) : [],
      sms: (await db.selectFrom('sms_messages').select('id').where('partner_id', '=', partnerId).execute()).length,
      keys: (await db.selectFrom('api_keys').select(['id', 'status', 'expires_at']).where('partner_id', '=', partnerId).orderBy('id').execute()).map((k) => `${k.id}:${k.status}:${k.expires_at}`),
      inventory: (await db.selectFrom('esimgo_inventory').select(['usage_id', 'remaining']).where('partner_id', '=', partnerId).orderBy('usage_id').execute()).map((r) => `${r.usage_id}:${r.remaining}`),
      webhook: await server.ctx.webhooks.get(partnerId),
      resent: (await db.selectFrom('webhook_deliveries').select(['id', 'cycle_started_at']).where('partner_id', '=', partnerId).orderBy('id').execute()).map((d) => `${d.id}:${d.cycle_started_at}`),
      // Only API calls send CHECK_HEALTH (deliveries of events run in the background), and operations run one at a time.
      healthChecks: receiver.bodies.filter((b) => b?.notifyType === 'CHECK_HEALTH').length,
    };
  }

  // ---------------------------------------------------------------- fixtures each operation builds

  async function readyEsim(c: Caller): Promise<any> {
    const order = await call(c.partner.accessCode, 'POST', '/v1/orders', { body: { lines: [{ package_id: 'US_1_7', count: 1 }] } });
    expect(order.status).toBe(201);
    await settled(c.partner.partnerId);
    return (await call(c.partner.accessCode, 'GET', `/v1/esims?order_id=${order.body.id}`)).body.data[0];
  }
  async function endpoint(c: Caller, hook: string): Promise<string> {
    const created = await call(c.partner.accessCode, 'POST', '/v1/webhook-endpoints', { body: { url: `${receiver.url}${hook}` } });
    expect(created.status).toBe(201);
    return created.body.id;
  }
  async function purchased(c: Caller, quantity: number): Promise<any> {
    const bought = await call(c.partner.accessCode, 'POST', '/v1/inventory/purchases', { body: { lines: [{ package_id: 'US_1_7', quantity }] } });
    expect(bought.status).toBe(201);
    return (await call(c.partner.accessCode, 'GET', '/v1/inventory')).body.data[0];
  }
  const thirdKey = async (c: Caller) => (await server.ctx.partners.createKey(c.partner.partnerId, { label: 'target' }, Date.now())).keyId;

  const orderBody = { lines: [{ package_id: 'US_1_7', count: 1 }] };
  const orderOther = { lines: [{ package_id: 'US_1_7', count: 2 }] };
  const bodyless = async (path: string): Promise<Prepared> => ({ path, otherBody: { reason: 'another request' } });

  const CASES: Record<string, (c: Caller, hook: string) => Promise<Prepared>> = {
    'POST /v1/orders': async () => ({ path: '/v1/orders', body: orderBody, otherBody: orderOther }),
    'POST /v1/orders/validate': async () => ({ path: '/v1/orders/validate', body: orderBody, otherBody: orderOther }),
    'POST /v1/esims/{id}/cancel': async (c) => bodyless(`/v1/esims/${(await readyEsim(c)).id}/cancel`),
    'POST /v1/esims/{id}/suspend': async (c) => bodyless(`/v1/esims/${(await readyEsim(c)).id}/suspend`),
    'POST /v1/esims/{id}/resume': async (c) => {
      const esim = await readyEsim(c);
      expect((await call(c.partner.accessCode, 'POST', `/v1/esims/${esim.id}/suspend`)).status).toBe(200);
      return bodyless(`/v1/esims/${esim.id}/resume`);
    },
    'POST /v1/esims/{id}/revoke': async (c) => bodyless(`/v1/esims/${(await readyEsim(c)).id}/revoke`),
    'POST /v1/esims/{id}/topups': async (c) => {
      const esim = await readyEsim(c);
      const topups = (await call(c.partner.accessCode, 'GET', `/v1/packages?type=topup&topup_for_esim=${esim.id}`)).body.data;
      return { path: `/v1/esims/${esim.id}/topups`, body: { package_id: topups[0].id, amount: topups[0].price }, otherBody: { package_id: topups[0].id } };
    },
    'POST /v1/esims/{id}/sms': async (c) => ({ path: `/v1/esims/${(await readyEsim(c)).id}/sms`, body: { message: 'hello' }, otherBody: { message: 'hello again' } }),
    'POST /v1/webhook-endpoints': async (_c, hook) => ({ path: '/v1/webhook-endpoints', body: { url: `${receiver.url}${hook}` }, otherBody: { url: `${receiver.url}${hook}/other` } }),
    'PATCH /v1/webhook-endpoints/{id}': async (c, hook) => ({ path: `/v1/webhook-endpoints/${await endpoint(c, hook)}`, body: { url: `${receiver.url}${hook}/patched` }, otherBody: { url: `${receiver.url}${hook}/other` } }),
    'DELETE /v1/webhook-endpoints/{id}': async (c, hook) => bodyless(`/v1/webhook-endpoints/${await endpoint(c, hook)}`),
    'POST /v1/webhook-endpoints/{id}/rotate-secret': async (c, hook) => bodyless(`/v1/webhook-endpoints/${await endpoint(c, hook)}/rotate-secret`),
    'POST /v1/webhook-endpoints/{id}/test': async (c, hook) => bodyless(`/v1/webhook-endpoints/${await endpoint(c, hook)}/test`),
    'POST /v1/webhook-deliveries/{id}/resend': async (c, hook) => {
      await endpoint(c, hook);
      await readyEsim(c);
      for (let i = 0; i < 400; i++) {
        const [delivery] = (await call(c.partner.accessCode, 'GET', '/v1/webhook-deliveries?limit=1')).body.data;
        if (delivery) return bodyless(`/v1/webhook-deliveries/${delivery.id}/resend`);
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error('no delivery was made');
    },
    'POST /v1/api-keys': async () => ({ path: '/v1/api-keys', body: { label: 'ci' }, otherBody: { label: 'cd' } }),
    'POST /v1/api-keys/{id}/roll': async (c) => bodyless(`/v1/api-keys/${await thirdKey(c)}/roll`),
    'DELETE /v1/api-keys/{id}': async (c) => bodyless(`/v1/api-keys/${await thirdKey(c)}`),
    'POST /v1/inventory/purchases': async () => ({ path: '/v1/inventory/purchases', body: { lines: [{ package_id: 'US_1_7', quantity: 1 }] }, otherBody: { lines: [{ package_id: 'US_1_7', quantity: 2 }] } }),
    'POST /v1/inventory/apply': async (c) => {
      await purchased(c, 3);
      return { path: '/v1/inventory/apply', body: { package_id: 'US_1_7', count: 1 }, otherBody: { package_id: 'US_1_7', count: 2 } };
    },
    'POST /v1/inventory/{id}/refund': async (c) => ({ path: `/v1/inventory/${(await purchased(c, 3)).id}/refund`, body: { quantity: 1 }, otherBody: { quantity: 2 } }),
  };

  /** The same JSON with every object's keys in reverse order: the same request to the server. */
  const reversed = (value: unknown): unknown =>
    Array.isArray(value) ? value.map(reversed) : value && typeof value === 'object' ? Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reversed(v)])) : value;

  it('walks every mutating /v1 operation of the document', async () => {
    const doc = await (await fetch(`${server.baseUrl}/openapi.json`)).json();
    const operations = Object.entries<Record<string, unknown>>(doc.paths)
      .filter(([path]) => path.startsWith('/v1/'))
      .flatMap(([path, item]) => Object.keys(item).filter((m) => m !== 'get').map((m) => `${m.toUpperCase()} ${path}`));
    expect(operations.length).toBeGreaterThan(15);
    expect(operations.filter((o) => !CASES[o])).toEqual([]);
    let reorderedBodies = 0;

    for (const operation of operations) {
      const method = operation.split(' ')[0];
      const { partner } = { partner: await server.createPartner({ name: `Idem ${operation}` }) };
      const second = await server.ctx.partners.createKey(partner.partnerId, { label: 'second' }, Date.now());
      const c: Caller = { partner, second };
      const hook = `/${partner.partnerId}`;
      const prepared = await CASES[operation](c, hook);
      const key = `idem-${operation}`;
      const label = (what: string) => `${operation}: ${what}`;

      const first = await call(partner.accessCode, method, prepared.path, { body: prepared.body, idempotencyKey: key });
      expect(first.status, label(`first answer ${first.text}`)).toBeLessThan(500);
      expect(first.headers.get('idempotent-replayed'), label('first is not a replay')).toBeNull();
      const after = await state(partner.partnerId);

      // A replay, with the body's keys in another order: the stored answer, byte for byte, and nothing more changes.
      const sameBody = reversed(prepared.body);
      if (JSON.stringify(sameBody) !== JSON.stringify(prepared.body)) reorderedBodies++;
      const replay = await call(partner.accessCode, method, prepared.path, { body: sameBody, idempotencyKey: key });
      expect(replay.status, label('replay status')).toBe(first.status);
      expect(replay.text, label('replay body')).toBe(first.text);
      expect(replay.headers.get('idempotent-replayed'), label('replay header')).toBe('true');
      expect(await state(partner.partnerId), label('state after the replay')).toEqual(after);

      // The same key with another body: refused, nothing changes.
      const other = await call(partner.accessCode, method, prepared.path, { body: prepared.otherBody, idempotencyKey: key });
      expect(other.status, label('another body')).toBe(422);
      expect(other.headers.get('content-type'), label('another body')).toContain('application/problem+json');
      expect(other.body, label('another body')).toMatchObject({ code: 'idempotency_key_reused', status: 422, instance: prepared.path });
      expect(await state(partner.partnerId), label('state after another body')).toEqual(after);

      // Another API key of the same partner with the same Idempotency-Key: its own scope, so not a replay.
      const scoped = await call(second.accessCode, method, prepared.path, { body: prepared.body, idempotencyKey: key });
      expect(scoped.status, label(`second key ${scoped.text}`)).toBeLessThan(500);
      expect(scoped.headers.get('idempotent-replayed'), label('second key is not a replay')).toBeNull();
      const rows = await server.ctx.store.db
        .selectFrom('idempotency_keys')
        .select(['key_id', 'response_status'])
        .where('idempotency_key', '=', key)
        .where('method', '=', method)
        .where('path', '=', prepared.path)
        .orderBy('key_id')
        .execute();
      expect(rows.map((r) => `${r.key_id}:${r.response_status}`).sort(), label('one stored answer per API key')).toEqual([`${partner.keyId}:${first.status}`, `${second.keyId}:${scoped.status}`].sort());
    }
    expect(reorderedBodies).toBeGreaterThanOrEqual(5);
  }, 180_000);

  it('every response seen validates against the OpenAPI document', async () => {
    const { failures, covered } = await checkResponses(server.baseUrl, log.seen);
    expect(failures).toEqual([]);
    expect(covered.size).toBeGreaterThan(20);
  });
});
