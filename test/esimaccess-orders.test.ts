import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestPartner, type TestServer } from './helpers/server.ts';
import { orderOne, waitForOrder } from './helpers/orders.ts';
import { iccidLuhnOk, parseActivationCode } from '../src/domain/esims/identifiers.ts';
import { walletBalance, walletBalanceFromTransfers } from '../src/domain/ledger/ledger.ts';

describe('eSIM Access ordering', () => {
  let server: TestServer;
  let partner: TestPartner;
  let us17: any;
  let dayPass: any;

  beforeAll(async () => {
    server = await startServer();
    partner = await server.createPartner();
    const list = await server.ea('/package/list', { locationCode: 'US' }, partner);
    us17 = list.json.obj.packageList.find((p: any) => p.slug === 'US_1_7');
    const all = await server.ea('/package/list', {}, partner);
    const codes = new Set(server.ctx.catalog.all().filter((p) => p.is_daypass === 1 && p.type === 'BASE').map((p) => p.package_code));
    dayPass = all.json.obj.packageList.find((p: any) => codes.has(p.packageCode));
  });
  afterAll(async () => server.close());

  it('orders, charges once, and allocates realistic profiles asynchronously', async () => {
    const before = (await server.ea('/balance/query', {}, partner)).json.obj.balance;
    const res = await server.ea('/esim/order', { transactionId: 'first-order', amount: us17.price * 2, packageInfoList: [{ packageCode: us17.packageCode, count: 2, price: us17.price }] }, partner);
    expect(res.json.success).toBe(true);
    expect(res.json.obj.orderNo).toMatch(/^B\d+$/);
    expect(res.json.obj.transactionId).toBe('first-order');
    const after = (await server.ea('/balance/query', {}, partner)).json.obj.balance;
    expect(before - after).toBe(us17.price * 2);

    const obj = await waitForOrder(server, partner, res.json.obj.orderNo);
    expect(obj.esimList).toHaveLength(2);
    expect(obj.pager).toEqual({ pageSize: 50, pageNum: 1, total: 2 });
    for (const esim of obj.esimList) {
      expect(esim.esimTranNo).toMatch(/^\d+$/);
      expect(esim.orderNo).toBe(res.json.obj.orderNo);
      expect(esim.transactionId).toBe('first-order');
      expect(iccidLuhnOk(esim.iccid)).toBe(true);
      expect(esim.iccid).toMatch(/^89\d{17,18}$/);
      expect(esim.imsi).toMatch(/^3[01]\d{13}$/); // a US operator's MCC 310/311/312/313…
      const ac = parseActivationCode(esim.ac);
      expect(ac).not.toBeNull();
      expect(ac!.matchingId).toMatch(/^[0-9A-Z-]+$/);
      expect(esim.esimStatus).toBe('GOT_RESOURCE');
      expect(esim.smdpStatus).toBe('RELEASED');
      expect(esim.eid).toBe('');
      expect(esim.activateTime).toBeNull();
      expect(esim.expiredTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000$/);
      expect(esim.totalVolume).toBe(us17.volume);
      expect(esim.totalDuration).toBe(7);
      expect(esim.qrCodeUrl).toContain('/qr/');
      expect(esim.shortUrl).toContain('/i/');
      expect(esim.packageList[0]).toMatchObject({ packageCode: us17.packageCode, slug: 'US_1_7', duration: 7, volume: us17.volume, locationCode: 'US' });
    }
    expect(obj.esimList[0].iccid).not.toBe(obj.esimList[1].iccid);
  });

  it('accepts a slug in packageCode and in slug', async () => {
    const bySlug = await server.ea('/esim/order', { transactionId: 'slug-1', packageInfoList: [{ slug: 'US_1_7', count: 1 }] }, partner);
    expect(bySlug.json.success).toBe(true);
    const slugInCode = await server.ea('/esim/order', { transactionId: 'slug-2', packageInfoList: [{ packageCode: 'US_1_7', count: 1 }] }, partner);
    expect(slugInCode.json.success).toBe(true);
  });

  it('answers a repeated transactionId with the original order and charges nothing', async () => {
    const first = await server.ea('/esim/order', { transactionId: 'repeat-me', packageInfoList: [{ packageCode: us17.packageCode, count: 1 }] }, partner);
    const balance = (await server.ea('/balance/query', {}, partner)).json.obj.balance;
    const again = await server.ea('/esim/order', { transactionId: 'repeat-me', packageInfoList: [{ packageCode: us17.packageCode, count: 3 }] }, partner);
    expect(again.json.obj).toEqual(first.json.obj);
    expect((await server.ea('/balance/query', {}, partner)).json.obj.balance).toBe(balance);
  });

  it('refuses wrong prices, wrong amounts, unknown packages, big orders and missing periodNum with the seed codes', async () => {
    const price = await server.ea('/esim/order', { transactionId: 'bad-price', packageInfoList: [{ packageCode: us17.packageCode, count: 1, price: us17.price + 1 }] }, partner);
    expect(price.json).toMatchObject({ success: false, errorCode: '200005' });
    const amount = await server.ea('/esim/order', { transactionId: 'bad-amount', amount: 1, packageInfoList: [{ packageCode: us17.packageCode, count: 1 }] }, partner);
    expect(amount.json).toMatchObject({ success: false, errorCode: '200006' });
    const unknown = await server.ea('/esim/order', { transactionId: 'bad-pkg', packageInfoList: [{ packageCode: 'NOPE_NOPE', count: 1 }] }, partner);
    expect(unknown.json).toMatchObject({ success: false, errorCode: '310241' });
    const big = await server.ea('/esim/order', { transactionId: 'too-big', packageInfoList: [{ packageCode: us17.packageCode, count: 20 }, { packageCode: us17.packageCode, count: 11 }] }, partner);
    expect(big.json.success).toBe(false);
    expect(big.json.errorMsg).toMatch(/30 profiles/);
    const tooLong = await server.ea('/esim/order', { transactionId: 'x'.repeat(51), packageInfoList: [{ packageCode: us17.packageCode, count: 1 }] }, partner);
    expect(tooLong.json).toMatchObject({ success: false, errorCode: '000107' });
    const noTxn = await server.ea('/esim/order', { packageInfoList: [{ packageCode: us17.packageCode, count: 1 }] }, partner);
    expect(noTxn.json).toMatchObject({ success: false, errorCode: '000105' });
    const nullTxn = await server.ea('/esim/order', { transactionId: null, packageInfoList: [{ packageCode: us17.packageCode, count: 1 }] }, partner);
    expect(nullTxn.json).toMatchObject({ success: false, errorCode: '000106' });
    if (dayPass) {
      const noPeriod = await server.ea('/esim/order', { transactionId: 'dp-1', packageInfoList: [{ packageCode: dayPass.packageCode, count: 1 }] }, partner);
      expect(noPeriod.json.success).toBe(false);
      expect(noPeriod.json.errorMsg).toMatch(/periodNum/);
      const badPeriod = await server.ea('/esim/order', { transactionId: 'dp-2', packageInfoList: [{ packageCode: dayPass.packageCode, count: 1, periodNum: 366 }] }, partner);
      expect(badPeriod.json).toMatchObject({ success: false, errorCode: '000107' });
    }
    // None of the refused orders charged anything.
    const balance = await walletBalance(server.ctx.store.db, partner.partnerId);
    expect(balance.balanceMinor).toBe(await walletBalanceFromTransfers(server.ctx.store.db, partner.partnerId));
  });

  it('prices day passes per day times periodNum', async () => {
    expect(dayPass).toBeTruthy();
    const before = (await server.ea('/balance/query', {}, partner)).json.obj.balance;
    const { esim } = await orderOne(server, partner, dayPass.packageCode, 'daypass-ok', { periodNum: 5 });
    const after = (await server.ea('/balance/query', {}, partner)).json.obj.balance;
    expect(before - after).toBe(dayPass.price * 5);
    expect(esim.totalDuration).toBe(5);
  });

  it('refuses an order the balance cannot cover with 200007 and creates nothing', async () => {
    const poor = await server.createPartner({ depositMinor: us17.price - 1 });
    const res = await server.ea('/esim/order', { transactionId: 'poor-1', packageInfoList: [{ packageCode: us17.packageCode, count: 1 }] }, poor);
    expect(res.json).toMatchObject({ success: false, errorCode: '200007' });
    const orders = await server.ctx.store.db.selectFrom('orders').select('id').where('partner_id', '=', poor.partnerId).execute();
    expect(orders).toHaveLength(0);
  });

  it('queries by iccid, esimTranNo, time range and clamps the pager; never shows another partner’s eSIM', async () => {
    const { esim, orderNo } = await orderOne(server, partner, us17.packageCode, 'query-1');
    const byIccid = await server.ea('/esim/query', { iccid: esim.iccid, pager: { pageNum: 1, pageSize: 1 } }, partner);
    expect(byIccid.json.obj.esimList[0].esimTranNo).toBe(esim.esimTranNo);
    const byTran = await server.ea('/esim/query', { esimTranNo: esim.esimTranNo }, partner);
    expect(byTran.json.obj.esimList[0].iccid).toBe(esim.iccid);
    const start = new Date(Date.now() - 3_600_000).toISOString().slice(0, 16) + '+00:00';
    const end = new Date(Date.now() + 60_000).toISOString().slice(0, 16) + '+00:00';
    const range = await server.ea('/esim/query', { startTime: start, endTime: end, pager: { pageNum: 1, pageSize: 2 } }, partner);
    expect(range.json.obj.pager.pageSize).toBe(5);
    expect(range.json.obj.pager.total).toBeGreaterThan(2);
    const past = await server.ea('/esim/query', { startTime: start, endTime: end, pager: { pageNum: 9999, pageSize: 500 } }, partner);
    expect(past.json).toMatchObject({ success: true, obj: { esimList: [] } });

    expect(byIccid.json.obj.esimList[0].orderNo).toBe(orderNo);
    expect(byIccid.json.obj.pager.total).toBe(1);

    // An order's pages: the total counts the whole order, every eSIM carries the order's number.
    const seven = await server.ea('/esim/order', { transactionId: 'query-7', packageInfoList: [{ packageCode: us17.packageCode, count: 7 }] }, partner);
    const sevenNo = seven.json.obj.orderNo as string;
    await waitForOrder(server, partner, sevenNo);
    const page1 = await server.ea('/esim/query', { orderNo: sevenNo, pager: { pageNum: 1, pageSize: 5 } }, partner);
    const page2 = await server.ea('/esim/query', { orderNo: sevenNo, pager: { pageNum: 2, pageSize: 5 } }, partner);
    expect(page1.json.obj.pager).toEqual({ pageSize: 5, pageNum: 1, total: 7 });
    expect(page2.json.obj.pager).toEqual({ pageSize: 5, pageNum: 2, total: 7 });
    const listed = [...page1.json.obj.esimList, ...page2.json.obj.esimList];
    expect(new Set(listed.map((e: any) => e.esimTranNo)).size).toBe(7);
    expect(listed.every((e: any) => e.orderNo === sevenNo)).toBe(true);
    const exact = await server.ea('/esim/query', { orderNo: sevenNo, pager: { pageNum: 1, pageSize: 7 } }, partner);
    expect(exact.json.obj.pager.total).toBe(7);
    expect(exact.json.obj.esimList).toHaveLength(7);
    const six = await server.ea('/esim/query', { orderNo: sevenNo, pager: { pageNum: 1, pageSize: 6 } }, partner);
    expect(six.json.obj.pager.total).toBe(7);
    expect(six.json.obj.esimList).toHaveLength(6);
    const wide = await server.ea('/esim/query', { orderNo: sevenNo, pager: { pageNum: 1, pageSize: 50 } }, partner);
    expect(wide.json.obj.pager.total).toBe(7);
    expect(wide.json.obj.esimList).toHaveLength(7);

    const other = await server.createPartner();
    const theirs = await server.ea('/esim/query', { iccid: esim.iccid }, other);
    expect(theirs.json.success).toBe(false);
    expect(theirs.json.obj).toBeNull();
    expect(theirs.text).not.toContain(esim.ac);
    const theirOrder = await server.ea('/esim/query', { orderNo }, other);
    expect(theirOrder.json).toMatchObject({ success: false, errorCode: '310272' });
    const cancelTheirs = await server.ea('/esim/cancel', { iccid: esim.iccid }, other);
    expect(cancelTheirs.json.success).toBe(false);
  });

  it('cancels only unused eSIMs and refunds the full price', async () => {
    const { esim } = await orderOne(server, partner, us17.packageCode, 'cancel-1');
    const before = (await server.ea('/balance/query', {}, partner)).json.obj.balance;
    const cancel = await server.ea('/esim/cancel', { esimTranNo: esim.esimTranNo }, partner);
    expect(cancel.json).toEqual({ success: true, errorCode: '0', errorMsg: null, errorMessage: null, obj: {} });
    expect((await server.ea('/balance/query', {}, partner)).json.obj.balance).toBe(before + us17.price);
    const again = await server.ea('/esim/cancel', { esimTranNo: esim.esimTranNo }, partner);
    expect(again.json).toMatchObject({ success: false, errorCode: '200002' });
    expect((await server.ea('/balance/query', {}, partner)).json.obj.balance).toBe(before + us17.price);
    const status = await server.ea('/esim/query', { esimTranNo: esim.esimTranNo }, partner);
    expect(status.json.obj.esimList[0].esimStatus).toBe('CANCEL');
    const neither = await server.ea('/esim/cancel', {}, partner);
    expect(neither.json).toMatchObject({ success: false, errorCode: '200042' });
  });

  it('suspends, unsuspends and revokes with state checks', async () => {
    const { esim } = await orderOne(server, partner, us17.packageCode, 'susp-1');
    expect((await server.ea('/esim/unsuspend', { iccid: esim.iccid }, partner)).json.errorCode).toBe('200002');
    expect((await server.ea('/esim/suspend', { iccid: esim.iccid }, partner)).json.success).toBe(true);
    expect((await server.ea('/esim/query', { iccid: esim.iccid }, partner)).json.obj.esimList[0].esimStatus).toBe('SUSPENDED');
    expect((await server.ea('/esim/suspend', { iccid: esim.iccid }, partner)).json.errorCode).toBe('200002');
    expect((await server.ea('/esim/unsuspend', { iccid: esim.iccid }, partner)).json.success).toBe(true);
    expect((await server.ea('/esim/query', { iccid: esim.iccid }, partner)).json.obj.esimList[0].esimStatus).toBe('GOT_RESOURCE');
    const before = (await server.ea('/balance/query', {}, partner)).json.obj.balance;
    expect((await server.ea('/esim/revoke', { esimTranNo: esim.esimTranNo }, partner)).json.success).toBe(true);
    expect((await server.ea('/balance/query', {}, partner)).json.obj.balance).toBe(before);
    expect((await server.ea('/esim/query', { iccid: esim.iccid }, partner)).json.obj.esimList[0].esimStatus).toBe('REVOKE');
    expect((await server.ea('/esim/revoke', { esimTranNo: esim.esimTranNo }, partner)).json.errorCode).toBe('200002');
    expect((await server.ea('/esim/cancel', { esimTranNo: esim.esimTranNo }, partner)).json.errorCode).toBe('200002');
  });

  it('tops up with compatible TOPUP packages only, idempotently', async () => {
    const { esim } = await orderOne(server, partner, us17.packageCode, 'topup-base');
    const topups = await server.ea('/package/list', { type: 'TOPUP', iccid: esim.iccid }, partner);
    expect(topups.json.success).toBe(true);
    expect(topups.json.obj.packageList.length).toBeGreaterThan(0);
    const topup = topups.json.obj.packageList[0];
    const before = (await server.ea('/balance/query', {}, partner)).json.obj.balance;
    const res = await server.ea('/esim/topup', { esimTranNo: esim.esimTranNo, packageCode: topup.packageCode, transactionId: 'tu-1', amount: String(topup.price) }, partner);
    expect(res.json.success).toBe(true);
    expect(res.json.obj).toMatchObject({ transactionId: 'tu-1', iccid: esim.iccid, totalVolume: esim.totalVolume + topup.volume, totalDuration: esim.totalDuration + topup.duration, orderUsage: 0 });
    expect(res.json.obj.expiredTime).toMatch(/\+0000$/);
    const again = await server.ea('/esim/topup', { esimTranNo: esim.esimTranNo, packageCode: topup.packageCode, transactionId: 'tu-1' }, partner);
    expect(again.json.obj).toEqual(res.json.obj);
    expect((await server.ea('/balance/query', {}, partner)).json.obj.balance).toBe(before - topup.price);
    const query = await server.ea('/esim/query', { esimTranNo: esim.esimTranNo }, partner);
    expect(query.json.obj.esimList[0].packageList).toHaveLength(2);

    const foreign = server.ctx.catalog.all().find((p) => p.type === 'TOPUP' && p.topup_group !== server.ctx.catalog.get(us17.packageCode)!.topup_group)!;
    const wrong = await server.ea('/esim/topup', { esimTranNo: esim.esimTranNo, packageCode: foreign.package_code, transactionId: 'tu-2' }, partner);
    expect(wrong.json.success).toBe(false);
    const baseAsTopup = await server.ea('/esim/topup', { esimTranNo: esim.esimTranNo, packageCode: us17.packageCode, transactionId: 'tu-3' }, partner);
    expect(baseAsTopup.json.success).toBe(false);
    const neither = await server.ea('/esim/topup', { packageCode: topup.packageCode, transactionId: 'tu-4' }, partner);
    expect(neither.json).toMatchObject({ success: false, errorCode: '200042' });

    await server.ea('/esim/revoke', { esimTranNo: esim.esimTranNo }, partner);
    const afterRevoke = await server.ea('/esim/topup', { esimTranNo: esim.esimTranNo, packageCode: topup.packageCode, transactionId: 'tu-5' }, partner);
    expect(afterRevoke.json).toMatchObject({ success: false, errorCode: '200002' });
  });
});

describe('ordering under concurrency', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => server.close());

  it('100 parallel orders on a balance that covers exactly 50: 50 succeed, balance exactly zero, no profile twice', async () => {
    const pkg = server.ctx.catalog.get('US_1_7')!;
    const price = Number(pkg.price);
    const partner = await server.createPartner({ depositMinor: price * 50 });
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => server.ea('/esim/order', { transactionId: `par-${i}`, packageInfoList: [{ packageCode: 'US_1_7', count: 1 }] }, partner)),
    );
    const ok = results.filter((r) => r.json.success);
    const poor = results.filter((r) => r.json.errorCode === '200007');
    expect(ok).toHaveLength(50);
    expect(poor).toHaveLength(50);
    expect((await server.ea('/balance/query', {}, partner)).json.obj.balance).toBe(0);
    const esims = [];
    for (const r of ok) esims.push(...(await waitForOrder(server, partner, r.json.obj.orderNo)).esimList);
    expect(esims).toHaveLength(50);
    expect(new Set(esims.map((e: any) => e.iccid)).size).toBe(50);
    expect(new Set(esims.map((e: any) => e.esimTranNo)).size).toBe(50);
    expect(await walletBalanceFromTransfers(server.ctx.store.db, partner.partnerId)).toBe(0);
  });

  it('the same transactionId sent 20 times at once makes one order and one charge', async () => {
    const partner = await server.createPartner();
    const results = await Promise.all(
      Array.from({ length: 20 }, () => server.ea('/esim/order', { transactionId: 'same-id', packageInfoList: [{ packageCode: 'US_1_7', count: 2 }] }, partner)),
    );
    expect(results.every((r) => r.json.success)).toBe(true);
    expect(new Set(results.map((r) => r.json.obj.orderNo)).size).toBe(1);
    const charges = await server.ctx.store.db.selectFrom('ledger_transfers').select('id').where('partner_id', '=', partner.partnerId).where('kind', '=', 'charge').execute();
    expect(charges).toHaveLength(1);
    const obj = await waitForOrder(server, partner, results[0].json.obj.orderNo);
    expect(obj.esimList).toHaveLength(2);
  });
});
