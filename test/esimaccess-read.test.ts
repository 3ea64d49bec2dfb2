import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestPartner, type TestServer } from './helpers/server.ts';
import { orderOne } from './helpers/orders.ts';
import { tierPrice } from '../src/domain/pricing/pricing.ts';
import { walletBalanceFromTransfers } from '../src/domain/ledger/ledger.ts';

/** Every field of the seed's package list, plus locationCode (the package's primary location). */
const PACKAGE_KEYS = [
  'packageCode', 'slug', 'name', 'price', 'currencyCode', 'volume', 'smsStatus', 'dataType', 'unusedValidTime', 'duration', 'durationUnit',
  'location', 'locationCode', 'description', 'activeType', 'favorite', 'retailPrice', 'speed', 'locationNetworkList', 'operatorList', 'ipExport',
  'supportTopUpType', 'fupPolicy',
].sort();

/** Every field of an esim/query record (wire rules). */
const ESIM_KEYS = [
  'esimTranNo', 'orderNo', 'transactionId', 'imsi', 'iccid', 'msisdn', 'smsStatus', 'dataType', 'ac', 'qrCodeUrl', 'shortUrl', 'smdpStatus', 'eid',
  'activeType', 'activateTime', 'expiredTime', 'totalVolume', 'totalDuration', 'durationUnit', 'orderUsage', 'pin', 'puk', 'apn', 'esimStatus', 'packageList',
].sort();

describe('eSIM Access read side over HTTP', () => {
  let server: TestServer;
  let partner: TestPartner;

  beforeAll(async () => {
    server = await startServer();
    partner = await server.createPartner();
  });
  afterAll(async () => server.close());

  const list = async (body: unknown, who: TestPartner = partner) => (await server.ea('/package/list', body, who)).json;

  it('answers 310241 for an unknown packageCode or slug, with any type; a known one is listed', async () => {
    for (const body of [
      { packageCode: 'NO_SUCH_PACKAGE' },
      { packageCode: 'NO_SUCH_PACKAGE', type: 'TOPUP' },
      { slug: 'XX_99_99' },
      { slug: 'XX_99_99', type: 'TOPUP' },
      { packageCode: 'NO_SUCH_PACKAGE', locationCode: 'US' },
    ]) {
      const res = await list(body);
      const named = 'packageCode' in body ? `packageCode ${body.packageCode}` : `slug ${body.slug}`;
      expect(res, JSON.stringify(body)).toEqual({ success: false, errorCode: '310241', errorMsg: `The ${named} does not exist`, errorMessage: `The ${named} does not exist`, obj: null });
    }
    // A package code is not a slug: asking for it by slug is unknown.
    expect((await list({ slug: 'US_1_7' })).obj.packageList.map((p: any) => p.slug)).toEqual(['US_1_7']);
    const base = (await list({ packageCode: 'US_1_7' })).obj.packageList;
    expect(base.map((p: any) => p.slug)).toEqual(['US_1_7']);
    const byRealCode = (await list({ packageCode: base[0].packageCode })).obj.packageList;
    expect(byRealCode.map((p: any) => p.packageCode)).toEqual([base[0].packageCode]);
    // Known, but filtered away by another filter: an empty list, not an error.
    expect(await list({ packageCode: 'US_1_7', locationCode: 'FR' })).toMatchObject({ success: true, obj: { packageList: [] } });
    expect((await list({ packageCode: 'US_1_7', type: 'TOPUP' })).obj.packageList.every((p: any) => p.slug.startsWith('TOPUP_US_'))).toBe(true);
  });

  it('filters !RG, !GL, a region code and BASE by code; every package has exactly the seed fields with their types', async () => {
    const locations = (await server.ea('/location/list', {}, partner)).json.obj.locationList;
    const regions = locations.filter((l: any) => l.type === 2);
    const globalCodes = new Set(regions.filter((l: any) => l.code.startsWith('GL')).map((l: any) => l.code));
    const regionalCodes = new Set(regions.filter((l: any) => !l.code.startsWith('GL')).map((l: any) => l.code));
    expect(globalCodes.size).toBeGreaterThan(0);
    expect(regionalCodes.size).toBeGreaterThan(5);

    const rg = (await list({ locationCode: '!RG' })).obj.packageList;
    const gl = (await list({ locationCode: '!GL' })).obj.packageList;
    expect(rg.length).toBeGreaterThan(0);
    expect(gl.length).toBeGreaterThan(0);
    expect(rg.every((p: any) => regionalCodes.has(p.locationCode))).toBe(true);
    expect(gl.every((p: any) => globalCodes.has(p.locationCode))).toBe(true);
    // Together they are every multi-country BASE package of the whole catalogue.
    const all = (await list({})).obj.packageList;
    const multi = all.filter((p: any) => regionalCodes.has(p.locationCode) || globalCodes.has(p.locationCode));
    expect(rg.length + gl.length).toBe(multi.length);

    const eu = regions.find((l: any) => l.code.startsWith('EU-'));
    const euList = (await list({ locationCode: eu.code })).obj.packageList;
    expect(euList.length).toBeGreaterThan(0);
    expect(euList.every((p: any) => p.locationCode === eu.code && p.location.split(',').length === eu.subLocationList.length)).toBe(true);

    const [one] = (await list({ packageCode: 'US_1_7', type: 'BASE' })).obj.packageList;
    expect(Object.keys(one).sort()).toEqual(PACKAGE_KEYS);
    for (const p of [...all.slice(0, 50), ...rg.slice(0, 20), ...gl.slice(0, 20), one]) {
      expect(Object.keys(p).sort()).toEqual(PACKAGE_KEYS);
      for (const k of ['price', 'volume', 'smsStatus', 'dataType', 'unusedValidTime', 'duration', 'activeType', 'retailPrice', 'supportTopUpType']) {
        expect(Number.isInteger(p[k]), `${p.packageCode}.${k}=${JSON.stringify(p[k])}`).toBe(true);
      }
      for (const k of ['packageCode', 'slug', 'name', 'currencyCode', 'durationUnit', 'location', 'locationCode', 'description', 'speed', 'ipExport', 'fupPolicy']) {
        expect(typeof p[k], `${p.packageCode}.${k}`).toBe('string');
      }
      expect(typeof p.favorite).toBe('boolean');
      expect([1, 2]).toContain(p.supportTopUpType);
      expect([1, 2, 3, 4]).toContain(p.dataType);
      expect(p.currencyCode).toBe('USD');
      expect(p.durationUnit).toBe('DAY');
      expect(Array.isArray(p.locationNetworkList)).toBe(true);
      for (const n of p.locationNetworkList) {
        expect(Object.keys(n).sort()).toEqual(['locationCode', 'locationLogo', 'locationName', 'operatorList']);
        for (const op of n.operatorList) expect(Object.keys(op).sort()).toEqual(['networkType', 'operatorName']);
      }
      for (const op of p.operatorList) expect(Object.keys(op).sort()).toEqual(['networkType', 'operatorName']);
      expect(p.location.split(',').sort()).toEqual(p.locationNetworkList.map((n: any) => n.locationCode).sort());
    }
  });

  it('location/list: countries without sub-locations, regions with their named members', async () => {
    const res = await server.ea('/location/list', {}, partner);
    expect(Object.keys(res.json.obj)).toEqual(['locationList']);
    const locations = res.json.obj.locationList;
    for (const l of locations) {
      expect(Object.keys(l).sort()).toEqual(['code', 'name', 'subLocationList', 'type']);
      if (l.type === 1) {
        expect(l.code).toMatch(/^[A-Z]{2}$/);
        expect(l.subLocationList).toBeNull();
      } else {
        expect(l.type).toBe(2);
        expect(l.subLocationList.length).toBeGreaterThan(1);
        for (const s of l.subLocationList) expect(Object.keys(s).sort()).toEqual(['code', 'name']);
      }
    }
    const byCode = new Map(locations.map((l: any) => [l.code, l]));
    expect(byCode.get('US')).toEqual({ code: 'US', name: 'United States', type: 1, subLocationList: null });
    expect(locations.filter((l: any) => l.type === 1).length).toBeGreaterThanOrEqual(249);
    const eu = locations.find((l: any) => l.code.startsWith('EU-'));
    expect(eu.subLocationList).toContainEqual({ code: 'FR', name: 'France' });
    expect(eu.code).toBe(`EU-${eu.subLocationList.length}`);
  });

  it('a gold-tier partner sees the gold price and is charged exactly that', async () => {
    const gold = await server.createPartner({ priceTierId: 'gold', depositMinor: 100 * 10_000 });
    const [standard] = (await list({ packageCode: 'US_1_7' })).obj.packageList;
    const [goldView] = (await list({ packageCode: 'US_1_7' }, gold)).obj.packageList;
    const goldPrice = tierPrice(standard.price, 9_000, 'USD');
    expect(goldPrice).toBeLessThan(standard.price);
    expect(goldView.price).toBe(goldPrice);
    expect(goldView.retailPrice).toBe(standard.retailPrice);
    const { esim } = await orderOne(server, gold, 'US_1_7', 'gold-1');
    expect(esim.iccid).toMatch(/^89\d{17,18}$/);
    const balance = (await server.ea('/balance/query', {}, gold)).json.obj.balance;
    expect(balance).toBe(100 * 10_000 - goldPrice);
    expect(await walletBalanceFromTransfers(server.ctx.store.db, gold.partnerId)).toBe(balance);
    const charges = await server.ctx.store.db.selectFrom('ledger_transfers').select(['kind', 'amount']).where('partner_id', '=', gold.partnerId).where('kind', '=', 'charge').execute();
    expect(charges.map((c) => Number(c.amount))).toEqual([goldPrice]);
  });

  it('esim/query: a record has exactly the wire-rule fields; another partner’s ICCID is 310403, never data', async () => {
    const { orderNo, esim } = await orderOne(server, partner, 'US_1_7', 'keys-1');
    expect(Object.keys(esim).sort()).toEqual(ESIM_KEYS);
    expect(esim).toMatchObject({ orderNo, transactionId: 'keys-1', esimStatus: 'GOT_RESOURCE', smdpStatus: 'RELEASED', eid: '', activateTime: null, orderUsage: 0 });
    for (const k of ['smsStatus', 'dataType', 'activeType', 'totalVolume', 'totalDuration', 'orderUsage']) expect(Number.isInteger(esim[k]), k).toBe(true);
    expect(esim.expiredTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000$/);
    expect(esim.packageList).toHaveLength(1);
    expect(Object.keys(esim.packageList[0]).sort()).toEqual(['createTime', 'duration', 'locationCode', 'packageCode', 'packageName', 'slug', 'volume']);
    expect(esim.packageList[0]).toMatchObject({ slug: 'US_1_7', locationCode: 'US', duration: 7 });

    const other = await server.createPartner();
    // Exactly what an ICCID nobody has answers: "does not exist", never the record.
    const nobody = '8900000000000000000';
    for (const [body, what] of [
      [{ iccid: esim.iccid }, `ICCID ${esim.iccid}`],
      [{ esimTranNo: esim.esimTranNo }, `esimTranNo ${esim.esimTranNo}`],
      [{ iccid: nobody }, `ICCID ${nobody}`],
    ] as const) {
      const res = (await server.ea('/esim/query', { ...body, pager: { pageNum: 1, pageSize: 10 } }, other)).json;
      expect(res).toEqual({ success: false, errorCode: '310403', errorMsg: `The ${what} does not exist`, errorMessage: `The ${what} does not exist`, obj: null });
    }
    const action = (await server.ea('/esim/suspend', { iccid: esim.iccid }, other)).json;
    expect(action).toEqual({ success: false, errorCode: '310403', errorMsg: `The ICCID ${esim.iccid} does not exist`, errorMessage: `The ICCID ${esim.iccid} does not exist`, obj: null });
    const foreignOrder = (await server.ea('/esim/query', { orderNo, pager: { pageNum: 1, pageSize: 10 } }, other)).json;
    expect(foreignOrder).toMatchObject({ success: false, errorCode: '310272', obj: null });
  });
});
