import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestPartner, type TestServer } from './helpers/server.ts';
import { orderOne } from './helpers/orders.ts';
import { runCli } from './helpers/process.ts';
import { appendBundle } from '../src/domain/ordering/topup.ts';

const GB = 1024 ** 3;
const ADMIN_TOKEN = 'usage-test-admin-token-0123456789';

describe('usage accounting: duplicates, daily limits, unlimited plans and top-ups', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer({ ADMIN_TOKEN });
  });
  afterAll(async () => server.close());

  async function sandbox(partner: TestPartner, path: string, body?: unknown) {
    const res = await fetch(`${server.baseUrl}/sandbox${path}`, {
      method: 'POST',
      headers: { 'RT-AccessCode': partner.accessCode, 'content-type': 'application/json' },
      body: JSON.stringify(body ?? {}),
    });
    return { status: res.status, json: (await res.json()) as any };
  }

  async function esimRow(esimTranNo: string) {
    return server.ctx.store.db.selectFrom('esims').selectAll().where('esim_tran_no', '=', esimTranNo).executeTakeFirstOrThrow();
  }

  async function bundlesOf(esimId: string) {
    const rows = await server.ctx.store.db.selectFrom('bundles').selectAll().where('esim_id', '=', esimId).orderBy('seq').execute();
    return rows.map((b) => ({ kind: b.kind, state: b.state, used: Number(b.used_bytes) }));
  }

  /** What usage changed: every eSIM's usage, the records and the events, to compare before and after. */
  async function usageState(partnerId: string) {
    const db = server.ctx.store.db;
    return {
      esims: (await db.selectFrom('esims').select(['id', 'order_usage', 'esim_status', 'usage_alert_level']).where('partner_id', '=', partnerId).orderBy('id').execute()).map((e) => ({ ...e, order_usage: Number(e.order_usage) })),
      records: Number((await db.selectFrom('usage_records').innerJoin('esims', 'esims.id', 'usage_records.esim_id').select((eb) => eb.fn.countAll<number>().as('n')).where('esims.partner_id', '=', partnerId).executeTakeFirstOrThrow()).n),
      events: (await db.selectFrom('events').select('id').where('partner_id', '=', partnerId).execute()).length,
    };
  }

  it('counts a usage record once: the same CSV imported twice and the same records posted twice apply nothing the second time', async () => {
    const partner = await server.createPartner();
    const { esim: one } = await orderOne(server, partner, 'US_1_7', 'dup-1');
    const { esim: two } = await orderOne(server, partner, 'US_1_7', 'dup-2');
    // Recent periods: a record activates a fresh eSIM at its time, and old ones would have expired it by now.
    const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000).toISOString();
    const csv = path.join(server.dataDir, 'usage.csv');
    fs.writeFileSync(
      csv,
      'iccid,esimTranNo,bytes,start,end,recordId\n' +
        `${one.iccid},,1000,${hoursAgo(4)},${hoursAgo(3)},r-1\n` +
        `${one.iccid},,2000,${hoursAgo(3)},${hoursAgo(2)},r-2\n` +
        `,${two.esimTranNo},3000,${hoursAgo(4)},${hoursAgo(3)},\n` +
        `,${two.esimTranNo},4000,${hoursAgo(3)},${hoursAgo(2)},\n` +
        '8999999999999999999,,5000,,,r-9\n',
    );
    const env = { DATA_DIR: server.dataDir, SEED_DEMO: 'false' };
    const first = await runCli(['usage', 'import', csv, '--json'], env);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual({ received: 5, applied: 4, duplicates: 0, unknown: [{ line: 6, ref: '8999999999999999999' }], esimsUpdated: 2 });
    const afterFirst = await usageState(partner.partnerId);
    expect(afterFirst.esims.map((e) => e.order_usage).sort((a, b) => a - b)).toEqual([3000, 7000]);
    expect(afterFirst.records).toBe(4);

    const second = await runCli(['usage', 'import', csv, '--json'], env);
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toEqual({ received: 5, applied: 0, duplicates: 4, unknown: [{ line: 6, ref: '8999999999999999999' }], esimsUpdated: 0 });
    expect(await usageState(partner.partnerId)).toEqual(afterFirst);

    const post = async (body: unknown) => {
      const res = await fetch(`${server.baseUrl}/internal/usage`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(res.status).toBe(200);
      return res.json() as Promise<any>;
    };
    const records = [
      { iccid: one.iccid, bytes: 10_000, start: hoursAgo(2), end: hoursAgo(1), recordId: 'j-1' },
      { esimTranNo: two.esimTranNo, bytes: 20_000, end: hoursAgo(1) },
    ];
    expect(await post({ source: 'supplierA', records })).toMatchObject({ accepted: true, received: 2, applied: 2, duplicates: 0, unknown: [], esimsUpdated: 2 });
    const afterPost = await usageState(partner.partnerId);
    expect(afterPost.esims.map((e) => e.order_usage).sort((a, b) => a - b)).toEqual([13_000, 27_000]);
    expect(await post({ source: 'supplierA', records })).toMatchObject({ accepted: true, received: 2, applied: 0, duplicates: 2, esimsUpdated: 0 });
    expect(await usageState(partner.partnerId)).toEqual(afterPost);
    // The same records within one request count once too.
    expect(await post({ source: 'supplierA', records: [...records, ...records] })).toMatchObject({ applied: 0, duplicates: 4 });
    expect(await usageState(partner.partnerId)).toEqual(afterPost);
    const usage = (await server.ea('/esim/usage/query', { esimTranNoList: [one.esimTranNo, two.esimTranNo] }, partner)).json.obj.esimUsageList;
    expect(usage.map((u: any) => u.dataUsage)).toEqual([13_000, 27_000]);
  });

  it('applies every record exactly once when batches over the same eSIMs arrive together, beside data used on the network', async () => {
    const partner = await server.createPartner();
    const esims: Array<{ iccid: string; esimTranNo: string }> = [];
    for (let i = 0; i < 8; i++) esims.push((await orderOne(server, partner, 'US_50_180', `conc-${i}`)).esim);
    for (const esim of esims.slice(0, 2)) {
      await sandbox(partner, `/esims/${esim.iccid}/install`);
      await sandbox(partner, `/esims/${esim.iccid}/enable`);
    }
    // Twelve batches, each over all eight eSIMs in a different order: on PostgreSQL they lock the same rows.
    const batches = Array.from({ length: 12 }, (_, b) => {
      const lines = ['esimTranNo,bytes,recordId'];
      for (let i = 0; i < 2000; i++) lines.push(`${esims[(i * (b + 1) + b) % esims.length].esimTranNo},${100 + i},conc-${b}-${i}`);
      return lines.join('\n');
    });
    const expected = new Map(esims.map((e) => [e.esimTranNo, 0]));
    for (const body of batches) for (const line of body.split('\n').slice(1)) {
      const [tranNo, bytes] = line.split(',');
      expected.set(tranNo, expected.get(tranNo)! + Number(bytes));
    }
    const post = (body: string) =>
      fetch(`${server.baseUrl}/internal/usage`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'text/csv' }, body }).then(async (r) => ({ status: r.status, json: (await r.json()) as any }));
    const uses = esims.slice(0, 2).flatMap((e) => Array.from({ length: 5 }, () => sandbox(partner, `/esims/${e.iccid}/usage`, { bytes: 7 })));
    const [answers, used] = await Promise.all([Promise.all(batches.map(post)), Promise.all(uses)]);
    expect(answers.map((a) => [a.status, a.json.applied, a.json.duplicates])).toEqual(batches.map(() => [200, 2000, 0]));
    expect(used.map((u) => [u.status, u.json.grantedBytes])).toEqual(uses.map(() => [200, 7]));
    for (const e of esims.slice(0, 2)) expected.set(e.esimTranNo, expected.get(e.esimTranNo)! + 5 * 7);
    for (const e of esims) expect([e.esimTranNo, Number((await esimRow(e.esimTranNo)).order_usage)]).toEqual([e.esimTranNo, expected.get(e.esimTranNo)]);
    expect((await usageState(partner.partnerId)).records).toBe(12 * 2000 + 10);
  });

  async function dailyEsim(dataType: number, transactionId: string) {
    const partner = await server.createPartner();
    const pkg = server.ctx.catalog.all().find((p) => p.type === 'BASE' && p.data_type === dataType && p.is_daypass === 1);
    expect(pkg, `a dataType ${dataType} day pass`).toBeTruthy();
    const { esim } = await orderOne(server, partner, pkg!.package_code, transactionId, { periodNum: 3 });
    expect((await sandbox(partner, `/esims/${esim.iccid}/install`)).status).toBe(200);
    expect((await sandbox(partner, `/esims/${esim.iccid}/enable`)).json.esimStatus).toBe('IN_USE');
    return { partner, esim, dailyBytes: Number(pkg!.volume) };
  }

  it('dataType 2: past the daily allowance data still flows but throttled, until the next day', async () => {
    const { partner, esim, dailyBytes } = await dailyEsim(2, 'dt2-1');
    const use = (bytes: number) => sandbox(partner, `/esims/${esim.iccid}/usage`, { bytes });
    expect((await use(dailyBytes - 1000)).json).toMatchObject({ grantedBytes: dailyBytes - 1000, throttled: false, esimStatus: 'IN_USE' });
    expect((await use(1500)).json).toMatchObject({ grantedBytes: 1500, throttled: true });
    expect((await use(GB)).json).toMatchObject({ grantedBytes: GB, throttled: true, esimStatus: 'IN_USE' });
    await sandbox(partner, '/clock/advance', { days: 1 });
    expect((await use(10)).json).toMatchObject({ grantedBytes: 10, throttled: false, orderUsage: dailyBytes + 500 + GB + 10 });
    const events = await server.ctx.store.db.selectFrom('events').select('type').where('partner_id', '=', partner.partnerId).where('type', '=', 'esim.data_usage').execute();
    expect(events).toHaveLength(0);
  });

  it('dataType 4: unlimited, never throttled, never used up', async () => {
    const { partner, esim, dailyBytes } = await dailyEsim(4, 'dt4-1');
    const used = await sandbox(partner, `/esims/${esim.iccid}/usage`, { bytes: dailyBytes * 5 });
    expect(used.json).toMatchObject({ grantedBytes: dailyBytes * 5, throttled: false, esimStatus: 'IN_USE', orderUsage: dailyBytes * 5 });
    expect((await sandbox(partner, `/esims/${esim.iccid}/usage`, { bytes: 20 * GB })).json).toMatchObject({ grantedBytes: 20 * GB, throttled: false, esimStatus: 'IN_USE' });
    const events = await server.ctx.store.db.selectFrom('events').select('type').where('partner_id', '=', partner.partnerId).where('type', 'in', ['esim.data_usage', 'esim.status']).execute();
    expect(events.map((e) => e.type)).toEqual(['esim.status']); // IN_USE only
  });

  it('uses the bundles of a fixed-volume plan in order: the plan, then each top-up, then USED_UP', async () => {
    const partner = await server.createPartner();
    const pkg = server.ctx.catalog.all().find((p) => p.type === 'BASE' && p.support_topup_type === 2 && p.data_type === 1 && p.is_daypass === 0 && p.volume === GB)!;
    const { esim } = await orderOne(server, partner, pkg.package_code, 'topups-1');
    const topup = (await server.ea('/package/list', { type: 'TOPUP', iccid: esim.iccid }, partner)).json.obj.packageList[0];
    expect(topup).toBeTruthy();
    for (const tx of ['topups-t1', 'topups-t2']) expect((await server.ea('/esim/topup', { iccid: esim.iccid, packageCode: topup.packageCode, transactionId: tx }, partner)).json.success).toBe(true);
    const row = await esimRow(esim.esimTranNo);
    expect(Number(row.total_volume)).toBe(GB + 2 * topup.volume);
    await sandbox(partner, `/esims/${esim.iccid}/install`);
    await sandbox(partner, `/esims/${esim.iccid}/enable`);
    const use = (bytes: number) => sandbox(partner, `/esims/${esim.iccid}/usage`, { bytes });

    expect((await use(GB - 100)).json.grantedBytes).toBe(GB - 100);
    expect(await bundlesOf(row.id)).toEqual([
      { kind: 'BASE', state: 'active', used: GB - 100 },
      { kind: 'TOPUP', state: 'queued', used: 0 },
      { kind: 'TOPUP', state: 'queued', used: 0 },
    ]);
    expect((await use(300)).json.grantedBytes).toBe(300);
    expect(await bundlesOf(row.id)).toEqual([
      { kind: 'BASE', state: 'depleted', used: GB },
      { kind: 'TOPUP', state: 'active', used: 200 },
      { kind: 'TOPUP', state: 'queued', used: 0 },
    ]);
    expect((await use(topup.volume)).json.grantedBytes).toBe(topup.volume);
    expect(await bundlesOf(row.id)).toEqual([
      { kind: 'BASE', state: 'depleted', used: GB },
      { kind: 'TOPUP', state: 'depleted', used: topup.volume },
      { kind: 'TOPUP', state: 'active', used: 200 },
    ]);
    const last = await use(topup.volume);
    expect(last.json).toMatchObject({ grantedBytes: topup.volume - 200, esimStatus: 'USED_UP', orderUsage: GB + 2 * topup.volume });
    expect((await bundlesOf(row.id)).map((b) => b.state)).toEqual(['depleted', 'depleted', 'depleted']);
  });

  it('on a daily plan a top-up is used on days the allowance runs out, before the cut-off (decision, see docs)', async () => {
    const { partner, esim, dailyBytes } = await dailyEsim(3, 'dt3-topup');
    const row = await esimRow(esim.esimTranNo);
    // A fixed-volume bundle on a daily plan, as an eSIM Go bundle assignment or an imported catalogue's top-up adds it.
    const extra = server.ctx.catalog.all().find((p) => p.type === 'TOPUP' && p.data_type === 1)!;
    const extraBytes = Number(extra.volume);
    await server.ctx.store.db.transaction().execute((trx) => appendBundle(trx, row, extra, { orderId: row.order_id, priceMinor: 0, days: extra.duration, periodNum: null }, Date.now()));
    const use = (bytes: number) => sandbox(partner, `/esims/${esim.iccid}/usage`, { bytes });

    expect((await use(dailyBytes + 300)).json).toMatchObject({ grantedBytes: dailyBytes + 300, throttled: false });
    expect(await bundlesOf(row.id)).toEqual([
      { kind: 'BASE', state: 'active', used: dailyBytes },
      { kind: 'TOPUP', state: 'active', used: 300 },
    ]);
    // The top-up runs out: then the daily plan's cut-off applies.
    expect((await use(extraBytes)).json).toMatchObject({ grantedBytes: extraBytes - 300, throttled: true, esimStatus: 'IN_USE' });
    expect((await use(10)).json).toMatchObject({ grantedBytes: 0, throttled: true });
    // The next day the allowance is back.
    await sandbox(partner, '/clock/advance', { days: 1 });
    expect((await use(10)).json).toMatchObject({ grantedBytes: 10, throttled: false, orderUsage: dailyBytes + extraBytes + 10 });
    expect(await bundlesOf(row.id)).toEqual([
      { kind: 'BASE', state: 'active', used: dailyBytes + 10 },
      { kind: 'TOPUP', state: 'depleted', used: extraBytes },
    ]);
  });
});
