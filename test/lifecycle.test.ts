import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestPartner, type TestServer } from './helpers/server.ts';
import { orderOne } from './helpers/orders.ts';
import { eidOk } from '../src/domain/esims/identifiers.ts';
import { findDue } from '../src/domain/esims/lifecycle.ts';

const GB = 1024 ** 3;

describe('eSIM lifecycle on the sandbox network and clock', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => server.close());

  async function sandbox(partner: TestPartner, method: string, path: string, body?: unknown) {
    const res = await fetch(`${server.baseUrl}/sandbox${path}`, {
      method,
      headers: { 'RT-AccessCode': partner.accessCode, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, json: (await res.json()) as any };
  }

  async function events(partnerId: string, esimId?: string) {
    let q = server.ctx.store.db.selectFrom('events').select(['type', 'payload', 'occurred_at']).where('partner_id', '=', partnerId);
    if (esimId) q = q.where('subject', '=', esimId);
    return (await q.orderBy('seq').execute()).map((e) => ({ type: e.type, ...JSON.parse(e.payload), at: Number(e.occurred_at) }));
  }

  it('lives a 30-day 1 GB plan through install, use, thresholds, depletion, top-up, warning and expiry', async () => {
    const partner = await server.createPartner();
    const pkg = server.ctx.catalog.all().find((p) => p.type === 'BASE' && p.support_topup_type === 2 && p.data_type === 1 && p.active_type === 1 && p.volume === GB && p.duration === 30 && p.is_daypass === 0);
    expect(pkg, 'a 1 GB 30-day plan with activeType 1 and top-ups').toBeTruthy();
    const { esim } = await orderOne(server, partner, pkg!.package_code, 'life-1');
    const row = await server.ctx.store.db.selectFrom('esims').select(['id']).where('esim_tran_no', '=', esim.esimTranNo).executeTakeFirstOrThrow();

    // Data cannot flow before the profile is on a device.
    expect((await sandbox(partner, 'POST', `/esims/${esim.iccid}/usage`, { bytes: 1000 })).status).toBe(409);
    expect((await sandbox(partner, 'POST', `/esims/${esim.iccid}/enable`)).status).toBe(409);

    const installed = await sandbox(partner, 'POST', `/esims/${esim.iccid}/install`);
    expect(installed.status).toBe(200);
    expect(installed.json).toMatchObject({ smdpStatus: 'INSTALLATION', esimStatus: 'IN_USE' });
    expect(eidOk(installed.json.eid)).toBe(true);
    const activatedAt = Date.parse(installed.json.activateTime);
    expect(Date.parse(installed.json.expiredTime) - activatedAt).toBe(30 * 86_400_000);
    expect((await sandbox(partner, 'POST', `/esims/${esim.iccid}/enable`)).json.smdpStatus).toBe('ENABLED');

    // Cancel is refused once installed; the query shows the new state and the EID.
    expect((await server.ea('/esim/cancel', { iccid: esim.iccid }, partner)).json.errorCode).toBe('200002');
    const q1 = (await server.ea('/esim/query', { esimTranNo: esim.esimTranNo }, partner)).json.obj.esimList[0];
    expect(q1).toMatchObject({ smdpStatus: 'ENABLED', esimStatus: 'IN_USE', eid: installed.json.eid });
    expect(q1.activateTime).toMatch(/\+0000$/);

    await sandbox(partner, 'POST', `/esims/${esim.iccid}/usage`, { bytes: Math.ceil(GB * 0.55) });
    const usage = (await server.ea('/esim/usage/query', { esimTranNoList: [esim.esimTranNo] }, partner)).json.obj.esimUsageList[0];
    expect(usage).toMatchObject({ esimTranNo: esim.esimTranNo, dataUsage: Math.ceil(GB * 0.55), totalData: GB });
    await sandbox(partner, 'POST', `/esims/${esim.iccid}/usage`, { bytes: Math.ceil(GB * 0.4) });
    const last = await sandbox(partner, 'POST', `/esims/${esim.iccid}/usage`, { bytes: GB });
    expect(last.json.grantedBytes).toBe(GB - Math.ceil(GB * 0.55) - Math.ceil(GB * 0.4));
    expect(last.json.esimStatus).toBe('USED_UP');
    expect((await sandbox(partner, 'POST', `/esims/${esim.iccid}/usage`, { bytes: 10 })).json.grantedBytes).toBe(0);

    // A top-up revives it; a suspend stops data; the clock runs the rest of the plan.
    const topups = (await server.ea('/package/list', { type: 'TOPUP', iccid: esim.iccid }, partner)).json.obj.packageList;
    const topup = topups[0];
    const t = await server.ea('/esim/topup', { iccid: esim.iccid, packageCode: topup.packageCode, transactionId: 'life-topup' }, partner);
    expect(t.json.success).toBe(true);
    expect((await sandbox(partner, 'POST', `/esims/${esim.iccid}/usage`, { bytes: 1000 })).json).toMatchObject({ grantedBytes: 1000, esimStatus: 'IN_USE' });

    const advance = await sandbox(partner, 'POST', '/clock/advance', { days: 30 + topup.duration + 1 });
    expect(advance.status).toBe(200);
    expect(advance.json.transitions).toBe(2);
    const final = (await server.ea('/esim/query', { esimTranNo: esim.esimTranNo }, partner)).json.obj.esimList[0];
    expect(final.esimStatus).toBe('USED_EXPIRED');
    expect((await server.ea('/esim/topup', { iccid: esim.iccid, packageCode: topup.packageCode, transactionId: 'life-topup-2' }, partner)).json.errorCode).toBe('200002');

    const seq = (await events(partner.partnerId, row.id)).map((e) => [e.type, e.smdpStatus ?? e.esimStatus ?? e.remainThreshold ?? e.remain]);
    expect(seq).toEqual([
      ['esim.smdp', 'DOWNLOAD'],
      ['esim.smdp', 'INSTALLATION'],
      ['esim.status', 'INSTALLATION'],
      ['esim.smdp', 'ENABLED'],
      ['esim.data_usage', 0.5],
      ['esim.data_usage', 0.2],
      ['esim.data_usage', 0.1],
      ['esim.status', 'ENABLED'],
      // The top-up revives the used-up eSIM: the partner is told.
      ['esim.status', 'ENABLED'],
      ['esim.validity', 1],
      ['esim.status', 'ENABLED'],
    ]);
    const all = await events(partner.partnerId, row.id);
    expect(all.filter((e) => e.type === 'esim.status').map((e) => e.esimStatus)).toEqual(['IN_USE', 'USED_UP', 'IN_USE', 'USED_EXPIRED']);
    const validity = all.find((e) => e.type === 'esim.validity')!;
    const expiry = all.at(-1)!;
    expect(expiry.at - validity.at).toBe(86_400_000);
    expect(validity.expiredTimeMs).toBe(expiry.at);
  });

  it('expires an eSIM never downloaded at its download deadline (UNUSED_EXPIRED)', async () => {
    const partner = await server.createPartner();
    const { esim } = await orderOne(server, partner, 'US_1_7', 'deadline-1');
    const pkg = server.ctx.catalog.get('US_1_7')!;
    expect((await sandbox(partner, 'POST', '/clock/advance', { days: pkg.unused_valid_time - 1 })).json.transitions).toBe(0);
    expect((await sandbox(partner, 'POST', '/clock/advance', { days: 1, minutes: 1 })).json.transitions).toBe(1);
    const q = (await server.ea('/esim/query', { esimTranNo: esim.esimTranNo }, partner)).json.obj.esimList[0];
    expect(q).toMatchObject({ esimStatus: 'UNUSED_EXPIRED', smdpStatus: 'RELEASED' });
    expect((await sandbox(partner, 'POST', `/esims/${esim.iccid}/install`)).status).toBe(409);
  });

  it('starts validity at the first network attach for activeType 2', async () => {
    const partner = await server.createPartner();
    const pkg = server.ctx.catalog.all().find((p) => p.type === 'BASE' && p.active_type === 2 && p.data_type === 1 && p.is_daypass === 0)!;
    const { esim } = await orderOne(server, partner, pkg.package_code, 'attach-1');
    const installed = await sandbox(partner, 'POST', `/esims/${esim.iccid}/install`);
    expect(installed.json).toMatchObject({ esimStatus: 'GOT_RESOURCE', activateTime: null });
    await sandbox(partner, 'POST', '/clock/advance', { days: 2 });
    const enabled = await sandbox(partner, 'POST', `/esims/${esim.iccid}/enable`);
    expect(enabled.json.esimStatus).toBe('IN_USE');
    const clock = await sandbox(partner, 'GET', '/clock');
    expect(Math.abs(Date.parse(enabled.json.activateTime) - Date.parse(clock.json.now))).toBeLessThan(5000);
  });

  it('applies daily limits: cut-off plans stop for the day and reset the next day', async () => {
    const partner = await server.createPartner();
    const pkg = server.ctx.catalog.all().find((p) => p.type === 'BASE' && p.data_type === 3);
    expect(pkg, 'a daily cut-off plan').toBeTruthy();
    const { esim } = await orderOne(server, partner, pkg!.package_code, 'daily-1', pkg!.is_daypass ? { periodNum: 3 } : {});
    await sandbox(partner, 'POST', `/esims/${esim.iccid}/install`);
    await sandbox(partner, 'POST', `/esims/${esim.iccid}/enable`);
    const daily = Number(pkg!.volume);
    const first = await sandbox(partner, 'POST', `/esims/${esim.iccid}/usage`, { bytes: daily + 500 });
    expect(first.json).toMatchObject({ grantedBytes: daily, throttled: true });
    expect((await sandbox(partner, 'POST', `/esims/${esim.iccid}/usage`, { bytes: 10 })).json.grantedBytes).toBe(0);
    await sandbox(partner, 'POST', '/clock/advance', { days: 1 });
    expect((await sandbox(partner, 'POST', `/esims/${esim.iccid}/usage`, { bytes: 10 })).json).toMatchObject({ grantedBytes: 10, throttled: false });
  });

  it('refuses invalid transitions with 409 and code 200002, emits nothing and changes nothing', async () => {
    const partner = await server.createPartner();
    const { esim } = await orderOne(server, partner, 'US_1_7', 'invalid-1');
    const db = server.ctx.store.db;
    const row = await db.selectFrom('esims').select('id').where('esim_tran_no', '=', esim.esimTranNo).executeTakeFirstOrThrow();
    const snapshot = async () => ({
      esim: await db.selectFrom('esims').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow(),
      bundles: await db.selectFrom('bundles').selectAll().where('esim_id', '=', row.id).orderBy('seq').execute(),
      events: await db.selectFrom('events').select(['id', 'type']).where('partner_id', '=', partner.partnerId).orderBy('seq').execute(),
      usage: await db.selectFrom('usage_records').select('record_key').where('esim_id', '=', row.id).execute(),
    });
    const refused = async (path: string, body?: unknown) => {
      const before = await snapshot();
      const res = await sandbox(partner, 'POST', `/esims/${esim.iccid}${path}`, body);
      expect(res.status, path).toBe(409);
      expect(res.json.error, path).toMatchObject({ type: 'state_error', code: '200002' });
      expect(res.json.error.message, path).toMatch(/not allowed while the eSIM is/);
      expect(await snapshot(), path).toEqual(before);
    };
    for (const action of ['/enable', '/disable', '/delete']) await refused(action);
    await refused('/usage', { bytes: 1000 });
    await sandbox(partner, 'POST', `/esims/${esim.iccid}/install`);
    for (const action of ['/install', '/download', '/disable']) await refused(action);
    await sandbox(partner, 'POST', `/esims/${esim.iccid}/enable`);
    await sandbox(partner, 'POST', `/esims/${esim.iccid}/disable`);
    await refused('/usage', { bytes: 1000 });
    await server.ea('/esim/suspend', { iccid: esim.iccid }, partner);
    await refused('/install');
    await refused('/usage', { bytes: 1000 });
    const q = (await server.ea('/esim/query', { esimTranNo: esim.esimTranNo }, partner)).json.obj.esimList[0];
    expect(q).toMatchObject({ esimStatus: 'SUSPENDED', smdpStatus: 'DISABLED' });
  });

  it('sends SMS only to installed eSIMs whose plan takes SMS, and keeps them', async () => {
    const partner = await server.createPartner();
    const smsPkg = server.ctx.catalog.all().find((p) => p.type === 'BASE' && p.sms_status === 1 && p.is_daypass === 0)!;
    const noSms = server.ctx.catalog.all().find((p) => p.type === 'BASE' && p.sms_status === 0 && p.is_daypass === 0)!;
    const { esim } = await orderOne(server, partner, smsPkg.package_code, 'sms-1');
    const { esim: plain } = await orderOne(server, partner, noSms.package_code, 'sms-2');
    expect((await server.ea('/esim/sendSms', { esimTranNo: esim.esimTranNo, message: 'hello' }, partner)).json.errorCode).toBe('200002');
    await sandbox(partner, 'POST', `/esims/${esim.iccid}/install`);
    await sandbox(partner, 'POST', `/esims/${plain.iccid}/install`);
    expect((await server.ea('/esim/sendSms', { esimTranNo: esim.esimTranNo, message: 'x'.repeat(501) }, partner)).json.errorCode).toBe('000107');
    expect((await server.ea('/esim/sendSms', { esimTranNo: esim.esimTranNo, message: 'Welcome to Japan' }, partner)).json.success).toBe(true);
    expect((await server.ea('/esim/sendSms', { esimTranNo: plain.esimTranNo, message: 'hi' }, partner)).json.errorCode).toBe('200002');
    expect((await server.ea('/esim/sendSms', { message: 'hi' }, partner)).json.errorCode).toBe('200042');
    await sandbox(partner, 'POST', `/esims/${esim.iccid}/sms`, { from: '+4477001', message: 'reply' });
    const sms = await sandbox(partner, 'GET', `/esims/${esim.iccid}/sms`);
    expect(sms.json.messages.map((m: any) => [m.direction, m.message])).toEqual([
      ['mt', 'Welcome to Japan'],
      ['mo', 'reply'],
    ]);
  });

  it('keeps live partners out of the sandbox API', async () => {
    const live = await server.createPartner({ environment: 'live' });
    expect((await sandbox(live, 'POST', '/clock/advance', { days: 1 })).status).toBe(403);
    expect((await fetch(`${server.baseUrl}/sandbox/clock`)).status).toBe(401);
  });

  it('checks usage queries: at most 10, own eSIMs only', async () => {
    const partner = await server.createPartner();
    const other = await server.createPartner();
    const { esim } = await orderOne(server, partner, 'US_1_7', 'uq-1');
    expect((await server.ea('/esim/usage/query', { esimTranNoList: Array.from({ length: 11 }, (_, i) => String(i + 1)) }, partner)).json.errorCode).toBe('000107');
    expect((await server.ea('/esim/usage/query', { esimTranNoList: [esim.esimTranNo] }, other)).json.success).toBe(false);
    expect((await server.ea('/esim/usage/query', {}, partner)).json.errorCode).toBe('000105');
  });
});

describe('due work by each partner’s clock', () => {
  it('finds what is due by the real clock for everyone and by a moved clock for its partner only', async () => {
    const server = await startServer();
    await server.ctx.scheduler.stop(); // the assertions below look at due work nobody has applied yet
    try {
      const db = server.ctx.store.db;
      const nowMs = Date.now();
      const [steady, ahead] = [await server.createPartner(), await server.createPartner()];
      const pkg = server.ctx.catalog.all().find((p) => p.type === 'BASE' && p.is_daypass === 0)!;
      const esimOf = async (partner: TestPartner, tx: string) => {
        const { esim } = await orderOne(server, partner, pkg.package_code, tx);
        return (await db.selectFrom('esims').select('id').where('esim_tran_no', '=', esim.esimTranNo).executeTakeFirstOrThrow()).id;
      };
      const overdue = await esimOf(steady, 'due-1'); // deadline passed by the real clock
      const later = await esimOf(steady, 'due-2'); // due in 5 days
      const aheadDue = await esimOf(ahead, 'due-3'); // due in 5 days, but its partner's clock is 10 days ahead
      const aheadLater = await esimOf(ahead, 'due-4'); // due in 20 days
      const deadline = async (id: string, atMs: number) => db.updateTable('esims').set({ download_deadline: atMs }).where('id', '=', id).execute();
      await deadline(overdue, nowMs - 1_000);
      await deadline(later, nowMs + 5 * 86_400_000);
      await deadline(aheadDue, nowMs + 5 * 86_400_000);
      await deadline(aheadLater, nowMs + 20 * 86_400_000);
      await db.updateTable('partners').set({ clock_offset_ms: 10 * 86_400_000 }).where('id', '=', ahead.partnerId).execute();

      const due = await findDue(db, nowMs, 500);
      const deadlines = due.filter((w) => w.kind === 'download_deadline').map((w) => w.esimId);
      expect(deadlines).toContain(overdue);
      expect(deadlines).toContain(aheadDue);
      expect(deadlines).not.toContain(later);
      expect(deadlines).not.toContain(aheadLater);
      expect(new Set(deadlines).size).toBe(deadlines.length);
      const scoped = (await findDue(db, nowMs, 500, ahead.partnerId)).map((w) => w.esimId);
      expect(scoped).toEqual([aheadDue]);
    } finally {
      await server.close();
    }
  });
});
