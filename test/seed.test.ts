import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from './helpers/server.ts';
import { orderOne } from './helpers/orders.ts';
import { runCli } from './helpers/process.ts';
import { seedData, seededBytes } from '../src/cli/seed.ts';
import { ingestUsage } from '../src/domain/usage/ingest.ts';
import { iccidLuhnOk } from '../src/domain/esims/identifiers.ts';

/** Bulk seeding takes order and eSIM numbers from the same sequences as live orders: later orders never collide. */
describe('scale seeding', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('seeds partners, orders and eSIMs, after which live orders still get fresh numbers', async () => {
    const before = await server.createPartner({ name: 'Before Seed' });
    const first = await server.ea('/esim/order', { transactionId: 'before-seed', packageInfoList: [{ packageCode: 'US_1_7', count: 1 }] }, before);
    expect(first.json.success).toBe(true);

    const seeded = await seedData(server.ctx, { partners: 3, esims: 60, usage: 100, perOrder: 2, batch: 20 });
    expect(seeded.partners).toHaveLength(3);
    const db = server.ctx.store.db;
    const esims = await db.selectFrom('esims').select(['esim_tran_no', 'order_id']).where('partner_id', 'in', seeded.partners.map((p) => p.partnerId)).execute();
    expect(esims).toHaveLength(60);
    expect(new Set(esims.map((e) => e.order_id)).size).toBe(30);
    // Each eSIM's install tokens are its own random base58 strings.
    const tokens = await db.selectFrom('esims').select(['qr_token', 'short_code']).where('partner_id', 'in', seeded.partners.map((p) => p.partnerId)).execute();
    expect(tokens.every((t) => /^[1-9A-HJ-NP-Za-km-z]{24}$/.test(t.qr_token) && /^[1-9A-HJ-NP-Za-km-z]{10}$/.test(t.short_code))).toBe(true);
    expect(new Set(tokens.flatMap((t) => [t.qr_token, t.short_code])).size).toBe(120);
    // Each eSIM has its own valid ICCID (a lookup by ICCID finds one eSIM, as for real profiles).
    const iccids = await db.selectFrom('esims').select('iccid').where('partner_id', 'in', seeded.partners.map((p) => p.partnerId)).execute();
    expect(iccids.every((e) => iccidLuhnOk(e.iccid) && e.iccid.length === 19)).toBe(true);
    expect(new Set(iccids.map((e) => e.iccid)).size).toBe(60);
    expect(Number((await db.selectFrom('usage_records').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)).toBe(100);

    // Orders after the seed: numbers beyond the seeded range, no unique-key failure.
    const after = await Promise.all(Array.from({ length: 5 }, (_, i) => server.ea('/esim/order', { transactionId: `after-seed-${i}`, packageInfoList: [{ packageCode: 'US_1_7', count: 1 }] }, before)));
    expect(after.every((a) => a.json.success)).toBe(true);
    const numbers = await db.selectFrom('orders').select('order_no').execute();
    expect(new Set(numbers.map((o) => o.order_no)).size).toBe(numbers.length);
    const seededMax = Math.max(...(await db.selectFrom('orders').select('order_no').where('partner_id', 'in', seeded.partners.map((p) => p.partnerId)).execute()).map((o) => Number(o.order_no.slice(-8))));
    for (const a of after) expect(Number(a.json.obj.orderNo.slice(-8))).toBeGreaterThan(seededMax);
  });
  /** The seeded partners' eSIMs with their bundle and the bytes of their usage records (sum and count). */
  async function seededEsims(partnerIds: string[]) {
    const db = server.ctx.store.db;
    const esims = await db
      .selectFrom('esims')
      .innerJoin('bundles', 'bundles.esim_id', 'esims.id')
      .select([
        'esims.id', 'esims.partner_id', 'esims.esim_tran_no', 'esims.package_code', 'esims.esim_status', 'esims.smdp_status', 'esims.order_usage',
        'esims.total_volume', 'esims.activate_time', 'esims.expired_time', 'esims.last_usage_at', 'esims.usage_alert_level',
        'bundles.state', 'bundles.used_bytes', 'bundles.activated_at', 'bundles.expires_at',
      ])
      .where('esims.partner_id', 'in', partnerIds)
      .orderBy('esims.esim_tran_no')
      .execute();
    const sums = await db
      .selectFrom('usage_records')
      .select(['esim_id', (eb) => eb.fn.sum<number>('bytes').as('bytes'), (eb) => eb.fn.countAll<number>().as('n')])
      .where('esim_id', 'in', esims.map((e) => e.id))
      .groupBy('esim_id')
      .execute();
    const byEsim = new Map(sums.map((s) => [s.esim_id, { bytes: Number(s.bytes), n: Number(s.n) }]));
    return esims.map((e) => ({ ...e, order_usage: Number(e.order_usage), used_bytes: Number(e.used_bytes), total_volume: Number(e.total_volume), records: byEsim.get(e.id) ?? { bytes: 0, n: 0 } }));
  }

  /** What esim/usage/query answers a seeded partner for its eSIMs (ten per request). */
  async function usageQuery(partner: { accessCode: string }, tranNos: string[]): Promise<Map<string, { dataUsage: number; totalData: number }>> {
    const out = new Map<string, { dataUsage: number; totalData: number }>();
    for (let i = 0; i < tranNos.length; i += 10) {
      const res = await server.ea('/esim/usage/query', { esimTranNoList: tranNos.slice(i, i + 10) }, partner as any);
      expect(res.json.success, res.text).toBe(true);
      for (const u of res.json.obj.esimUsageList) out.set(u.esimTranNo, { dataUsage: u.dataUsage, totalData: u.totalData });
    }
    return out;
  }

  it('applies seeded usage to its eSIMs: record sums = order_usage = esim/usage/query; used eSIMs are installed and IN_USE', async () => {
    // 12 eSIMs, 27 records: record i belongs to eSIM i mod 12, so eSIMs 0-2 get 3 records and 3-11 get 2.
    const seeded = await seedData(server.ctx, { partners: 2, esims: 12, usage: 27, perOrder: 3, batch: 6 });
    const esims = await seededEsims(seeded.partners.map((p) => p.partnerId));
    expect(esims).toHaveLength(12);
    expect(esims.map((e) => e.records.n)).toEqual([3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2]);
    expect(esims.map((e) => e.records.bytes)).toEqual(esims.map((_, n) => Array.from({ length: n < 3 ? 3 : 2 }, (_, j) => seededBytes(n + 12 * j)).reduce((a, b) => a + b, 0)));
    for (const partner of seeded.partners) {
      const own = esims.filter((e) => e.partner_id === partner.partnerId);
      expect(own).toHaveLength(6); // orders alternate between the two partners, 3 eSIMs each
      const answered = await usageQuery(partner, own.map((e) => e.esim_tran_no));
      for (const e of own) {
        expect(e.order_usage, e.esim_tran_no).toBe(e.records.bytes);
        expect(answered.get(e.esim_tran_no)).toEqual({ dataUsage: e.records.bytes, totalData: e.total_volume });
        expect([e.esim_status, e.smdp_status, e.state]).toEqual(['IN_USE', 'ENABLED', 'active']);
        expect(e.used_bytes).toBe(e.records.bytes);
      }
    }

    // Fewer records than eSIMs: the eSIMs without usage stay as allocated.
    const few = await seedData(server.ctx, { partners: 1, esims: 5, usage: 3, perOrder: 5, batch: 100 });
    const fewEsims = await seededEsims([few.partners[0].partnerId]);
    expect(fewEsims.map((e) => [e.records.n, e.order_usage === e.records.bytes, e.esim_status, e.smdp_status, e.state])).toEqual([
      [1, true, 'IN_USE', 'ENABLED', 'active'],
      [1, true, 'IN_USE', 'ENABLED', 'active'],
      [1, true, 'IN_USE', 'ENABLED', 'active'],
      [0, true, 'GOT_RESOURCE', 'RELEASED', 'queued'],
      [0, true, 'GOT_RESOURCE', 'RELEASED', 'queued'],
    ]);
    const answered = await usageQuery(few.partners[0], fewEsims.map((e) => e.esim_tran_no));
    expect(fewEsims.map((e) => answered.get(e.esim_tran_no)!.dataUsage)).toEqual(fewEsims.map((e) => e.records.bytes));
    expect(fewEsims.map((e) => e.activate_time === null)).toEqual([false, false, false, true, true]);
  });

  it('leaves an eSIM as ingesting its records one by one leaves a live eSIM of the same plan, up to USED_UP', async () => {
    const db = server.ctx.store.db;
    // One eSIM, as many records as it takes to spend its volume: the bundle is depleted, the eSIM USED_UP.
    const pkg = server.ctx.catalog.all().find((p) => p.type === 'BASE' && p.data_type === 1 && Number(p.volume) > 0)!;
    let records = 0;
    for (let bytes = 0; bytes < Number(pkg.volume); records++) bytes += seededBytes(records);
    const seeded = await seedData(server.ctx, { partners: 1, esims: 1, usage: records + 1, perOrder: 1, batch: 100 });
    const [esim] = await seededEsims([seeded.partners[0].partnerId]);
    expect(esim.package_code).toBe(pkg.package_code);
    expect(esim.records.n).toBe(records + 1);
    expect([esim.esim_status, esim.state, esim.usage_alert_level]).toEqual(['USED_UP', 'depleted', 90]);
    expect(esim.order_usage).toBe(esim.records.bytes);
    expect(esim.used_bytes).toBe(Number(pkg.volume));

    // The same records fed to a live eSIM through usage ingestion, one at a time as a supplier reports them.
    const live = await server.createPartner({ name: 'Replay' });
    const ordered = await orderOne(server, live, pkg.package_code, 'seed-replay');
    const rows = await db.selectFrom('usage_records').selectAll().where('esim_id', '=', esim.id).orderBy('period_start').execute();
    for (const r of rows) {
      const report = await ingestUsage(server.ctx.store, [{ iccid: ordered.esim.iccid, bytes: Number(r.bytes), startMs: Number(r.period_start), endMs: Number(r.period_end), recordId: r.record_key }], 'replay', Number(r.received_at));
      expect(report.applied).toBe(1);
    }
    const [replayed] = await seededEsims([live.partnerId]);
    const comparable = (e: typeof esim) => ({
      esim_status: e.esim_status, order_usage: e.order_usage, activate_time: Number(e.activate_time), expired_time: Number(e.expired_time), last_usage_at: Number(e.last_usage_at),
      usage_alert_level: e.usage_alert_level, state: e.state, used_bytes: e.used_bytes, activated_at: Number(e.activated_at), expires_at: Number(e.expires_at),
    });
    expect(comparable(esim)).toEqual(comparable(replayed));
  });

  it('esimhub seed --json prints credentials and sample ids a benchmark can query with', async () => {
    const run = await runCli(['seed', '--partners', '2', '--esims', '60', '--per-order', '2', '--json'], { DATA_DIR: server.dataDir, SEED_DEMO: 'false' });
    expect(run.code, run.stderr).toBe(0);
    const printed = JSON.parse(run.stdout);
    expect(printed.partners).toHaveLength(2);
    // Partner 0 has 15 of the 30 orders: every one is in the sample, with the first eSIM of each.
    expect(printed.sample.orderNos).toHaveLength(15);
    expect(printed.sample.iccids).toHaveLength(15);
    const partner = { ...printed.partners[0], keyId: '' };
    for (const orderNo of printed.sample.orderNos.slice(-3)) {
      const page = await server.ea('/esim/query', { orderNo, pager: { pageNum: 1, pageSize: 10 } }, partner);
      expect(page.json.obj.esimList.map((e: any) => e.orderNo)).toEqual([orderNo, orderNo]);
    }
    const byIccid = await server.ea('/esim/query', { iccid: printed.sample.iccids.at(-1), pager: { pageNum: 1, pageSize: 10 } }, partner);
    expect(byIccid.json.obj.esimList.map((e: any) => e.iccid)).toEqual([printed.sample.iccids.at(-1)]);
  });

  it('refuses usage without eSIMs to put it on', async () => {
    await expect(seedData(server.ctx, { partners: 1, esims: 0, usage: 10, perOrder: 1, batch: 100 })).rejects.toThrow('--usage needs --esims');
  });
});
