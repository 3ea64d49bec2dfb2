import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestPartner, type TestServer } from './helpers/server.ts';
import { startJsonReceiver, type JsonReceiver } from './helpers/receiver.ts';
import { makeIccid } from '../src/domain/esims/identifiers.ts';
import { importProfiles } from '../src/domain/pools/import.ts';
import { walletBalanceFromTransfers } from '../src/domain/ledger/ledger.ts';
import { SupplyError } from '../src/supply/types.ts';
import { operatorPlmnsOf, poolKeysFor } from '../src/supply/pool.ts';

const DEPOSIT = 1000 * 10_000;

/** Imports `count` Luhn-valid profiles (series keeps files apart) into the pool of `packageCode`. */
async function importPool(server: TestServer, packageCode: string, series: number, count: number, lowStockThreshold = 0): Promise<string[]> {
  const iccids = Array.from({ length: count }, (_, i) => makeIccid('4310', `${String(series).padStart(3, '0')}${String(i + 1).padStart(9, '0')}`));
  const rows = iccids.map((id, i) => `${id},rsp.example.com,K${series}-${String(i + 1).padStart(5, '0')},23203${String(i + 1).padStart(10, '0')}`);
  const result = await importProfiles(server.ctx.store.db, {
    rowsText: ['iccid,smdp_address,matching_id,imsi', ...rows].join('\n'),
    pool: { packageCode },
    batchName: `batch ${series}`,
    lowStockThreshold,
    nowMs: Date.now(),
    catalogHas: (code) => server.ctx.catalog.get(code) !== undefined,
  });
  expect(result).toMatchObject({ ok: true, inserted: count, pool: packageCode });
  return iccids;
}

/** Polls esim/query by orderNo until the order is no longer allocating; answers the final envelope. */
async function settled(server: TestServer, partner: TestPartner, orderNo: string, timeoutMs = 20_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await server.ea('/esim/query', { orderNo, pager: { pageNum: 1, pageSize: 50 } }, partner);
    if (res.json.errorCode !== '200010') return res.json;
    if (Date.now() > deadline) throw new Error(`order ${orderNo} still allocating: ${res.text}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const transfersOf = (server: TestServer, partnerId: string) =>
  server.ctx.store.db.selectFrom('ledger_transfers').select(['kind', 'amount', 'idempotency_id', 'reference']).where('partner_id', '=', partnerId).orderBy('seq').execute();

describe('profile pools through /api/v1/open', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer({ ALLOW_PRIVATE_WEBHOOKS: 'true' });
  });
  afterAll(async () => server.close());

  it('N+k parallel orders on a pool of N: N distinct pool profiles, never twice; the rest 200011 or failed and refunded in full', async () => {
    const N = 10;
    const k = 6;
    const pkg = server.ctx.catalog.get('FR_1_7')!;
    const imported = await importPool(server, pkg.package_code, 101, N, 2);
    const live = await server.createPartner({ environment: 'live', depositMinor: DEPOSIT });
    const [{ price }] = (await server.ea('/package/list', { packageCode: pkg.package_code }, live)).json.obj.packageList;
    // The operator's log: the allocator's logger, caught here (the test server's own logger is silent).
    const warnings: Array<{ fields: any; message: string }> = [];
    (server.ctx.allocator as unknown as { log: { warn(fields: unknown, message: string): void } }).log = { warn: (fields, message) => warnings.push({ fields, message }) };

    const placed = await Promise.all(
      Array.from({ length: N + k }, (_, i) => server.ea('/esim/order', { transactionId: `pool-${i}`, packageInfoList: [{ packageCode: pkg.package_code, count: 1 }] }, live)),
    );
    const refusedAtOnce = placed.filter((r) => !r.json.success);
    for (const r of refusedAtOnce) expect(r.json).toMatchObject({ success: false, errorCode: '200011', obj: null });
    const accepted = placed.filter((r) => r.json.success).map((r) => r.json.obj.orderNo as string);
    const outcomes = await Promise.all(accepted.map((orderNo) => settled(server, live, orderNo)));

    const ready = outcomes.filter((o) => o.success);
    const failed = outcomes.filter((o) => !o.success);
    expect(ready).toHaveLength(N);
    expect(refusedAtOnce.length + failed.length).toBe(k);
    const handedOut = ready.map((o) => o.obj.esimList[0].iccid);
    expect(new Set(handedOut).size).toBe(N);
    expect(new Set(handedOut)).toEqual(new Set(imported));
    for (const o of ready) expect(o.obj.esimList[0].ac).toMatch(/^LPA:1\$rsp\.example\.com\$K101-\d{5}$/);
    for (const o of failed) {
      expect(o.errorCode).toBe('200009');
      expect(o.errorMsg).toMatch(/^Abnormal order status: order B\d+ failed and was refunded in full \(no profiles left in the pool for package /);
    }

    const pool = await server.ctx.store.db.selectFrom('pool_profiles').select(['status', 'assigned_esim_id']).where('pool', '=', pkg.package_code).execute();
    expect(pool.map((p) => p.status)).toEqual(Array(N).fill('assigned'));
    expect(new Set(pool.map((p) => p.assigned_esim_id)).size).toBe(N);

    // Money: N charges stand; every failed order was charged and refunded the same amount.
    const transfers = await transfersOf(server, live.partnerId);
    const charges = transfers.filter((t) => t.kind === 'charge');
    const refunds = transfers.filter((t) => t.kind === 'refund');
    expect(charges).toHaveLength(accepted.length);
    expect(refunds).toHaveLength(failed.length);
    for (const t of [...charges, ...refunds]) expect(Number(t.amount)).toBe(price);
    expect(new Set(refunds.map((t) => t.reference))).toEqual(new Set(charges.map((t) => t.reference).filter((ref) => !ready.some((o) => o.obj.esimList[0].orderNo === ref))));
    const balance = (await server.ea('/balance/query', {}, live)).json.obj.balance;
    expect(balance).toBe(DEPOSIT - N * price);
    expect(await walletBalanceFromTransfers(server.ctx.store.db, live.partnerId)).toBe(balance);

    // The pool is now empty: a new order is refused at once, and it charges nothing.
    const after = await server.ea('/esim/order', { transactionId: 'pool-after', packageInfoList: [{ packageCode: pkg.package_code, count: 1 }] }, live);
    expect(after.json).toMatchObject({ success: false, errorCode: '200011', obj: null });
    expect((await server.ea('/balance/query', {}, live)).json.obj.balance).toBe(balance);
    // One low-stock alert for the operator when the pool fell to its threshold (2).
    const alerts = await server.ctx.store.db.selectFrom('events').select(['partner_id', 'subject']).where('type', '=', 'pool.low_stock').where('subject', '=', pkg.package_code).execute();
    expect(alerts).toEqual([{ partner_id: 'operator', subject: pkg.package_code }]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ message: 'profile pool is low on stock', fields: { pool: pkg.package_code, threshold: 2 } });
    expect(warnings[0].fields.available).toBeLessThanOrEqual(2);
  });
});

describe('operator pools', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => server.close());

  it('an operator pool (MCC+MNC) serves every package whose operatorList names it, after the package pool and before the location pool', async () => {
    const db = server.ctx.store.db;
    const fr = server.ctx.catalog.list({ locationCode: 'FR' }).find((p) => p.is_daypass === 0)!;
    const plmns = await operatorPlmnsOf(db, fr);
    expect(plmns.length).toBeGreaterThan(0);
    const plmn = plmns[0];
    const operator = await db.selectFrom('operators').select(['country_code', 'name']).where('mcc', '=', plmn.slice(0, 3)).where('mnc', '=', plmn.slice(3)).executeTakeFirstOrThrow();
    expect(operator.country_code).toBe('FR');
    expect(JSON.parse(fr.networks_json)[0].operatorList.map((o: any) => o.operatorName)).toContain(operator.name);
    expect(await poolKeysFor(db, fr)).toEqual([fr.package_code, ...plmns.map((p) => `op:${p}`), 'loc:FR']);

    const importInto = async (pool: { packageCode?: string; operator?: string; locationCode?: string }, series: number) => {
      const id = makeIccid('4310', `${series}000000001`);
      const result = await importProfiles(db, {
        rowsText: `iccid,ac\n${id},LPA:1$rsp.example.com$OP-${series}`,
        pool,
        batchName: `op test ${series}`,
        lowStockThreshold: 0,
        nowMs: Date.now(),
        catalogHas: (code) => server.ctx.catalog.get(code) !== undefined,
      });
      return { result, id };
    };
    await expect(importInto({ operator: '99999' }, 400)).rejects.toThrow('operator 99999 is not in the operators table');
    await expect(importInto({ operator: 'Orange' }, 400)).rejects.toThrow('operator "Orange" is not an MCC+MNC');
    await expect(importInto({ operator: plmn, locationCode: 'FR' }, 400)).rejects.toThrow(/exactly one of a package code, an operator \(MCC\+MNC\) or a location code/);

    const byPackage = await importInto({ packageCode: fr.package_code }, 401);
    const byOperator = await importInto({ operator: plmn }, 402);
    const byLocation = await importInto({ locationCode: 'FR' }, 403);
    expect([byPackage, byOperator, byLocation].map((x) => x.result)).toMatchObject([
      { ok: true, pool: fr.package_code },
      { ok: true, pool: `op:${plmn}` },
      { ok: true, pool: 'loc:FR' },
    ]);

    const live = await server.createPartner({ environment: 'live', depositMinor: DEPOSIT });
    const placed = (await server.ea('/esim/order', { transactionId: 'op-3', packageInfoList: [{ packageCode: fr.package_code, count: 3 }] }, live)).json;
    expect(placed.success).toBe(true);
    const ready = await settled(server, live, placed.obj.orderNo);
    // Slot by slot: the package's own pool, then the operator's, then the location's.
    expect(ready.obj.esimList.map((e: any) => e.iccid)).toEqual([byPackage.id, byOperator.id, byLocation.id]);
    expect((await server.ea('/esim/order', { transactionId: 'op-4', packageInfoList: [{ packageCode: fr.package_code, count: 1 }] }, live)).json).toMatchObject({ errorCode: '200011' });

    // A regional package naming the same operator draws from its pool; one that does not name it cannot.
    const europe = server.ctx.catalog.list({ locationCode: '!RG' }).find((p) => p.location.split(',').includes('FR') && p.is_daypass === 0)!;
    expect(await operatorPlmnsOf(db, europe)).toContain(plmn);
    const second = await importInto({ operator: plmn }, 404);
    const de = server.ctx.catalog.list({ locationCode: 'DE' }).find((p) => p.is_daypass === 0)!;
    expect((await server.ea('/esim/order', { transactionId: 'op-de', packageInfoList: [{ packageCode: de.package_code, count: 1 }] }, live)).json).toMatchObject({ errorCode: '200011' });
    const regional = (await server.ea('/esim/order', { transactionId: 'op-eu', packageInfoList: [{ packageCode: europe.package_code, count: 1 }] }, live)).json;
    expect((await settled(server, live, regional.obj.orderNo)).obj.esimList.map((e: any) => e.iccid)).toEqual([second.id]);
    const stock = await db.selectFrom('pool_profiles').select(['pool', 'status']).where('pool', '=', `op:${plmn}`).execute();
    expect(stock).toEqual([{ pool: `op:${plmn}`, status: 'assigned' }, { pool: `op:${plmn}`, status: 'assigned' }]);
  });
});

describe('permanent and transient supply failures', () => {
  let server: TestServer;
  let receiver: JsonReceiver;

  beforeAll(async () => {
    // Workers are driven by hand: orders are placed first, allocated later.
    server = await startServer({ ALLOW_PRIVATE_WEBHOOKS: 'true' }, {}, { worker: false });
    receiver = await startJsonReceiver();
  });
  afterAll(async () => {
    await server.close();
    await receiver.close();
  });

  it('a pool taken by another order: esim/query 200009, a refund equal to the charge, ORDER_STATUS FAILED delivered', async () => {
    const pkg = server.ctx.catalog.get('DE_1_7')!;
    const [iccid] = await importPool(server, pkg.package_code, 201, 1);
    const live = await server.createPartner({ environment: 'live', depositMinor: DEPOSIT });
    const saved = await server.ea('/webhook/save', { webhook: receiver.url }, live);
    expect(saved.json.success).toBe(true);
    const [{ price }] = (await server.ea('/package/list', { packageCode: pkg.package_code }, live)).json.obj.packageList;

    // Both pass the stock check (one profile is available to each); only one can get it.
    const first = (await server.ea('/esim/order', { transactionId: 'taken-1', packageInfoList: [{ packageCode: pkg.package_code, count: 1 }] }, live)).json;
    const second = (await server.ea('/esim/order', { transactionId: 'taken-2', packageInfoList: [{ packageCode: pkg.package_code, count: 1 }] }, live)).json;
    expect(first.success && second.success).toBe(true);
    expect((await server.ea('/esim/query', { orderNo: first.obj.orderNo }, live)).json).toMatchObject({ errorCode: '200010', errorMsg: 'the batchOrder has been getting resource, total:[1], success:[0]' });

    server.ctx.worker.start();
    server.ctx.dispatcher.start();
    const outcomes = [await settled(server, live, first.obj.orderNo), await settled(server, live, second.obj.orderNo)];
    const won = outcomes.findIndex((o) => o.success);
    expect(won).toBeGreaterThanOrEqual(0);
    const [winner, loser] = won === 0 ? [first.obj, second.obj] : [second.obj, first.obj];
    expect(outcomes[won].obj.esimList.map((e: any) => e.iccid)).toEqual([iccid]);
    const failure = outcomes[1 - won];
    const message = `Abnormal order status: order ${loser.orderNo} failed and was refunded in full (no profiles left in the pool for package ${pkg.package_code})`;
    expect(failure).toEqual({ success: false, errorCode: '200009', errorMsg: message, errorMessage: message, obj: null });

    const transfers = await transfersOf(server, live.partnerId);
    const loserOrder = await server.ctx.store.db.selectFrom('orders').select(['id', 'status', 'amount']).where('order_no', '=', loser.orderNo).executeTakeFirstOrThrow();
    expect(loserOrder).toMatchObject({ status: 'failed' });
    expect(Number(loserOrder.amount)).toBe(price);
    const ofLoser = transfers.filter((t) => t.reference === loser.orderNo).map((t) => ({ kind: t.kind, amount: Number(t.amount), id: t.idempotency_id }));
    expect(ofLoser).toEqual([
      { kind: 'charge', amount: price, id: `charge:${loserOrder.id}` },
      { kind: 'refund', amount: price, id: `refund:${loserOrder.id}` },
    ]);
    const balance = (await server.ea('/balance/query', {}, live)).json.obj.balance;
    expect(balance).toBe(DEPOSIT - price);
    expect(await walletBalanceFromTransfers(server.ctx.store.db, live.partnerId)).toBe(balance);

    const orderStatus = await waitFor('both ORDER_STATUS webhooks', () => {
      const got = receiver.bodies.filter((b) => b?.notifyType === 'ORDER_STATUS');
      return got.length >= 2 ? got : undefined;
    });
    const byOrder = new Map(orderStatus.map((b) => [b.content.orderNo, b.content]));
    expect(byOrder.get(loser.orderNo)).toEqual({ orderNo: loser.orderNo, transactionId: loser.transactionId, orderStatus: 'FAILED', reason: `no profiles left in the pool for package ${pkg.package_code}` });
    expect(byOrder.get(winner.orderNo)).toEqual({ orderNo: winner.orderNo, transactionId: winner.transactionId, orderStatus: 'GOT_RESOURCE' });
    await server.ctx.worker.stop();
    await server.ctx.dispatcher.stop();
  });

  it('a source failing twice with a transient error, then succeeding: three attempts, backing off, one eSIM', async () => {
    const pkg = server.ctx.catalog.get('IT_1_7')!;
    const [iccid] = await importPool(server, pkg.package_code, 301, 1);
    const live = await server.createPartner({ environment: 'live', depositMinor: DEPOSIT });
    const source = server.ctx.supply.sourceFor('live', pkg);
    const take = source.take.bind(source);
    let calls = 0;
    source.take = async (trx, request) => {
      calls += 1;
      if (request.pkg.package_code === pkg.package_code && calls <= 2) throw new SupplyError(`upstream timeout ${calls}`, false);
      return take(trx, request);
    };
    try {
      const placed = (await server.ea('/esim/order', { transactionId: 'flaky-1', packageInfoList: [{ packageCode: pkg.package_code, count: 1 }] }, live)).json;
      expect(placed.success).toBe(true);
      const order = await server.ctx.store.db.selectFrom('orders').select('id').where('order_no', '=', placed.obj.orderNo).executeTakeFirstOrThrow();
      const job = () => server.ctx.store.db.selectFrom('jobs').selectAll().where('job_key', '=', `allocate:${order.id}`).executeTakeFirstOrThrow();

      // Backoff after attempt n is 500 ms × 2^(n-1), ±25 % jitter.
      const expectedBackoffMs = [500, 1000];
      for (let attempt = 1; attempt <= 2; attempt++) {
        expect(await server.ctx.worker.tick()).toBe(1);
        const row = await job();
        expect(row).toMatchObject({ status: 'queued', attempts: attempt, last_error: `upstream timeout ${attempt}`, locked_by: null });
        const delayMs = Number(row.run_at) - Number(row.updated_at);
        expect(delayMs).toBeGreaterThanOrEqual(expectedBackoffMs[attempt - 1] * 0.75);
        expect(delayMs).toBeLessThanOrEqual(expectedBackoffMs[attempt - 1] * 1.25);
        // Not due yet: a tick now claims nothing.
        if (Number(row.run_at) - Date.now() > 50) expect(await server.ctx.worker.tick()).toBe(0);
        expect((await server.ea('/esim/query', { orderNo: placed.obj.orderNo }, live)).json.errorCode).toBe('200010');
        await new Promise((r) => setTimeout(r, Math.max(0, Number(row.run_at) - Date.now() + 5)));
      }
      expect(await server.ctx.worker.tick()).toBe(1);
      expect(await job()).toMatchObject({ status: 'done', attempts: 3 });
      expect(calls).toBe(3);
      const ready = await settled(server, live, placed.obj.orderNo);
      expect(ready.obj.esimList.map((e: any) => e.iccid)).toEqual([iccid]);
      const charges = (await transfersOf(server, live.partnerId)).map((t) => t.kind);
      expect(charges).toEqual(['deposit', 'charge']);
    } finally {
      source.take = take;
    }
  });
});
