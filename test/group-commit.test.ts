import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestPartner, type TestServer } from './helpers/server.ts';
import { GroupCommit } from '../src/store/group-commit.ts';
import { walletBalance } from '../src/domain/ledger/ledger.ts';

describe('group commit of order placements', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('commits the units that succeed and rolls back only the ones that fail, in one group', async () => {
    const db = server.ctx.store.db;
    const group = new GroupCommit(db);
    const units = Array.from({ length: 12 }, (_, i) =>
      group.run(async (trx) => {
        await trx.insertInto('meta').values({ key: `gc-${i}`, value: 'written' }).execute();
        // Every third unit fails after writing: its write must vanish, the others' must stay.
        if (i % 3 === 0) throw new Error(`unit ${i} failed`);
        return i;
      }),
    );
    const settled = await Promise.allSettled(units);
    expect(settled.filter((s) => s.status === 'rejected').map((s) => (s as PromiseRejectedResult).reason.message)).toEqual(['unit 0 failed', 'unit 3 failed', 'unit 6 failed', 'unit 9 failed']);
    expect(settled.filter((s) => s.status === 'fulfilled').map((s) => (s as PromiseFulfilledResult<number>).value)).toEqual([1, 2, 4, 5, 7, 8, 10, 11]);
    const kept = (await db.selectFrom('meta').select('key').where('key', 'like', 'gc-%').execute()).map((r) => r.key).sort();
    expect(kept).toEqual(['gc-1', 'gc-10', 'gc-11', 'gc-2', 'gc-4', 'gc-5', 'gc-7', 'gc-8']);
  });

  it('places concurrent orders against a balance for only some of them: exactly those, nothing half-done', async () => {
    const unit = server.ctx.catalog.get('US_1_7')!;
    const probe: TestPartner = await server.createPartner({ name: 'Probe', depositMinor: 100 * 10_000 });
    const priced = await server.ea('/esim/order', { transactionId: 'probe', packageInfoList: [{ packageCode: unit.package_code, count: 1 }] }, probe);
    expect(priced.json.success).toBe(true);
    const price = 100 * 10_000 - (await walletBalance(server.ctx.store.db, probe.partnerId)).balanceMinor;
    const partner = await server.createPartner({ name: 'Tight Budget', depositMinor: 3 * price });
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => server.ea('/esim/order', { transactionId: `tight-${i}`, packageInfoList: [{ packageCode: unit.package_code, count: 1 }] }, partner)));
    expect(answers.filter((a) => a.json.success).length).toBe(3);
    expect(answers.filter((a) => !a.json.success).map((a) => a.json.errorCode)).toEqual(Array(7).fill('200007'));
    const db = server.ctx.store.db;
    expect((await walletBalance(db, partner.partnerId)).balanceMinor).toBe(0);
    const orders = await db.selectFrom('orders').select(['id']).where('partner_id', '=', partner.partnerId).execute();
    expect(orders).toHaveLength(3);
    const items = await db.selectFrom('order_items').select('order_id').where('order_id', 'in', orders.map((o) => o.id)).execute();
    expect(items).toHaveLength(3);
    const jobs = await db.selectFrom('jobs').select('job_key').where('job_key', 'in', orders.map((o) => `allocate:${o.id}`)).execute();
    expect(jobs).toHaveLength(3);
    const charges = await db.selectFrom('ledger_transfers').select('id').where('partner_id', '=', partner.partnerId).where('kind', '=', 'charge').execute();
    expect(charges).toHaveLength(3);
  });
});
