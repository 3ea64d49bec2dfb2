import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestPartner, type TestServer } from './helpers/server.ts';
import { dataplansClient as client, decodeQr, reloadablePlan, stockPool as importPool } from './helpers/dataplans.ts';
import { walletBalance } from '../src/domain/ledger/ledger.ts';

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const DECIMAL = /^\d+(\.\d{1,4})?$/;

const stockPool = (server: TestServer, packageCode: string, count: number, start: number) => importPool(server, packageCode, count, start, { iccid: '8988247000', matching: 'LIVE', msisdn: '6681' });

describe('dataplans.io API: catalogue, auth and errors on both bases', () => {
  let server: TestServer;
  let dp: ReturnType<typeof client>;
  let live: TestPartner;

  beforeAll(async () => {
    server = await startServer();
    dp = client(server);
    live = await server.createPartner({ environment: 'live' });
  });
  afterAll(async () => server?.close());

  it('lists plans, one plan by slug, countries, regions (local and global) and operators', async () => {
    for (const base of ['live', 'sandbox'] as const) {
      const plans = await dp(base, 'GET', '/plans', live.accessCode);
      expect(plans.status).toBe(200);
      expect(Array.isArray(plans.json)).toBe(true);
      expect(plans.json.length).toBeGreaterThan(100);
      const plan = plans.json[0];
      expect(Object.keys(plan).sort()).toEqual(
        ['active', 'capacity', 'capacityUnit', 'countries', 'name', 'operator', 'period', 'phoneNumber', 'prepaidCredit', 'prepaidCurrency', 'priceCurrency', 'region', 'reloadable', 'retailPrice', 'slug'].sort(),
      );
      expect(plan.retailPrice).toMatch(DECIMAL);
      expect(plan.priceCurrency).toBe('USD');
      expect(['MB', 'GB']).toContain(plan.capacityUnit);
      expect(plan.operator).toEqual({ slug: expect.any(String), name: expect.any(String) });
      expect(plan.countries[0]).toEqual({ countryCode: expect.stringMatching(/^[A-Z]{2}$/), countryName: expect.any(String) });

      const one = await dp(base, 'GET', `/plan/${encodeURIComponent(plan.slug)}`, live.accessCode);
      expect(one.status).toBe(200);
      expect(one.json).toEqual(plan);

      const countries = await dp(base, 'GET', '/countries', live.accessCode);
      expect(countries.json).toContainEqual({ countryCode: 'TH', countryName: 'Thailand' });
      const regions = await dp(base, 'GET', '/regions', live.accessCode);
      const slugs = regions.json.map((r: any) => r.slug);
      expect(slugs).toEqual(expect.arrayContaining(['local', 'global', 'europe', 'asia']));
      expect(regions.json[0]).toEqual({ slug: 'local', name: 'Local' });

      const th = await dp(base, 'GET', '/plans/countries/th', live.accessCode);
      expect(th.json.length).toBeGreaterThan(0);
      expect(th.json.every((p: any) => p.countries.some((c: any) => c.countryCode === 'TH'))).toBe(true);
      expect(th.json.some((p: any) => p.region.slug === 'local')).toBe(true);
      expect(th.json.some((p: any) => p.region.slug !== 'local')).toBe(true);
      const global = await dp(base, 'GET', '/plans/regions/global', live.accessCode);
      expect(global.json.length).toBeGreaterThan(0);
      expect(global.json.every((p: any) => p.region.slug === 'global' && p.countries.length > 50)).toBe(true);
      const local = await dp(base, 'GET', '/plans/regions/local', live.accessCode);
      expect(local.json.every((p: any) => p.countries.length === 1)).toBe(true);
      const operators = await dp(base, 'GET', '/operators', live.accessCode);
      const op = operators.json[0];
      const byOp = await dp(base, 'GET', `/plans/operators/${op.slug}`, live.accessCode);
      expect(byOp.json.length).toBeGreaterThan(0);
      expect(byOp.json.every((p: any) => p.operator.slug === op.slug)).toBe(true);
    }
  });

  it('accepts the raw key or Bearer, and answers errors as {"error": …}', async () => {
    const raw = await dp('live', 'GET', '/accountBalance', live.accessCode);
    const bearer = await dp('live', 'GET', '/accountBalance', live.accessCode, { bearer: true });
    expect(raw.status).toBe(200);
    expect(bearer.json).toEqual(raw.json);
    expect(raw.json.availableBalance).toBe('1000.00');

    for (const base of ['live', 'sandbox'] as const) {
      const none = await dp(base, 'GET', '/plans', null);
      expect(none.status).toBe(401);
      expect(Object.keys(none.json)).toEqual(['error']);
      expect(typeof none.json.error).toBe('string');
      const bad = await dp(base, 'GET', '/plans', 'not-a-key', { bearer: true });
      expect(bad.status).toBe(401);
      expect(bad.json.error).toMatch(/invalid API key/);
      const missing = await dp(base, 'GET', '/plan/no-such-plan', live.accessCode);
      expect(missing.status).toBe(404);
      expect(missing.json.error).toMatch(/no-such-plan/);
      const noSlug = await dp(base, 'POST', '/purchases', live.accessCode, { body: {} });
      expect(noSlug.status).toBe(400);
      expect(noSlug.json).toEqual({ error: 'slug is required' });
      const unknownPurchase = await dp(base, 'GET', '/purchases/00000000-0000-4000-8000-000000000000', live.accessCode);
      expect(unknownPurchase.status).toBe(404);
      expect(unknownPurchase.json.error).toBeTruthy();
    }
    const sandbox404 = await dp('sandbox', 'GET', '/nope', live.accessCode);
    expect(sandbox404.status).toBe(404);
    expect(sandbox404.json.error).toMatch(/No such endpoint/);
  });
});

describe('dataplans.io API: synchronous purchases on the sandbox and live bases', () => {
  let server: TestServer;
  let dp: ReturnType<typeof client>;
  let live: TestPartner;

  beforeAll(async () => {
    // A sandbox delay far beyond the purchase timeout (15 s): a purchase that waited for it would fail with 503,
    // so a 200 shows that synchronous purchases skip it (no clock reading needed).
    server = await startServer({ SANDBOX_ALLOCATION_DELAY_MS: '600000' });
    dp = client(server);
    live = await server.createPartner({ environment: 'live', depositMinor: 500 * 10_000 });
  });
  afterAll(async () => server?.close());

  it('buys in the sandbox twin with the live key: full payload, QR decodes to qrCodeString, balance, list, get, status', async () => {
    const pkg = reloadablePlan(server);
    const before = await dp('sandbox', 'GET', '/accountBalance', live.accessCode);
    expect(before.json.availableBalance).toBe('1000.00'); // test credit of the new twin
    expect(before.json.environment).toBe('sandbox');

    const res = await dp('sandbox', 'POST', '/purchases', live.accessCode, { body: { slug: pkg.slug, includeQRDataURL: true } });
    expect(res.status, res.text).toBe(200);
    const { purchase, availableBalance } = res.json;
    expect(purchase.purchaseId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(purchase.planSlug).toBe(pkg.slug);
    expect(purchase.planName).toBe(pkg.name);
    expect(purchase.currency).toBe('USD');
    expect(purchase.retail).toMatch(DECIMAL);
    expect(purchase.paid).toMatch(DECIMAL);
    expect(Number(purchase.paid)).toBe(Number(pkg.price) / 10_000);
    expect(purchase.purchasedAt).toMatch(ISO_MS);
    const esim = purchase.esim;
    expect(Object.keys(esim).sort()).toEqual(['expiryDate', 'manual1', 'manual2', 'optionalCode', 'phone', 'qrCodeDataUrl', 'qrCodeString', 'serial'].sort());
    expect(esim.qrCodeString).toBe(`LPA:1$${esim.manual1}$${esim.manual2}`);
    expect(esim.serial).toMatch(/^89\d{17,18}$/);
    expect(esim.phone).toMatch(/^\d+$/);
    expect(esim.expiryDate).toMatch(ISO_MS);
    expect(decodeQr(esim.qrCodeDataUrl)).toBe(esim.qrCodeString);
    expect(Number(availableBalance)).toBeCloseTo(1000 - Number(purchase.paid), 4);

    // The live account did not move; the sandbox one did.
    expect((await dp('live', 'GET', '/accountBalance', live.accessCode)).json.availableBalance).toBe('500.00');
    expect((await dp('sandbox', 'GET', '/accountBalance', live.accessCode)).json.availableBalance).toBe(availableBalance);

    const list = await dp('sandbox', 'GET', '/purchases', live.accessCode);
    expect(list.json).toHaveLength(1);
    const { qrCodeDataUrl: _omit, ...esimWithoutQr } = esim;
    expect(list.json[0]).toEqual({ ...purchase, esim: esimWithoutQr });
    expect((await dp('live', 'GET', '/purchases', live.accessCode)).json).toEqual([]);
    const one = await dp('sandbox', 'GET', `/purchases/${purchase.purchaseId}`, live.accessCode);
    expect(one.json).toEqual(list.json[0]);
    const withQr = await dp('sandbox', 'GET', `/purchases/${purchase.purchaseId}?includeQRDataURL=true`, live.accessCode);
    expect(decodeQr(withQr.json.esim.qrCodeDataUrl)).toBe(esim.qrCodeString);
    expect((await dp('live', 'GET', `/purchases/${purchase.purchaseId}`, live.accessCode)).status).toBe(404);

    const plan = (await dp('sandbox', 'GET', `/plan/${pkg.slug}`, live.accessCode)).json;
    const status = await dp('sandbox', 'GET', `/status/${plan.operator.slug}/${esim.phone}`, live.accessCode);
    expect(status.status, status.text).toBe(200);
    expect(status.json.purchaseId).toBe(purchase.purchaseId);
    expect(status.json.plans).toHaveLength(1);
    expect(status.json.plans[0]).toMatchObject({ slug: pkg.slug, remainingCapacity: plan.capacity, capacityUnit: plan.capacityUnit, isActive: true });
    expect(status.json.plans[0].expiryDate).toMatch(ISO_MS);
    expect(status.json.esim.expiryDate).toBe(esim.expiryDate);
    expect(status.json.esim.serial).toBe(esim.serial);
    expect((await dp('sandbox', 'GET', `/status/other-operator/${esim.phone}`, live.accessCode)).status).toBe(404);
    expect((await dp('sandbox', 'GET', `/status/${purchase.purchaseId}`, live.accessCode)).json.purchaseId).toBe(purchase.purchaseId);

    // The eSIM Access dialect at the sandbox base sees the same eSIM with the same key.
    const query = await fetch(`${server.baseUrl}/sandbox/api/v1/open/esim/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'RT-AccessCode': live.accessCode },
      body: JSON.stringify({ iccid: esim.serial, pager: { pageNum: 1, pageSize: 10 } }),
    }).then((r) => r.json());
    expect(query.success).toBe(true);
    expect(query.obj.esimList[0].iccid).toBe(esim.serial);
    expect(query.obj.esimList[0].transactionId).toBe(purchase.purchaseId);
    // … and the live eSIM Access base does not (the live account has no such eSIM).
    const liveQuery = await server.ea('/esim/query', { iccid: esim.serial, pager: { pageNum: 1, pageSize: 10 } }, live);
    expect(liveQuery.json.success).toBe(false);

    // The sandbox controls reach the twin with the same key.
    const clock = await fetch(`${server.baseUrl}/sandbox/clock`, { headers: { authorization: `Bearer ${live.accessCode}` } });
    expect(clock.status).toBe(200);
  });

  it('tops up a reloadable plan and shows the new plan in the status', async () => {
    const pkg = reloadablePlan(server);
    const bought = await dp('sandbox', 'POST', '/purchases', live.accessCode, { form: { slug: pkg.slug, includeQRDataURL: 'false' } });
    expect(bought.status, bought.text).toBe(200);
    expect(bought.json.purchase.esim.qrCodeDataUrl).toBeUndefined();
    const plan = (await dp('sandbox', 'GET', `/plan/${pkg.slug}`, live.accessCode)).json;
    expect(plan.reloadable).toBe(true);
    const topups = await dp('sandbox', 'GET', `/topups/${bought.json.purchase.purchaseId}`, live.accessCode);
    expect(topups.status).toBe(200);
    expect(topups.json.length).toBeGreaterThan(0);
    const topup = topups.json[0];
    const res = await dp('sandbox', 'POST', '/topups', live.accessCode, { form: { purchaseId: bought.json.purchase.purchaseId, slug: topup.slug } });
    expect(res.status, res.text).toBe(200);
    expect(res.json.topup).toMatchObject({ purchaseId: bought.json.purchase.purchaseId, planSlug: topup.slug, currency: 'USD' });
    expect(res.json.topup.paid).toMatch(DECIMAL);
    expect(Number(res.json.availableBalance)).toBeCloseTo(Number(bought.json.availableBalance) - Number(res.json.topup.paid), 4);
    const status = await dp('sandbox', 'GET', `/status/${bought.json.purchase.purchaseId}`, live.accessCode);
    expect(status.json.plans.map((p: any) => p.slug)).toEqual([pkg.slug, topup.slug]);
    // A top-up that does not fit is refused as an error.
    const wrong = await dp('sandbox', 'POST', '/topups', live.accessCode, { body: { purchaseId: bought.json.purchase.purchaseId, slug: pkg.slug } });
    expect(wrong.status).toBe(404);
    expect(wrong.json.error).toBeTruthy();
  });

  it('buys on the live base with a form-encoded body from the live pool; the eSIM is visible in eSIM Access', async () => {
    const pkg = reloadablePlan(server);
    const empty = await dp('live', 'POST', '/purchases', live.accessCode, { form: { slug: pkg.slug, includeQRDataURL: 'true' } });
    expect(empty.status).toBe(503);
    expect(empty.json.error).toMatch(/Insufficient/);
    expect((await dp('live', 'GET', '/accountBalance', live.accessCode)).json.availableBalance).toBe('500.00');

    await stockPool(server, pkg.package_code, 2, 1000);
    const res = await dp('live', 'POST', '/purchases', live.accessCode, { form: { slug: pkg.slug, includeQRDataURL: 'true' }, bearer: true });
    expect(res.status, res.text).toBe(200);
    const { purchase } = res.json;
    expect(purchase.esim.manual1).toBe('smdp.live.example.com');
    expect(purchase.esim.manual2).toMatch(/^LIVE/);
    expect(purchase.esim.phone).toMatch(/^6681/);
    expect(decodeQr(purchase.esim.qrCodeDataUrl)).toBe(purchase.esim.qrCodeString);
    expect(res.json.availableBalance).toMatch(DECIMAL);
    expect(Number(res.json.availableBalance)).toBeCloseTo(500 - Number(pkg.price) / 10_000, 4);

    const ea = await server.ea('/esim/query', { iccid: purchase.esim.serial, pager: { pageNum: 1, pageSize: 10 } }, live);
    expect(ea.json.success, ea.text).toBe(true);
    expect(ea.json.obj.esimList[0]).toMatchObject({ iccid: purchase.esim.serial, transactionId: purchase.purchaseId });
    expect(ea.json.obj.esimList[0].ac).toBe(purchase.esim.qrCodeString);

    const status = await dp('live', 'GET', `/status/${(await dp('live', 'GET', `/plan/${pkg.slug}`, live.accessCode)).json.operator.slug}/${purchase.esim.phone}`, live.accessCode);
    expect(status.status).toBe(200);
    expect(status.json.purchaseId).toBe(purchase.purchaseId);
  });
});

describe('dataplans.io API: monthly tiers, currencies, refunds', () => {
  let server: TestServer;
  let dp: ReturnType<typeof client>;

  beforeAll(async () => {
    server = await startServer();
    dp = client(server);
    // A small tier table for the test: silver from 20 USD a month.
    await server.ctx.store.db.updateTable('price_tiers').set({ min_monthly_volume: 20 * 10_000 }).where('id', '=', 'silver').execute();
    await server.ctx.store.db.updateTable('price_tiers').set({ min_monthly_volume: 1_000_000 * 10_000 }).where('id', '=', 'gold').execute();
    await server.ctx.store.db.updateTable('price_tiers').set({ min_monthly_volume: 10_000_000 * 10_000 }).where('id', '=', 'platinum').execute();
    await server.ctx.pricing.setRate('THB', '35.5', Date.now());
  });
  afterAll(async () => server?.close());

  it('moves a partner to the next tier once its spend this month crosses the threshold; every dialect charges it', async () => {
    const partner = await server.createPartner({ environment: 'sandbox' });
    const pkg = server.ctx.catalog.list({ locationCode: 'TH' }).find((p) => Number(p.price) >= 5 * 10_000 && Number(p.price) <= 15 * 10_000 && p.is_daypass === 0)!;
    expect(pkg).toBeTruthy();
    const tier0 = await dp('sandbox', 'GET', '/tier', partner.accessCode);
    expect(tier0.json).toMatchObject({ tier: 'standard', source: 'assigned', monthlySpend: '0.00', nextTier: { tier: 'silver', threshold: '20.00', remaining: '20.00' } });

    let spent = 0;
    while (spent < 20 * 10_000) {
      const res = await dp('sandbox', 'POST', '/purchases', partner.accessCode, { body: { slug: pkg.slug } });
      expect(res.status, res.text).toBe(200);
      expect(Number(res.json.purchase.paid) * 10_000).toBe(Number(pkg.price));
      spent += Number(pkg.price);
    }
    const tier1 = await dp('sandbox', 'GET', '/tier', partner.accessCode);
    expect(tier1.json).toMatchObject({ tier: 'silver', source: 'monthly_volume', assignedTier: 'standard', priceFactorBps: 9500, discountPercent: 5, nextTier: { tier: 'gold' } });
    expect(Number(tier1.json.monthlySpend) * 10_000).toBe(spent);
    expect((await dp('sandbox', 'GET', '/accountBalance', partner.accessCode)).json.tier).toBe('silver');

    // × 0.95, rounded half-up to the cent (the pricing rule): exact integer arithmetic.
    const silverPrice = Math.floor((Number(pkg.price) * 9500 + 500_000) / 1_000_000) * 100;
    const cheaper = await dp('sandbox', 'POST', '/purchases', partner.accessCode, { body: { slug: pkg.slug } });
    expect(Math.round(Number(cheaper.json.purchase.paid) * 10_000)).toBe(silverPrice);
    expect(Number(cheaper.json.purchase.retail)).toBe(Number(pkg.retail_price) / 10_000);

    // eSIM Access charges the same tier price.
    const before = (await walletBalance(server.ctx.store.db, partner.partnerId)).balanceMinor;
    const listed = await server.ea('/package/list', { packageCode: pkg.package_code }, partner);
    expect(listed.json.obj.packageList[0].price).toBe(silverPrice);
    const order = await server.ea('/esim/order', { transactionId: 'tier-ea-1', packageInfoList: [{ packageCode: pkg.package_code, count: 1, price: silverPrice }], amount: silverPrice }, partner);
    expect(order.json.success, order.text).toBe(true);
    expect((await walletBalance(server.ctx.store.db, partner.partnerId)).balanceMinor).toBe(before - silverPrice);

    // A new calendar month starts from zero spend: back to the assigned tier.
    const now = new Date();
    const nextMonth = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1) + 3_600_000;
    await server.ctx.store.db.updateTable('partners').set({ clock_offset_ms: nextMonth - Date.now() }).where('id', '=', partner.partnerId).execute();
    server.ctx.keys.invalidate();
    const tier2 = await dp('sandbox', 'GET', '/tier', partner.accessCode);
    expect(tier2.json).toMatchObject({ tier: 'standard', monthlySpend: '0.00' });
    const full = await dp('sandbox', 'POST', '/purchases', partner.accessCode, { body: { slug: pkg.slug } });
    expect(Number(full.json.purchase.paid) * 10_000).toBe(Number(pkg.price));
  });

  it("keeps a THB partner's balance exact through purchases, an eSIM Access order and refunds", async () => {
    const partner = await server.createPartner({ environment: 'sandbox', currency: 'THB', depositMinor: 15_000 * 10_000 });
    const pkg = server.ctx.catalog.list({ locationCode: 'TH' }).find((p) => p.is_daypass === 0 && Number(p.price) < 5 * 10_000)!;
    // Rule: USD list × 35.5, rounded half-up to 0.01 THB; then × tier factor (standard = 1).
    const thbList = Math.round((Number(pkg.price) * 355) / 10 / 100) * 100;
    const thbRetail = Math.round((Number(pkg.retail_price) * 355) / 10 / 100) * 100;

    const plan = await dp('sandbox', 'GET', `/plan/${pkg.slug}`, partner.accessCode);
    expect(plan.json.priceCurrency).toBe('THB');
    expect(Number(plan.json.retailPrice) * 10_000).toBeCloseTo(thbRetail, 6);

    const a = await dp('sandbox', 'POST', '/purchases', partner.accessCode, { body: { slug: pkg.slug } });
    expect(a.status, a.text).toBe(200);
    expect(a.json.purchase.currency).toBe('THB');
    expect(Math.round(Number(a.json.purchase.paid) * 10_000)).toBe(thbList);
    expect(a.json.purchase.paid).toMatch(/^\d+\.\d{2}$/);
    const b = await dp('sandbox', 'POST', '/purchases', partner.accessCode, { form: { slug: pkg.slug } });
    expect(Math.round(Number(b.json.purchase.paid) * 10_000)).toBe(thbList);

    // The same price through eSIM Access, in THB: listed as charged, so a client sending the listed price is
    // not refused with 200005.
    const listed = (await server.ea('/package/list', { packageCode: pkg.package_code }, partner)).json.obj.packageList[0];
    expect(listed).toMatchObject({ packageCode: pkg.package_code, price: thbList, currencyCode: 'THB' });
    expect(listed.retailPrice).toBe(Math.round(Number(pkg.retail_price) * (thbList / Number(pkg.price))));
    const order = await server.ea('/esim/order', { transactionId: 'thb-ea-1', amount: listed.price, packageInfoList: [{ packageCode: pkg.package_code, count: 1, price: listed.price }] }, partner);
    expect(order.json.success, order.text).toBe(true);

    // Refund: cancel purchase a's eSIM (never installed) through eSIM Access.
    const cancel = await server.ea('/esim/cancel', { iccid: a.json.purchase.esim.serial }, partner);
    expect(cancel.json.success, cancel.text).toBe(true);

    const expected = 15_000 * 10_000 - 3 * thbList + thbList;
    expect((await walletBalance(server.ctx.store.db, partner.partnerId)).balanceMinor).toBe(expected);
    const balance = await dp('sandbox', 'GET', '/accountBalance', partner.accessCode);
    expect(balance.json.currency).toBe('THB');
    expect(Math.round(Number(balance.json.availableBalance) * 10_000)).toBe(expected);
    const tier = await dp('sandbox', 'GET', '/tier', partner.accessCode);
    expect(Math.round(Number(tier.json.monthlySpend) * 10_000)).toBe(2 * thbList);
    expect(tier.json.nextTier.threshold).toBe('710.00'); // 20 USD × 35.5
  });

  it('refuses a currency without an exchange rate clearly, charging nothing', async () => {
    const partner = await server.createPartner({ environment: 'sandbox', currency: 'EUR', depositMinor: 100 * 10_000 });
    const pkg = server.ctx.catalog.list({ locationCode: 'TH' })[0];
    const res = await dp('sandbox', 'POST', '/purchases', partner.accessCode, { body: { slug: pkg.slug } });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatch(/No exchange rate for EUR/);
    expect((await walletBalance(server.ctx.store.db, partner.partnerId)).balanceMinor).toBe(100 * 10_000);
  });

  it('reaches the sandbox through a configured sandbox host name on /api/v1, for dataplans and eSIM Access alike', async () => {
    const partner = await server.createPartner({ environment: 'live', depositMinor: 50 * 10_000 });
    server.ctx.config.sandboxHosts = ['sandbox.esimhub.test'];
    const request = (host: string, method: string, path: string, headers: Record<string, string>) =>
      new Promise<any>((resolve, reject) => {
        const url = new URL(server.baseUrl);
        const req = http.request({ host: url.hostname, port: url.port, method, path, headers: { host, ...headers } }, (res) => {
          let data = '';
          res.on('data', (c) => (data += c));
          res.on('end', () => resolve(JSON.parse(data)));
        });
        req.on('error', reject);
        req.end();
      });
    const dpBalance = (host: string) => request(host, 'GET', '/api/v1/accountBalance', { authorization: partner.accessCode });
    expect(await dpBalance('sandbox.esimhub.test')).toMatchObject({ environment: 'sandbox', availableBalance: '1000.00' });
    expect(await dpBalance('app.esimhub.test')).toMatchObject({ environment: 'live', availableBalance: '50.00' });
    // The host name switches every dialect, not only dataplans: eSIM Access on /api/v1/open reaches the twin too.
    const eaBalance = async (host: string) => (await request(host, 'POST', '/api/v1/open/balance/query', { 'RT-AccessCode': partner.accessCode })).obj.balance;
    expect(await eaBalance('sandbox.esimhub.test')).toBe(1000 * 10_000);
    expect(await eaBalance('app.esimhub.test')).toBe(50 * 10_000);
    server.ctx.config.sandboxHosts = [];
  });
});

describe('dataplans.io API: a purchase that supply cannot deliver in time', () => {
  let server: TestServer;
  let dp: ReturnType<typeof client>;

  beforeAll(async () => {
    // No worker: allocation never happens, so the purchase must time out, fail and refund.
    server = await startServer({}, { purchaseTimeoutMs: 300 }, { worker: false });
    dp = client(server);
  });
  afterAll(async () => server?.close());

  it('fails cleanly and refunds in full', async () => {
    const partner = await server.createPartner({ environment: 'sandbox', depositMinor: 50 * 10_000 });
    const pkg = server.ctx.catalog.list({ locationCode: 'TH' })[0];
    const res = await dp('sandbox', 'POST', '/purchases', partner.accessCode, { body: { slug: pkg.slug } });
    expect(res.status).toBe(503);
    expect(res.json.error).toBe(`The purchase could not be completed (no eSIM within 300 ms); ${(Number(pkg.price) / 10_000).toFixed(2)} USD was refunded in full`);
    expect(res.json.refunded).toBe(true);
    expect((await dp('sandbox', 'GET', '/accountBalance', partner.accessCode)).json.availableBalance).toBe('50.00');
    expect((await dp('sandbox', 'GET', '/purchases', partner.accessCode)).json).toEqual([]);
    expect((await dp('sandbox', 'GET', `/purchases/${res.json.purchaseId}`, partner.accessCode)).status).toBe(404);
    const order = await server.ctx.store.db.selectFrom('orders').selectAll().where('transaction_id', '=', res.json.purchaseId).executeTakeFirstOrThrow();
    expect(order.status).toBe('failed');
    const transfers = await server.ctx.store.db.selectFrom('ledger_transfers').select(['kind', 'amount']).where('partner_id', '=', partner.partnerId).orderBy('seq').execute();
    expect(transfers.map((t) => t.kind)).toEqual(['deposit', 'charge', 'refund']);
    expect(Number(transfers[1].amount)).toBe(Number(transfers[2].amount));
    // Later allocation of the failed order changes nothing.
    expect(await server.ctx.allocator.allocate(order.id)).toBe('noop');
  });
});
