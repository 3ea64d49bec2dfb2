import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestPartner, type TestServer } from './helpers/server.ts';
import { dataplansClient, decodeQr, httpJson, reloadablePlan, stockPool, type DpBase as Base, type HttpAnswer as Res } from './helpers/dataplans.ts';
import { BundleNames } from '../src/http/dialects/esimgo/names.ts';
import type { PackageTable } from '../src/store/schema.ts';

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const BASES: Base[] = ['live', 'sandbox'];

/** USD amounts in whole cents as the wire writes them ("12.30"). */
function usd(amountMinor: number): string {
  expect(amountMinor % 100, `${amountMinor} is not whole cents`).toBe(0);
  return (amountMinor / 10_000).toFixed(2);
}

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

describe('dataplans.io API: every purchase endpoint on the live and the sandbox base, with real purchases', () => {
  let server: TestServer;
  let live: TestPartner;
  let pkg: PackageTable;
  let topupPkg: PackageTable;

  const call = (base: Base, method: string, pathName: string, options: { body?: unknown; form?: Record<string, string>; bearer?: boolean } = {}) => dataplansClient(server)(base, method, pathName, live.accessCode, options);
  const get = (url: string, headers: Record<string, string>): Promise<Res> => httpJson(server, url, { headers });

  beforeAll(async () => {
    server = await startServer();
    live = await server.createPartner({ environment: 'live', depositMinor: 500 * 10_000 });
    pkg = reloadablePlan(server);
    topupPkg = server.ctx.catalog.list({ type: 'TOPUP', packageCode: pkg.package_code })[0];
    // Live supply comes from a pool: two profiles for this plan.
    await stockPool(server, pkg.package_code, 2, 500, { iccid: '8988247001', matching: 'LIVEB', msisdn: '6682' });
  });
  afterAll(async () => server?.close());

  it('answers balance, tier, purchases, list, get, both status forms, top-up plans and top-ups with exact payloads on each base', async () => {
    expect(pkg).toBeTruthy();
    expect(topupPkg).toBeTruthy();
    const price = Number(pkg.price);
    const topupPrice = Number(topupPkg.price);
    const opening: Record<Base, number> = { live: 500 * 10_000, sandbox: 1000 * 10_000 };
    const bought: Record<string, { purchaseId: string; serial: string }> = {};

    for (const base of BASES) {
      const balance = await call(base, 'GET', '/accountBalance');
      expect(balance.json).toEqual({ availableBalance: usd(opening[base]), currency: 'USD', environment: base, tier: 'standard' });

      const now = new Date();
      const monthStart = iso(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
      const monthEnd = iso(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
      const tier0 = await call(base, 'GET', '/tier');
      expect(tier0.status).toBe(200);
      expect(tier0.json).toEqual({
        tier: 'standard',
        name: 'Standard',
        source: 'assigned',
        assignedTier: 'standard',
        discountPercent: 0,
        priceFactorBps: 10_000,
        currency: 'USD',
        monthlySpend: '0.00',
        monthStart,
        monthEnd,
        nextTier: { tier: 'silver', name: 'Silver', discountPercent: 5, priceFactorBps: 9500, threshold: '5000.00', remaining: '5000.00' },
      });

      // POST /purchases: the eSIM is in the answer, QR included, balance after the charge.
      const res = await call(base, 'POST', '/purchases', { body: { slug: pkg.slug, includeQRDataURL: true }, bearer: base === 'live' });
      expect(res.status, res.text).toBe(200);
      const { purchase } = res.json;
      expect(purchase.purchaseId).toMatch(UUID);
      const esimRow = await server.ctx.store.db.selectFrom('esims').selectAll().where('iccid', '=', purchase.esim.serial).executeTakeFirstOrThrow();
      const order = await server.ctx.store.db.selectFrom('orders').selectAll().where('id', '=', esimRow.order_id).executeTakeFirstOrThrow();
      expect(order.transaction_id).toBe(purchase.purchaseId);
      expect(order.environment).toBe(base);
      const esimWire = {
        manual1: esimRow.smdp_address,
        manual2: esimRow.matching_id,
        optionalCode: esimRow.confirmation_code ?? '',
        phone: esimRow.msisdn,
        serial: esimRow.iccid,
        expiryDate: iso(Number(esimRow.download_deadline)),
        qrCodeString: `LPA:1$${esimRow.smdp_address}$${esimRow.matching_id}`,
      };
      const expectedPurchase = {
        purchaseId: purchase.purchaseId,
        planSlug: pkg.slug,
        planName: pkg.name,
        retail: usd(Number(pkg.retail_price)),
        paid: usd(price),
        currency: 'USD',
        purchasedAt: iso(Number(order.created_at)),
        esim: esimWire,
      };
      expect(res.json).toEqual({ purchase: { ...expectedPurchase, esim: { ...esimWire, qrCodeDataUrl: expect.stringMatching(/^data:image\/png;base64,/) } }, availableBalance: usd(opening[base] - price) });
      expect(purchase.purchasedAt).toMatch(ISO_MS);
      expect(purchase.esim.expiryDate).toMatch(ISO_MS);
      expect(decodeQr(purchase.esim.qrCodeDataUrl)).toBe(purchase.esim.qrCodeString);
      if (base === 'live') {
        // From the live pool, not the simulator.
        expect(purchase.esim.manual1).toBe('smdp.live.example.com');
        expect(purchase.esim.manual2).toMatch(/^LIVEB/);
      } else {
        expect(purchase.esim.manual2).not.toMatch(/^LIVEB/);
      }
      bought[base] = { purchaseId: purchase.purchaseId, serial: purchase.esim.serial };

      // GET /purchases and GET /purchases/{id}: the same object, without the QR unless asked for.
      expect((await call(base, 'GET', '/purchases')).json).toEqual([expectedPurchase]);
      expect((await call(base, 'GET', `/purchases/${purchase.purchaseId}`)).json).toEqual(expectedPurchase);
      const withQr = await call(base, 'GET', `/purchases/${purchase.purchaseId}?includeQRDataURL=true`);
      expect(withQr.json).toEqual({ ...expectedPurchase, esim: { ...esimWire, qrCodeDataUrl: purchase.esim.qrCodeDataUrl } });

      // GET /status by operator and phone, and by purchase id: the same answer.
      const plan = (await call(base, 'GET', `/plan/${pkg.slug}`)).json;
      const bundle = await server.ctx.store.db.selectFrom('bundles').selectAll().where('esim_id', '=', esimRow.id).executeTakeFirstOrThrow();
      const planStatus = (b: typeof bundle, p: PackageTable, capacity: number, capacityUnit: string) => ({
        slug: p.slug,
        description: p.name,
        isActive: b.state === 'active' || b.state === 'queued',
        state: b.state,
        remainingCapacity: capacity,
        capacity,
        capacityUnit,
        activatedAt: null,
        expiryDate: iso(Number(b.expires_at ?? esimRow.download_deadline)),
        accountAge: 0,
      });
      const statusEsim = { ...esimWire, status: esimRow.esim_status, balanceCurrency: 'USD', currentBalance: 0, lastBalance: 0 };
      const expectedStatus = { purchaseId: purchase.purchaseId, plans: [planStatus(bundle, pkg, plan.capacity, plan.capacityUnit)], esim: statusEsim };
      expect(expectedStatus.plans[0].isActive).toBe(true);
      const byPhone = await call(base, 'GET', `/status/${plan.operator.slug}/${purchase.esim.phone}`);
      expect(byPhone.status, byPhone.text).toBe(200);
      expect(byPhone.json).toEqual(expectedStatus);
      expect((await call(base, 'GET', `/status/${purchase.purchaseId}`)).json).toEqual(expectedStatus);

      // GET /topups/{purchaseId}: the top-up plans that fit, priced in the partner's currency.
      const topups = await call(base, 'GET', `/topups/${purchase.purchaseId}`);
      expect(topups.status).toBe(200);
      expect(topups.json.map((p: any) => p.slug)).toEqual(server.ctx.catalog.list({ type: 'TOPUP', packageCode: pkg.package_code }).map((p) => p.slug));
      const listedTopup = topups.json[0];
      expect(listedTopup).toMatchObject({
        slug: topupPkg.slug,
        name: topupPkg.name,
        period: topupPkg.duration,
        retailPrice: usd(Number(topupPkg.retail_price)),
        priceCurrency: 'USD',
        prepaidCredit: '0.00',
        prepaidCurrency: 'USD',
        reloadable: false,
        phoneNumber: true,
        active: true,
      });
      expect(listedTopup.countries.map((c: any) => c.countryCode)).toEqual(topupPkg.location.split(','));

      // POST /topups: charged at once; the same topupId again changes nothing.
      const topupId = `${base}-topup-1`;
      const topped = await call(base, 'POST', '/topups', { form: { purchaseId: purchase.purchaseId, slug: topupPkg.slug, topupId } });
      expect(topped.status, topped.text).toBe(200);
      const topupOrder = await server.ctx.store.db.selectFrom('orders').selectAll().where('kind', '=', 'topup').where('transaction_id', '=', topupId).executeTakeFirstOrThrow();
      const bundles = await server.ctx.store.db.selectFrom('bundles').selectAll().where('esim_id', '=', esimRow.id).orderBy('seq').execute();
      expect(bundles).toHaveLength(2);
      const afterTopup = usd(opening[base] - price - topupPrice);
      const refreshed = await server.ctx.store.db.selectFrom('esims').selectAll().where('id', '=', esimRow.id).executeTakeFirstOrThrow();
      const statusAfter = {
        purchaseId: purchase.purchaseId,
        plans: [planStatus(bundles[0], pkg, plan.capacity, plan.capacityUnit), planStatus(bundles[1], topupPkg, listedTopup.capacity, listedTopup.capacityUnit)],
        esim: { ...statusEsim, status: refreshed.esim_status, expiryDate: iso(Number(refreshed.expired_time ?? refreshed.download_deadline)) },
      };
      expect(topped.json).toEqual({
        topup: { topupId, purchaseId: purchase.purchaseId, planSlug: topupPkg.slug, planName: topupPkg.name, retail: usd(Number(topupPkg.retail_price)), paid: usd(topupPrice), currency: 'USD', purchasedAt: iso(Number(topupOrder.created_at)) },
        status: statusAfter,
        availableBalance: afterTopup,
      });
      expect(topped.json.topup.purchasedAt).toMatch(ISO_MS);
      const again = await call(base, 'POST', '/topups', { body: { purchaseId: purchase.purchaseId, slug: topupPkg.slug, topupId } });
      expect(again.status, again.text).toBe(200);
      // The retry answers the original top-up, its purchase time included.
      expect(again.json.topup).toEqual(topped.json.topup);
      expect(again.json.availableBalance).toBe(afterTopup);
      expect((await call(base, 'GET', `/status/${purchase.purchaseId}`)).json).toEqual(statusAfter);

      // Balance and tier after the month's spend.
      expect((await call(base, 'GET', '/accountBalance')).json).toEqual({ availableBalance: afterTopup, currency: 'USD', environment: base, tier: 'standard' });
      const spent = price + topupPrice;
      expect((await call(base, 'GET', '/tier')).json).toMatchObject({ tier: 'standard', monthlySpend: usd(spent), nextTier: { tier: 'silver', threshold: '5000.00', remaining: usd(5000 * 10_000 - spent) } });
    }

    // Each base sees only its own account: the other base's purchase is not found anywhere.
    for (const base of BASES) {
      const other = bought[base === 'live' ? 'sandbox' : 'live'].purchaseId;
      for (const path of [`/purchases/${other}`, `/status/${other}`, `/topups/${other}`]) {
        const res = await call(base, 'GET', path);
        expect(res.status, `${base} ${path}`).toBe(404);
        expect(Object.keys(res.json)).toEqual(['error']);
      }
      expect((await call(base, 'GET', `/purchases/${other}`)).json).toEqual({ error: `Purchase ${other} not found` });
      expect((await call(base, 'GET', '/purchases')).json.map((p: any) => p.purchaseId)).toEqual([bought[base].purchaseId]);
    }
  });

  it('shows the eSIM bought here in eSIM Access, /v1 and eSIM Go on the same base, with the same key', async () => {
    const names = new BundleNames(server.ctx.catalog);
    for (const base of BASES) {
      const pathBase = base === 'live' ? '' : '/sandbox';
      const dp = await call(base, 'GET', '/purchases');
      expect(dp.json).toHaveLength(1);
      const purchase = dp.json[0];
      const esimRow = await server.ctx.store.db.selectFrom('esims').selectAll().where('iccid', '=', purchase.esim.serial).executeTakeFirstOrThrow();

      // eSIM Access: RT-AccessCode.
      const ea = await fetch(`${server.baseUrl}${pathBase}/api/v1/open/esim/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'RT-AccessCode': live.accessCode },
        body: JSON.stringify({ iccid: purchase.esim.serial, pager: { pageNum: 1, pageSize: 10 } }),
      }).then((r) => r.json());
      expect(ea.success, JSON.stringify(ea)).toBe(true);
      expect(ea.obj.esimList).toHaveLength(1);
      expect(ea.obj.esimList[0]).toMatchObject({ iccid: purchase.esim.serial, transactionId: purchase.purchaseId, ac: purchase.esim.qrCodeString, esimStatus: esimRow.esim_status });
      expect(ea.obj.esimList[0].packageList.map((p: any) => p.packageCode)).toEqual([pkg.package_code, topupPkg.package_code]);

      // /v1: Authorization: Bearer <AccessCode>.
      const v1 = await get(`${pathBase}/v1/esims?iccid=${purchase.esim.serial}`, { authorization: `Bearer ${live.accessCode}` });
      expect(v1.status, v1.text).toBe(200);
      expect(v1.json.data).toHaveLength(1);
      expect(v1.json.data[0]).toMatchObject({
        object: 'esim',
        iccid: purchase.esim.serial,
        transaction_id: purchase.purchaseId,
        package_id: pkg.package_code,
        status: esimRow.esim_status,
        activation_code: purchase.esim.qrCodeString,
        smdp_address: purchase.esim.manual1,
        matching_id: purchase.esim.manual2,
        msisdn: purchase.esim.phone,
      });
      expect(v1.json.data[0].bundles.map((b: any) => [b.package_id, b.kind])).toEqual([
        [pkg.package_code, 'base'],
        [topupPkg.package_code, 'topup'],
      ]);
      const byIccid = await get(`${pathBase}/v1/esims/${purchase.esim.serial}`, { authorization: `Bearer ${live.accessCode}` });
      expect(byIccid.json).toEqual(v1.json.data[0]);
      // /v1 takes only the Bearer form, unlike the dataplans dialect.
      expect((await get(`${pathBase}/v1/esims/${purchase.esim.serial}`, { authorization: live.accessCode })).status).toBe(401);

      // eSIM Go: X-API-Key.
      const go = await get(`${pathBase}/v2.4/esims/${purchase.esim.serial}`, { 'x-api-key': live.accessCode });
      expect(go.status, go.text).toBe(200);
      expect(go.json).toMatchObject({ iccid: purchase.esim.serial, matchingId: purchase.esim.manual2, smdpAddress: purchase.esim.manual1, profileStatus: 'Released' });
      const goBundles = await get(`${pathBase}/v2.4/esims/${purchase.esim.serial}/bundles`, { 'x-api-key': live.accessCode });
      expect(goBundles.status, goBundles.text).toBe(200);
      expect(goBundles.json.bundles.map((b: any) => b.name)).toEqual([names.nameOf(pkg.package_code), names.nameOf(topupPkg.package_code)]);
      const go25 = await get(`${pathBase}/v2.5/esims/${purchase.esim.serial}`, { 'x-api-key': live.accessCode });
      expect(go25.json).toMatchObject({ iccid: purchase.esim.serial, msisdn: purchase.esim.phone, state: 'active' });

      // … and the other base's dialects do not see it.
      const otherBase = base === 'live' ? '/sandbox' : '';
      expect((await get(`${otherBase}/v1/esims/${purchase.esim.serial}`, { authorization: `Bearer ${live.accessCode}` })).status).toBe(404);
      expect((await get(`${otherBase}/v2.4/esims/${purchase.esim.serial}`, { 'x-api-key': live.accessCode })).status).toBe(404);
    }
  });
});
