import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestPartner, type TestServer } from './helpers/server.ts';
import { dataplansClient, httpJson } from './helpers/dataplans.ts';
import { BundleNames } from '../src/http/dialects/esimgo/names.ts';
import { walletBalance } from '../src/domain/ledger/ledger.ts';
import type { PackageTable } from '../src/store/schema.ts';

/**
 * The pricing rule seen from outside: every price a partner pays is a whole number of its currency's minor
 * units, rounded half-up (list in the currency, then × tier factor), and every dialect quotes the same price.
 * Expected values are computed here in exact integers, independently of src/domain/pricing.
 */

/** n / d rounded half-up to a whole multiple of `unit` (all integers, n ≥ 0). */
function halfUp(n: number, d: number, unit: number): number {
  const q = Math.floor((2 * n + d * unit) / (2 * d * unit));
  return q * unit;
}
const CENT = 100; // 0.01 of a 2-decimal currency, in 1/10,000 units
const YEN = 10_000; // 1 JPY

describe('dataplans.io API: minor-unit rounding, THB on a discounted tier, price lists, every dialect agrees', () => {
  let server: TestServer;

  const dp = (partner: TestPartner, method: string, pathName: string, body?: unknown) => dataplansClient(server)('sandbox', method, pathName, partner.accessCode, { body });
  const get = (url: string, headers: Record<string, string>) => httpJson(server, url, { headers });

  /** The partner price of a package as each dialect quotes it, in 1/10,000 units. */
  async function quotes(partner: TestPartner, pkg: PackageTable) {
    const names = new BundleNames(server.ctx.catalog);
    const ea = await server.ea('/package/list', { packageCode: pkg.package_code }, partner);
    const v1 = await get(`/v1/packages/${pkg.package_code}`, { authorization: `Bearer ${partner.accessCode}` });
    const go = await get(`/v2.4/catalogue/bundle/${names.nameOf(pkg)}`, { 'x-api-key': partner.accessCode });
    expect(v1.status, v1.text).toBe(200);
    expect(go.status, go.text).toBe(200);
    return { esimAccess: ea.json.obj.packageList[0].price, v1: v1.json.price, esimGo: Math.round(go.json.price * 10_000) };
  }

  beforeAll(async () => {
    server = await startServer();
    await server.ctx.pricing.setRate('THB', '35.5', Date.now());
    await server.ctx.pricing.setRate('JPY', '150.25', Date.now());
  });
  afterAll(async () => server?.close());

  it("keeps a THB silver partner's prices in whole satang and its balance exact through purchases, a price-list purchase, an eSIM Access order and a refund", async () => {
    const partner = await server.createPartner({ environment: 'sandbox', currency: 'THB', priceTierId: 'silver', depositMinor: 1000 * 10_000 });
    const th = server.ctx.catalog.list({ locationCode: 'TH' }).filter((p) => p.is_daypass === 0 && Number(p.price) < 3 * 10_000);
    // A package whose converted price × 0.95 falls between two satang, so rounding matters.
    const thbList = (p: PackageTable) => halfUp(Number(p.price) * 355, 10, CENT);
    const pkg = th.find((p) => (thbList(p) * 9500) % (10_000 * CENT) !== 0)!;
    const listedPkg = th.find((p) => p.package_code !== pkg.package_code)!;
    expect(pkg).toBeTruthy();
    expect(listedPkg).toBeTruthy();
    // The operator's THB price list overrides the rate for listedPkg: 43.67 THB, × 0.95 = 41.4865 → 41.49.
    await server.ctx.pricing.setListPrice('THB', listedPkg.package_code, 436_700, Date.now());
    await expect(server.ctx.pricing.setListPrice('THB', listedPkg.package_code, 436_750, Date.now())).rejects.toThrow(/whole number of THB minor units/);

    const paid = halfUp(thbList(pkg) * 9500, 10_000, CENT);
    expect(paid % CENT).toBe(0);
    expect(paid).not.toBe((thbList(pkg) * 9500) / 10_000);
    const paidListed = 414_900;

    // Every dialect quotes the rounded prices.
    expect(await quotes(partner, pkg)).toEqual({ esimAccess: paid, v1: paid, esimGo: paid });
    expect(await quotes(partner, listedPkg)).toEqual({ esimAccess: paidListed, v1: paidListed, esimGo: paidListed });

    const tier = await dp(partner, 'GET', '/tier');
    expect(tier.json).toMatchObject({ tier: 'silver', source: 'assigned', discountPercent: 5, currency: 'THB', monthlySpend: '0.00', nextTier: { tier: 'gold', threshold: '887500.00', remaining: '887500.00' } });

    const a = await dp(partner, 'POST', '/purchases', { slug: pkg.slug, includeQRDataURL: false });
    expect(a.status, a.text).toBe(200);
    expect(a.json.purchase).toMatchObject({ paid: (paid / 10_000).toFixed(2), currency: 'THB', retail: (halfUp(Number(pkg.retail_price) * 355, 10, CENT) / 10_000).toFixed(2) });
    let balance = 1000 * 10_000 - paid;
    expect(a.json.availableBalance).toBe((balance / 10_000).toFixed(2));

    // A price-list entry through HTTP: exact paid and balance.
    const b = await dp(partner, 'POST', '/purchases', { slug: listedPkg.slug });
    expect(b.status, b.text).toBe(200);
    expect(b.json.purchase.paid).toBe('41.49');
    expect(b.json.purchase.currency).toBe('THB');
    balance -= paidListed;
    expect(b.json.availableBalance).toBe((balance / 10_000).toFixed(2));

    // eSIM Access orders at the listed price are accepted and charged the same.
    const order = await server.ea('/esim/order', { transactionId: 'thb-silver-ea-1', amount: paid, packageInfoList: [{ packageCode: pkg.package_code, count: 1, price: paid }] }, partner);
    expect(order.json.success, order.text).toBe(true);
    balance -= paid;

    // Refund: cancel the price-list purchase's eSIM (never installed).
    const cancel = await server.ea('/esim/cancel', { iccid: b.json.purchase.esim.serial }, partner);
    expect(cancel.json.success, cancel.text).toBe(true);
    balance += paidListed;

    const expectedBalance = 1000 * 10_000 - 2 * paid;
    expect(balance).toBe(expectedBalance);
    expect((await walletBalance(server.ctx.store.db, partner.partnerId)).balanceMinor).toBe(expectedBalance);
    expect((await dp(partner, 'GET', '/accountBalance')).json).toEqual({ availableBalance: (expectedBalance / 10_000).toFixed(2), currency: 'THB', environment: 'sandbox', tier: 'silver' });
    const after = await dp(partner, 'GET', '/tier');
    expect(after.json.monthlySpend).toBe(((2 * paid) / 10_000).toFixed(2));
    expect(after.json.nextTier.remaining).toBe(((887_500 * 10_000 - 2 * paid) / 10_000).toFixed(2));
    // The ledger holds every charge and refund in whole satang.
    const transfers = await server.ctx.store.db.selectFrom('ledger_transfers').select(['kind', 'amount']).where('partner_id', '=', partner.partnerId).orderBy('seq').execute();
    expect(transfers.map((t) => [t.kind, Number(t.amount)])).toEqual([
      ['deposit', 1000 * 10_000],
      ['charge', paid],
      ['charge', paidListed],
      ['charge', paid],
      ['refund', paidListed],
    ]);
  });

  it('rounds a USD silver partner to the cent and a JPY partner to the yen, the same in every dialect', async () => {
    const usdPartner = await server.createPartner({ environment: 'sandbox', priceTierId: 'silver' });
    const pkg = server.ctx.catalog.list({ locationCode: 'TH' }).find((p) => p.is_daypass === 0 && (Number(p.price) * 9500) % (10_000 * CENT) !== 0)!;
    const usdPaid = halfUp(Number(pkg.price) * 9500, 10_000, CENT);
    expect(await quotes(usdPartner, pkg)).toEqual({ esimAccess: usdPaid, v1: usdPaid, esimGo: usdPaid });
    const usd = await dp(usdPartner, 'POST', '/purchases', { slug: pkg.slug });
    expect(usd.status, usd.text).toBe(200);
    expect(usd.json.purchase.paid).toBe((usdPaid / 10_000).toFixed(2));
    expect(usd.json.availableBalance).toBe(((1000 * 10_000 - usdPaid) / 10_000).toFixed(2));

    const jpyPartner = await server.createPartner({ environment: 'sandbox', currency: 'JPY', priceTierId: 'silver', depositMinor: 100_000 * 10_000 });
    const jpyList = halfUp(Number(pkg.price) * 150_250_000, 1_000_000, YEN);
    const jpyPaid = halfUp(jpyList * 9500, 10_000, YEN);
    expect(await quotes(jpyPartner, pkg)).toEqual({ esimAccess: jpyPaid, v1: jpyPaid, esimGo: jpyPaid });
    // The suggested retail price is converted by the same rule: whole yen in eSIM Access as in dataplans.
    const jpyRetail = halfUp(Number(pkg.retail_price) * 150_250_000, 1_000_000, YEN);
    const eaJpy = await server.ea('/package/list', { packageCode: pkg.package_code }, jpyPartner);
    expect(eaJpy.json.obj.packageList[0]).toMatchObject({ currencyCode: 'JPY', price: jpyPaid, retailPrice: jpyRetail });
    const jpy = await dp(jpyPartner, 'POST', '/purchases', { slug: pkg.slug });
    expect(jpy.status, jpy.text).toBe(200);
    expect(jpy.json.purchase.paid).toBe(String(jpyPaid / 10_000));
    expect(jpy.json.purchase.paid).toMatch(/^\d+$/);
    expect(jpy.json.availableBalance).toBe(String(100_000 - jpyPaid / 10_000));
  });

  it('rounds a tie half-up, not to even: 1.65 THB on gold (× 0.90 = 1.485) is 1.49', async () => {
    const partner = await server.createPartner({ environment: 'sandbox', currency: 'THB', priceTierId: 'gold', depositMinor: 100 * 10_000 });
    const pkg = server.ctx.catalog.list({ locationCode: 'MY' }).find((p) => p.is_daypass === 0)!;
    await server.ctx.pricing.setListPrice('THB', pkg.package_code, 16_500, Date.now());
    expect(await quotes(partner, pkg)).toEqual({ esimAccess: 14_900, v1: 14_900, esimGo: 14_900 });
    const res = await dp(partner, 'POST', '/purchases', { slug: pkg.slug });
    expect(res.status, res.text).toBe(200);
    expect(res.json.purchase.paid).toBe('1.49');
    expect(res.json.availableBalance).toBe('98.51');
  });
});
