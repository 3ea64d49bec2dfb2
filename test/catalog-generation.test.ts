import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestPartner, type TestServer } from './helpers/server.ts';
import { storeEnv } from './helpers/store.ts';
import { consoleUser } from './helpers/console.ts';

/** Two server processes' worth of contexts on one store: a catalogue change made through one reaches the other. */
describe('catalogue changes reach every process', () => {
  let a: TestServer;
  let b: TestServer;
  let partner: TestPartner;
  beforeAll(async () => {
    a = await startServer();
    b = await startServer({ DATA_DIR: a.dataDir, ...storeEnv(a.dataDir) });
    partner = await a.createPartner({ name: 'Two Sites' });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  const priceAt = async (server: TestServer) => {
    const response = await fetch(`${server.baseUrl}/v1/packages/US_1_7`, { headers: { authorization: `Bearer ${partner.accessCode}` } });
    return { status: response.status, price: (await response.json()).price as number };
  };
  const within = async (check: () => Promise<boolean>, ms = 5000) => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (await check()) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  };

  it('sees a list price, a tier factor and a retired package changed through the other process', async () => {
    const operator = await consoleUser(a, { email: 'ops@two.example', role: 'operator' });
    const code = a.ctx.catalog.get('US_1_7')!.package_code;
    const before = await priceAt(b);
    expect(before.status).toBe(200);

    expect((await operator.call('PATCH', `/console/api/operator/catalog/packages/${code}`, { body: { price: 123_400 } })).status).toBe(200);
    expect(await within(async () => (await priceAt(b)).price === 123_400)).toBe(true);

    expect((await operator.call('PATCH', '/console/api/operator/tiers/standard', { body: { price_factor_bps: 5_000 } })).status).toBe(200);
    expect(await within(async () => (await priceAt(b)).price === 61_700)).toBe(true);

    expect((await operator.call('PATCH', `/console/api/operator/catalog/packages/${code}`, { body: { status: 'retired' } })).status).toBe(200);
    expect(await within(async () => (await priceAt(b)).status === 404)).toBe(true);
    const order = await fetch(`${b.baseUrl}/v1/orders`, { method: 'POST', headers: { authorization: `Bearer ${partner.accessCode}`, 'content-type': 'application/json' }, body: JSON.stringify({ lines: [{ package_id: code, count: 1 }] }) });
    expect(order.status).toBe(404);
  });

  it('sees an exchange rate set by the CLI or another process', async () => {
    const pkg = b.ctx.catalog.list({ type: 'BASE' })[0];
    const { key } = await b.ctx.partners.create({ name: 'Pounds', currency: 'GBP' }, Date.now());
    const gbpPrice = async () => fetch(`${b.baseUrl}/v1/packages/${pkg.package_code}`, { headers: { authorization: `Bearer ${key.accessCode}` } });
    // No GBP rate yet: b cannot price in GBP (and caches that it has no rate).
    expect((await gbpPrice()).status).toBe(400);
    await a.ctx.pricing.setRate('GBP', '0.8', Date.now());
    expect(await within(async () => (await gbpPrice()).status === 200)).toBe(true);
    const priced = await (await gbpPrice()).json();
    expect(priced.currency).toBe('GBP');
    expect(priced.price).toBeGreaterThan(0);
  });
});
