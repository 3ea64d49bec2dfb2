import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from './helpers/server.ts';
import { waitForOrder } from './helpers/orders.ts';
import { deletionAfterExpiry, trafficTick } from '../src/domain/sandbox/traffic.ts';

const GB = 1024 ** 3;

describe('traffic mode: sandbox eSIMs live on their own, on their partner’s clock', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => server.close());

  it('installs, enables, uses data every day at varied rates, switches off some days, and runs to depletion or expiry', async () => {
    const partner = await server.createPartner();
    const sandbox = async (path: string, body: unknown) => {
      const res = await fetch(`${server.baseUrl}/sandbox${path}`, { method: 'POST', headers: { 'RT-AccessCode': partner.accessCode, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(res.status, path).toBe(200);
      return res.json() as Promise<any>;
    };
    const pkg = server.ctx.catalog.all().find((p) => p.type === 'BASE' && p.data_type === 1 && p.is_daypass === 0 && p.volume === GB && p.duration === 30)!;
    const ordered = await server.ea('/esim/order', { transactionId: 'traffic-1', packageInfoList: [{ packageCode: pkg.package_code, count: 4 }] }, partner);
    expect(ordered.json.success, ordered.text).toBe(true);
    const db = server.ctx.store.db;
    await waitForOrder(server, partner, ordered.json.obj.orderNo);
    const esims = await db.selectFrom('esims').select('id').where('partner_id', '=', partner.partnerId).execute();
    expect(esims).toHaveLength(4);

    expect(await sandbox('/traffic', { enabled: true })).toEqual({ trafficMode: true });
    // Forty days on the partner's clock: the 30-day plans are lived through to their end.
    await sandbox('/clock/advance', { days: 40 });

    let disabledDays = 0;
    let withUsageAlerts = 0;
    for (const { id } of esims) {
      const esim = await db.selectFrom('esims').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      const events = (await db.selectFrom('events').select(['type', 'payload', 'occurred_at']).where('subject', '=', id).orderBy('seq').execute()).map((e) => ({ type: e.type, at: Number(e.occurred_at), ...JSON.parse(e.payload) }));
      const smdp = events.filter((e) => e.type === 'esim.smdp').map((e) => e.smdpStatus);
      const statuses = events.filter((e) => e.type === 'esim.status').map((e) => e.esimStatus);
      // Installed and enabled by the "user", used, and at the end of its validity expired.
      expect(smdp.slice(0, 3), id).toEqual(['DOWNLOAD', 'INSTALLATION', 'ENABLED']);
      expect(statuses[0], id).toBe('IN_USE');
      expect(statuses.at(-1), id).toBe('USED_EXPIRED');
      expect(statuses.filter((s) => s !== 'USED_UP'), id).toEqual(['IN_USE', 'USED_EXPIRED']);
      expect(esim.esim_status).toBe('USED_EXPIRED');
      expect(events.filter((e) => e.type === 'esim.validity')).toHaveLength(1);
      // Half the users delete the profile within three days of the expiry (which one is fixed by the eSIM).
      const deletion = deletionAfterExpiry(id);
      const deleted = events.filter((e) => e.type === 'esim.smdp' && e.smdpStatus === 'DELETED');
      if (deletion.deletes) {
        expect(smdp.at(-1), id).toBe('DELETED');
        expect(deleted.map((e) => e.at), id).toEqual([Number(esim.expired_time) + deletion.afterMs]);
        expect(esim.smdp_status).toBe('DELETED');
      } else {
        expect(deleted, id).toEqual([]);
      }
      // Every profile switched off is switched on again (the next day) or stays off at the end.
      const switches = smdp.slice(2, deletion.deletes ? -1 : undefined);
      for (let i = 0; i < switches.length; i++) expect(switches[i], `${id} switch ${i}`).toBe(i % 2 === 0 ? 'ENABLED' : 'DISABLED');
      disabledDays += switches.filter((s) => s === 'DISABLED').length;

      // Usage: one record per day of use (hours summed), amounts that vary, all within the validity, and
      // adding up to what the eSIM shows.
      const records = await db.selectFrom('usage_records').select(['bytes', 'period_end', 'source']).where('esim_id', '=', id).orderBy('period_end').execute();
      expect(records.length, id).toBeGreaterThanOrEqual(10);
      expect(new Set(records.map((r) => r.source))).toEqual(new Set(['sandbox']));
      expect(new Set(records.map((r) => Number(r.bytes))).size, id).toBeGreaterThan(records.length / 2);
      expect(records.reduce((sum, r) => sum + Number(r.bytes), 0), id).toBe(Number(esim.order_usage));
      for (const r of records) expect(Number(r.period_end)).toBeLessThan(Number(esim.expired_time));
      expect(Number(esim.expired_time) - Number(esim.activate_time)).toBe(30 * 86_400_000);
      const alerts = events.filter((e) => e.type === 'esim.data_usage').map((e) => e.remainThreshold);
      expect(alerts, id).toEqual([0.5, 0.2, 0.1].slice(0, alerts.length));
      if (alerts.length) withUsageAlerts++;
      if (statuses.includes('USED_UP')) expect(Number(esim.order_usage), id).toBe(Number(esim.total_volume));
    }
    expect(disabledDays).toBeGreaterThan(0);
    expect(withUsageAlerts).toBeGreaterThan(0);

    // Nothing is left to do, and running a tick again changes nothing (lives are replayed, not repeated).
    const before = await db.selectFrom('events').select('id').where('partner_id', '=', partner.partnerId).execute();
    expect(await trafficTick(db, Date.now(), partner.partnerId)).toBe(0);
    expect(await db.selectFrom('events').select('id').where('partner_id', '=', partner.partnerId).execute()).toHaveLength(before.length);

    // Traffic off: a new eSIM is left alone.
    expect(await sandbox('/traffic', { enabled: false })).toEqual({ trafficMode: false });
    const more = await server.ea('/esim/order', { transactionId: 'traffic-2', packageInfoList: [{ packageCode: pkg.package_code, count: 1 }] }, partner);
    expect(more.json.success).toBe(true);
    await waitForOrder(server, partner, more.json.obj.orderNo);
    await sandbox('/clock/advance', { days: 1 });
    const fresh = await db.selectFrom('esims').select(['smdp_status']).where('partner_id', '=', partner.partnerId).where('id', 'not in', esims.map((e) => e.id)).execute();
    expect(fresh.map((e) => e.smdp_status)).toEqual(['RELEASED']);
  });
});
